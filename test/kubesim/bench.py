#!/usr/bin/env python3
"""Measure kubesim: simple GETs/s, writes/s, and delivery to many open watches.

Not a timed test: it prints a table for the README. Usage:
    python3 test/kubesim/bench.py [--seconds 5] [--clients 4] [--watches 1000] [--plain]
"""

import argparse
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simharness import Sim  # noqa: E402


def get_worker(sim, seconds, path, q):
    sim._conn = None
    n = errs = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        code = sim.get(path)[0]
        n += 1
        errs += code != 200
    q.put((n, errs))


def write_worker(sim, seconds, idx, q):
    sim._conn = None
    base = "/api/v1/namespaces/default/configmaps"
    n = errs = 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        if i % 2 == 0:
            code = sim.post(base, {"metadata": {"name": "w%d-%d" % (idx, i)},
                                   "data": {"i": str(i)}})[0]
            errs += code != 201
        else:
            code = sim.patch(base + "/w%d-%d" % (idx, i - 1), {"data": {"j": str(i)}})[0]
            errs += code != 200
        n += 1
        i += 1
    q.put((n, errs))


def run_phase(sim, target, args_fn, clients, seconds):
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=target, args=args_fn(i, q)) for i in range(clients)]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    res = [q.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join(30)
    dt = time.monotonic() - t0
    n = sum(r[0] for r in res)
    return n, sum(r[1] for r in res), n / seconds, dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--watches", type=int, default=1000)
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--plain", action="store_true")
    args = ap.parse_args()
    multiprocessing.set_start_method("fork")
    sim = Sim("--history", "100000", plain=args.plain)
    try:
        sim.post("/api/v1/namespaces/default/configmaps",
                 {"metadata": {"name": "bench"}, "data": {"a": "b"}})
        sim._conn.close()
        sim._conn = None
        rows = []
        n, e, rate, _ = run_phase(sim, get_worker, lambda i, q: (
            sim, args.seconds, "/api/v1/namespaces/default/configmaps/bench", q),
            args.clients, args.seconds)
        rows.append(("GET one configmap", n, e, rate))
        n, e, rate, _ = run_phase(sim, write_worker, lambda i, q: (sim, args.seconds, i, q),
                                  args.clients, args.seconds)
        rows.append(("writes (create+merge patch)", n, e, rate))
        # watches: open many, then time the delivery of a burst of writes to all of them
        path = "/api/v1/namespaces/default/configmaps"
        rv = sim.get(path + "?limit=1")[2]["metadata"]["resourceVersion"]
        t0 = time.monotonic()
        ws = [sim.watch(path + "?watch=1&fieldSelector=metadata.name%3Dbench&resourceVersion="
                        + rv, timeout=60) for _ in range(args.watches)]
        t_open = time.monotonic() - t0
        open_now = sim.admin("GET", "stats")[2]["openWatches"]
        t0 = time.monotonic()
        for i in range(args.events):
            sim.patch(path + "/bench", {"data": {"n": str(i)}})
        t_writes = time.monotonic() - t0
        got = [0] * len(ws)
        # all events are already on their way; read each stream in turn
        for i, w in enumerate(ws):
            while got[i] < args.events:
                e = w.next(timeout=60)
                if e is None:
                    break
                got[i] += 1
        t_deliver = time.monotonic() - t0
        for w in ws:
            w.close()
        print("kubesim bench (%s, %d client processes, %.0fs per phase)"
              % ("plain HTTP" if args.plain else "HTTPS", args.clients, args.seconds))
        print("%-30s %10s %8s %10s" % ("phase", "requests", "errors", "per second"))
        for name, n, e, rate in rows:
            print("%-30s %10d %8d %10.0f" % (name, n, e, rate))
        print("open watches: %d opened in %.1fs (server counted %d); %d writes delivered to "
              "all of them (%d events) in %.2fs (writes took %.2fs); complete: %s"
              % (len(ws), t_open, open_now, args.events, sum(got), t_deliver, t_writes,
                 all(g == args.events for g in got)))
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
