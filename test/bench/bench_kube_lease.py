#!/usr/bin/env python3
"""Measures l2lb-lease with N leases against kubesim; prints a table of medians (see the .sh)."""

import os
import statistics
import subprocess
import sys
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("L2LB_BUILD") or os.path.join(TOP, "build")
LEASE = os.path.join(BUILD, "bin", "l2lb-lease")
sys.path.insert(0, os.path.join(TOP, "test", "kubesim"))
import simharness as H  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def one(sim, n, renew_s, run):
    names = ["b%d-%d" % (run, i) for i in range(n)]
    p = subprocess.Popen([LEASE, "--kubeconfig", sim.kubeconfig, "--identity", "node-a",
                          "--qps", "0", "--lease-ms", "15000", "--renew-ms", "10000",
                          "--retry-ms", "2000"] + names, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    t0 = time.monotonic()
    state = {"started": 0, "all": None}

    def read():  # drains stdout to the end, so the process never blocks on a full pipe
        for line in p.stdout:
            if line.split()[1] == "STARTED":
                state["started"] += 1
                if state["started"] == n:
                    state["all"] = time.monotonic()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = t0 + 120
    while state["all"] is None and time.monotonic() < deadline:
        time.sleep(0.02)
    started = state["started"]
    lead_s = (state["all"] or time.monotonic()) - t0
    c0 = cpu_s(p.pid)
    time.sleep(renew_s)
    cpu = (cpu_s(p.pid) - c0) / renew_s
    rss = rss_kb(p.pid)
    fds = len(os.listdir("/proc/%d/fd" % p.pid))
    p.stdin.close()
    p.wait(timeout=60)
    reader.join(timeout=10)
    p.stdout.close()
    if started < n:
        raise SystemExit("bench: only %d of %d leases led" % (started, n))
    return lead_s, cpu, rss, fds


def main():
    if not os.access(LEASE, os.X_OK):
        raise SystemExit("bench: %s not built" % LEASE)
    sizes = [int(x) for x in os.environ.get("BENCH_LEASES", "100 1000 3000").split()]
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    renew_s = float(os.environ.get("BENCH_RENEW_S", "10"))
    sim = H.Sim()
    try:
        print("l2lb-lease against kubesim (HTTPS, one process, qps unlimited, renew every 2 s);"
              " medians of %d runs, %d CPUs, load %s" % (
                  runs, os.cpu_count(), open("/proc/loadavg").read().split()[0]))
        print("%7s %12s %14s %18s %10s %5s %12s" % ("leases", "all led (s)", "CPU renewing",
                                                    "CPU per 1k leases", "RSS (MB)", "fds",
                                                    "vs smallest"))
        base = None
        for n in sizes:
            res = [one(sim, n, renew_s, r) for r in range(runs)]
            lead = statistics.median(r[0] for r in res)
            cpu = statistics.median(r[1] for r in res)
            rss = statistics.median(r[2] for r in res) / 1024
            fds = statistics.median(r[3] for r in res)
            per_k = cpu / n * 1000
            if base is None:
                base = per_k
            print("%7d %12.2f %13.1f%% %17.1f%% %10.1f %5d %11.2fx" % (
                n, lead, cpu * 100, per_k * 100, rss, fds, per_k / base if base else 0))
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
