#!/usr/bin/env python3
"""Three real l2lb-speakers (pcap responders) in network namespaces on one bridge, with kubesim in
a fourth: the holder of an address is cut off from the API alone (its packets to and from the
API dropped, its peers unaffected); a peer takes over once the holder's presence lease expires,
and the old holder stops answering as soon as the new holder's gratuitous ARP arrives.

Run as root; skips (77) otherwise. Namespaces are named l2lbsb<pid>-* and always removed.
Prints `N passed, N failed, N skipped` last; measured times go to stderr as `measured: ...`.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("L2LB_TOP") or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("L2LB_BUILD") or os.path.join(TOP, "build")
SPEAKER = os.path.join(BUILD, "bin", "l2lb-speaker")
sys.path.insert(0, os.path.join(TOP, "test", "kubesim"))
sys.path.insert(0, HERE)

import simharness as H  # noqa: E402
from test_speaker_it import NS, Cluster, must  # noqa: E402

PREFIX = "l2lbsb%d" % os.getpid()
API = "192.0.2.1"
NODES = {"n1": "192.0.2.11", "n2": "192.0.2.12", "n3": "192.0.2.13"}
CLIENT = "192.0.2.50"
VIP = "192.0.2.200"


def run(*args, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def ns(name):
    return "%s-%s" % (PREFIX, name)


class Bed:
    """sw (bridge) + api + n1..n3 + c, each host wired to the bridge by a veth named eth0."""

    def __init__(self):
        self.made = []

    def build(self):
        self.add("sw")
        run("ip", "-n", ns("sw"), "link", "add", "br0", "type", "bridge", "forward_delay", "0",
            "stp_state", "0")
        run("ip", "-n", ns("sw"), "link", "set", "br0", "up")
        for host, addr in [("api", API), ("c", CLIENT)] + sorted(NODES.items()):
            self.add(host)
            port = "p" + host
            run("ip", "-n", ns("sw"), "link", "add", port, "type", "veth", "peer", "name",
                "eth0", "netns", ns(host))
            run("ip", "-n", ns("sw"), "link", "set", port, "master", "br0", "up")
            run("ip", "-n", ns(host), "addr", "add", addr + "/24", "dev", "eth0")
            run("ip", "-n", ns(host), "link", "set", "eth0", "up")

    def add(self, host):
        run("ip", "netns", "add", ns(host))
        self.made.append(ns(host))
        run("ip", "-n", ns(host), "link", "set", "lo", "up")

    def mac(self, host):
        out = run("ip", "-n", ns(host), "-o", "link", "show", "dev", "eth0")
        return re.search(r"link/ether ([0-9a-f:]+)", out).group(1)

    def cut_from_api(self, host):
        """Drop everything between host and the API server, both ways (no RST, no ICMP)."""
        rules = ("table inet cut {\n"
                 " chain o { type filter hook output priority 0; ip daddr %s drop; }\n"
                 " chain i { type filter hook input priority 0; ip saddr %s drop; }\n"
                 "}\n" % (API, API))
        r = subprocess.run(["ip", "netns", "exec", ns(host), "nft", "-f", "-"], input=rules,
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("nft: " + r.stderr)

    def answering_macs(self):
        """The MACs answering one ARP request for VIP from the client (arping -c 1)."""
        out = run("ip", "netns", "exec", ns("c"), "arping", "-c", "1", "-w", "1", "-I", "eth0",
                  VIP, check=False)
        return sorted(set(m.lower() for m in re.findall(r"\[([0-9A-Fa-f:]{17})\]", out)))

    def destroy(self):
        for n in reversed(self.made):
            for pid in run("ip", "netns", "pids", n, check=False).split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            run("ip", "netns", "del", n, check=False)
        self.made = []


class SplitBrainTest(unittest.TestCase):
    """Runs inside the api namespace (main() re-executes this file there)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="l2lb-splitbrain-")
        self.bed = Bed()
        self.addCleanup(self.cleanup)
        self.procs = []
        self.logs = {}

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        for f in self.logs.values():
            f.close()
        if not os.environ.get("L2LB_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def test_holder_cut_off_alone_stops_on_peer_garp(self):
        cl = Cluster(self.tmp, "--listen", API + ":0")
        self.addCleanup(cl.sim.stop)
        cl.add_service("web", VIP)
        for n in NODES:
            log = open(os.path.join(self.tmp, n + ".log"), "w")
            self.logs[n] = log
            self.procs.append(subprocess.Popen(
                ["ip", "netns", "exec", ns(n), SPEAKER, "--kubeconfig", cl.sim.kubeconfig,
                 "--node-name", n, "--namespace", NS, "--log-level", "debug"],
                stdout=log, stderr=log))
        macs = {self.bed.mac(n): n for n in NODES}
        holder = H.wait_for(lambda: (lambda m: macs.get(m[0]) if len(m) == 1 else None)(
            self.bed.answering_macs()), 20, interval=0.1, what="one node answering")
        self.assertEqual(cl.holders().get("web"), holder)
        t0 = time.monotonic()
        self.bed.cut_from_api(holder)
        new = H.wait_for(lambda: (lambda h: h if h and h != holder else None)(
            cl.holders().get("web")), 15, interval=0.05, what="a peer taking the lease")
        t_lease = time.monotonic() - t0
        H.wait_for(lambda: self.bed.answering_macs() == [self.bed.mac(new)], 10, interval=0.05,
                   what="only the new holder answering")
        t_one = time.monotonic() - t0
        print("measured: holder cut off alone: lease taken by %s after %.2f s, only it answers "
              "after %.2f s" % (new, t_lease, t_one), file=sys.stderr)
        # It stayed that way: the old holder does not come back while cut off.
        for _ in range(10):
            self.assertEqual(self.bed.answering_macs(), [self.bed.mac(new)])
        with open(os.path.join(self.tmp, holder + ".log")) as f:
            log = f.read()
        self.assertIn("another node announces the address", log)


def inner():
    suite = unittest.TestLoader().loadTestsFromTestCase(SplitBrainTest)
    res = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    passed = res.testsRun - failed - skipped
    sys.stdout.flush()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), flush=True)
    return 1 if failed else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--inner":
        global PREFIX
        PREFIX = sys.argv[2]
        return inner()
    if os.geteuid() != 0:
        print("skip: the split-brain test needs root (network namespaces)")
        print("0 passed, 0 failed, 1 skipped")
        return 77
    for tool in ("ip", "arping", "nft", "openssl"):
        if not shutil.which(tool):
            print("skip: %s is not installed (make deps)" % tool)
            print("0 passed, 0 failed, 1 skipped")
            return 77
    r = subprocess.run(["ip", "netns", "add", ns("probe")], capture_output=True)
    if r.returncode != 0:
        print("skip: cannot create network namespaces here")
        print("0 passed, 0 failed, 1 skipped")
        return 77
    run("ip", "netns", "del", ns("probe"))
    bed = Bed()

    def stop(signo, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    try:
        bed.build()
        # The test talks to kubesim, which listens on the api host's address: run it there.
        return subprocess.call(["ip", "netns", "exec", ns("api"), sys.executable,
                                os.path.abspath(__file__), "--inner", PREFIX])
    except KeyboardInterrupt:
        print("0 passed, 1 failed, 0 skipped")
        return 1
    finally:
        bed.destroy()


if __name__ == "__main__":
    sys.exit(main())
