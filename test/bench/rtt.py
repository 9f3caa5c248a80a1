"""rtt.py IFACE SRC_MAC SRC_IP4 SRC_IP6 COUNT TARGET...: ARP and NDP round trips in microseconds.

Sends COUNT broadcast ARP requests (IPv4 TARGET) or multicast Neighbor Solicitations (IPv6
TARGET) for each TARGET in turn, interleaved so all see the same conditions, from one AF_PACKET
socket, and prints "TARGET RTT_US" per answer; a probe not answered within 200 ms prints
"TARGET lost". Standard library only.
"""
import ipaddress
import select
import socket
import struct
import sys
import time


def checksum(src, dst, msg):
    data = src + dst + struct.pack("!IxxxB", len(msg), 58) + msg
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ns_frame(mac, src, target):
    group = bytes.fromhex("ff0200000000000000000001ff") + target[13:]
    icmp = bytes([135, 0, 0, 0, 0, 0, 0, 0]) + target + bytes([1, 1]) + mac
    c = checksum(src, group, icmp)
    icmp = icmp[:2] + struct.pack("!H", c) + icmp[4:]
    ip6 = bytes([0x60, 0, 0, 0]) + struct.pack("!HBB", len(icmp), 58, 255) + src + group
    return b"\x33\x33" + group[12:] + mac + b"\x86\xdd" + ip6 + icmp


def arp_frame(mac, src, target):
    body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + src + bytes(6) + target
    return b"\xff" * 6 + mac + b"\x08\x06" + body


def is_answer(f, t):
    if len(t) == 4:
        return len(f) >= 42 and f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02" and f[28:32] == t
    return (len(f) >= 78 and f[12:14] == b"\x86\xdd" and f[20] == 58 and f[54] == 136
            and f[62:78] == t)


def main():
    iface, mac_s, src4_s, src6_s, count = sys.argv[1:6]
    targets = [ipaddress.ip_address(t).packed for t in sys.argv[6:]]
    mac = bytes.fromhex(mac_s.replace(":", ""))
    src4 = ipaddress.IPv4Address(src4_s).packed
    src6 = ipaddress.IPv6Address(src6_s).packed
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
    s.bind((iface, 0))
    frames = {t: arp_frame(mac, src4, t) if len(t) == 4 else ns_frame(mac, src6, t)
              for t in targets}
    for _ in range(int(count)):
        for t in targets:
            name = str(ipaddress.ip_address(t))
            t0 = time.perf_counter_ns()
            s.send(frames[t])
            deadline = t0 + 200_000_000
            got = False
            while not got:
                left = (deadline - time.perf_counter_ns()) / 1e9
                if left <= 0 or not select.select([s], [], [], left)[0]:
                    break
                f, addr = s.recvfrom(2048)
                if addr[2] != socket.PACKET_OUTGOING and is_answer(f, t):
                    got = True
            if got:
                print(name, (time.perf_counter_ns() - t0) / 1000.0)
            else:
                print(name, "lost")
            sys.stdout.flush()
            time.sleep(0.005)


if __name__ == "__main__":
    main()
