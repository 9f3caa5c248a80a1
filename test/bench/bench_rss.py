#!/usr/bin/env python3
"""Measures l2lb-speaker's memory with N services against kubesim; prints a table (see the .sh).

For each N: a fresh kubesim holding the CRDs, 3 nodes, a pool, an advertisement and N LoadBalancer
services (an ingress address from the pool and an EndpointSlice each), 3 speakers in dry-run mode;
once every service has exactly one announcer and no lease changed hands for a few seconds, VmRSS,
RssAnon and VmHWM of each speaker are read from /proc. RssAnon is the speaker's own memory (heap,
stacks, the libraries' relocated data); the rest of VmRSS is shared library pages (libcrypto alone
maps some 4 MiB), shared with every other process that maps the same files.

The baseline, run in the same round against the same kubesim: build/bench/rss-floor, linked with
exactly the speaker's libraries, which makes one API request over HTTPS and opens the metrics
endpoint and does nothing else. What it costs, any program on these Debian libraries costs.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "test", "speaker"))
sys.path.insert(0, os.path.join(TOP, "test", "kubesim"))
import simharness as H  # noqa: E402
import test_speaker_it as S  # noqa: E402  (the speaker suite's Cluster and Speaker)

TARGET_KB = 8 * 1024  # issue 7: at most 8 MiB with 1,000 services
FLOOR = os.path.join(os.environ.get("L2LB_BUILD", os.path.join(TOP, "build")), "bench",
                     "rss-floor")
SETTLE_S = float(os.environ.get("BENCH_SETTLE_S", "3"))


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s in /proc/%d/status" % (field, pid))


def floor(tmp):
    """The baseline's steps: [(step, rss_kb, anon_kb)]."""
    out = subprocess.run([FLOOR, os.path.join(tmp, "kubeconfig")], capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("rss-floor failed: %s" % out.stderr.strip())
    return [(w[0], int(w[1]), int(w[2])) for w in (l.split() for l in out.stdout.splitlines())]


def one_round(n, extra, with_floor=False):
    """Returns [(rss_kb, hwm_kb, anon_kb)] per speaker once the n services are spread and
    settled, and the baseline's steps (with_floor) or None."""
    tmp = tempfile.mkdtemp(prefix="l2lb-bench-rss-")
    cl = S.Cluster(tmp)
    speakers = []
    try:
        ips = [S.test_ip(i) for i in range(n)]
        for i, ip in enumerate(ips):
            cl.add_service("s%d" % i, ip)
        for node in S.NODES:
            speakers.append(S.Speaker(tmp, node, "--log-level", "info", *extra))

        def one_each():
            got = {}
            for s in speakers:
                if s.proc.poll() is not None:
                    raise RuntimeError("speaker %s exited %s" % (s.node, s.proc.returncode))
                for a in s.addrs():
                    got[a] = got.get(a, 0) + 1
            return len(got) == n and all(v == 1 for v in got.values())

        H.wait_for(one_each, 120 + n / 10, interval=0.5,
                   what="every service announced by exactly one speaker")
        last = [cl.holders(), time.monotonic()]

        def settled():
            h = cl.holders()
            if h != last[0]:
                last[0], last[1] = h, time.monotonic()
            return time.monotonic() - last[1] >= SETTLE_S and one_each()

        H.wait_for(settled, 120, interval=0.5, what="no lease changing hands")
        per = [(status_kb(s.proc.pid, "VmRSS"), status_kb(s.proc.pid, "VmHWM"),
                status_kb(s.proc.pid, "RssAnon")) for s in speakers]
        return per, floor(tmp) if with_floor else None
    finally:
        for s in speakers:
            s.stop()
        cl.sim.stop()
        if os.environ.get("L2LB_KEEP"):
            print("kept %s" % tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    for b in (S.SPEAKER, FLOOR):
        if not os.access(b, os.X_OK):
            print("bench-rss: %s is missing (make bench builds it)" % b, file=sys.stderr)
            return 1
    sizes = [int(x) for x in os.environ.get("BENCH_SERVICES", "0 100 1000").split()]
    extra = os.environ.get("BENCH_SPEAKER_ARGS", "").split()
    rows = []
    base_steps = None
    for n in sizes:
        t0 = time.monotonic()
        per, steps = one_round(n, extra, with_floor=base_steps is None)
        base_steps = base_steps or steps
        print("bench-rss: %d services: %s (%.0f s)" % (
            n, " ".join("%d/%d/%d" % p for p in per), time.monotonic() - t0), file=sys.stderr)
        rows.append((n, per))
    base = statistics.median(r for r, _, _ in rows[0][1]) if rows and rows[0][0] == 0 else None
    floor_kb = base_steps[-1][1] if base_steps else None
    print("baseline: rss-floor, the speaker's libraries and no speaker (KiB)")
    print("%-18s %9s %9s" % ("step", "rss", "anon"))
    for step, rss, anon in base_steps or []:
        print("%-18s %9d %9d" % (step, rss, anon))
    print("l2lb-speaker memory, %d speakers in dry-run mode against kubesim (KiB; target %d KiB"
          " with 1000 services)" % (len(S.NODES), TARGET_KB))
    print("%8s %9s %9s %9s %9s %11s %10s %10s %10s" % (
        "services", "rss-med", "rss-max", "hwm-max", "anon-med", "B/svc vs 0", "rss/target",
        "anon/tgt", "over-floor"))
    for n, per in rows:
        med = statistics.median(r for r, _, _ in per)
        anon = statistics.median(a for _, _, a in per)
        per_svc = "-"
        if base is not None and n > 0:
            per_svc = "%.0f" % ((med - base) * 1024 / n)
        print("%8d %9.0f %9d %9d %9.0f %11s %10.2f %10.2f %10.0f" % (
            n, med, max(r for r, _, _ in per), max(h for _, h, _ in per), anon, per_svc,
            med / TARGET_KB, anon / TARGET_KB, med - floor_kb))
    return 0


if __name__ == "__main__":
    sys.exit(main())
