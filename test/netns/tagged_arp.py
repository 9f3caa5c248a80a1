"""tagged_arp.py IFACE SRC_MAC SRC_IP TARGET VLAN: sends one ARP request for TARGET tagged with
802.1Q VLAN, then prints how many ARP replies for TARGET arrive within 1 s. Standard library only.
"""
import ipaddress
import select
import socket
import struct
import sys
import time


def main():
    iface, mac_s, src_s, target_s, vlan = sys.argv[1:6]
    mac = bytes.fromhex(mac_s.replace(":", ""))
    src = ipaddress.IPv4Address(src_s).packed
    target = ipaddress.IPv4Address(target_s).packed
    body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + src + bytes(6) + target
    frame = b"\xff" * 6 + mac + struct.pack("!HH", 0x8100, int(vlan)) + b"\x08\x06" + body
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((iface, 0))
    s.send(frame)
    deadline = time.monotonic() + 1.0
    replies = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        f, addr = s.recvfrom(2048)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        off = 16 if f[12:14] == b"\x81\x00" else 12
        if (f[off:off + 2] == b"\x08\x06" and f[off + 8:off + 10] == b"\x00\x02"
                and f[off + 16:off + 20] == target):
            replies += 1
    print(replies)


if __name__ == "__main__":
    main()
