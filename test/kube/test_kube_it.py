#!/usr/bin/env python3
"""Integration tests of pkg/kube (client, informer) against kubesim, driven through l2lb-kubeget.

Prints `N passed, N failed, N skipped` last. Standard library only.
"""

import datetime
import json
import os
import queue
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("L2LB_TOP") or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("L2LB_BUILD") or os.path.join(TOP, "build")
KUBEGET = os.path.join(BUILD, "bin", "l2lb-kubeget")
LEASE = os.path.join(BUILD, "bin", "l2lb-lease")
EVENT = os.path.join(BUILD, "bin", "l2lb-event")
sys.path.insert(0, os.path.join(TOP, "test", "kubesim"))

import simharness as H  # noqa: E402


class Kubeget:
    """A running `l2lb-kubeget --watch`: its lines arrive on a queue as they are flushed."""

    def __init__(self, sim, *args):
        self.proc = subprocess.Popen([KUBEGET, "--kubeconfig", sim.kubeconfig] + list(args),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.all = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, n, timeout=20):
        """The next n lines (fails when they do not come in time)."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("wanted %d more lines, got %r so far" % (n, got))
            try:
                got.append(self.lines.get(timeout=left))
            except queue.Empty:
                pass
        self.all += got
        return got

    def quiet(self, seconds=1.0):
        """Nothing more arrives within `seconds` (an extra line means a duplicate)."""
        try:
            line = self.lines.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError("unexpected extra line %r" % line)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return err


def run_kubeget(sim, *args, timeout=60):
    return subprocess.run([KUBEGET, "--kubeconfig", sim.kubeconfig] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def rv(obj):
    return obj["metadata"]["resourceVersion"]


class KubeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(KUBEGET, os.X_OK):
            raise unittest.SkipTest("%s not built" % KUBEGET)
        cls.sim = H.Sim("--bookmark-interval", "1")
        cls.addClassCleanup(cls.sim.stop)

    def setUp(self):
        self.sim.admin("DELETE", "faults")

    def ns(self, name):
        code, _, body = self.sim.post("/api/v1/namespaces", {"metadata": {"name": name}})
        self.assertEqual(code, 201, body)

    def cm(self, ns, name, data="1"):
        code, _, body = self.sim.post("/api/v1/namespaces/%s/configmaps" % ns,
                                      {"metadata": {"name": name}, "data": {"v": data}})
        self.assertEqual(code, 201, body)
        return body

    def cm_patch(self, ns, name, data):
        code, _, body = self.sim.patch("/api/v1/namespaces/%s/configmaps/%s" % (ns, name),
                                       {"data": {"v": data}})
        self.assertEqual(code, 200, body)
        return body

    def cm_delete(self, ns, name):
        code, _, body = self.sim.delete("/api/v1/namespaces/%s/configmaps/%s" % (ns, name))
        self.assertEqual(code, 200, body)

    def requests(self, user_agent_prefix="l2lb-kubeget/"):
        out = []
        with open(self.sim.reqlog) as f:
            for line in f:
                r = json.loads(line)
                if (r.get("userAgent") or "").startswith(user_agent_prefix):
                    out.append(r)
        return out

    # ------------------------------------------------------------------ tests

    def test_list_pagination_2500(self):
        """LIST follows `continue` to the end: 2,500 objects in pages of 500, each once."""
        self.ns("pag")
        want = {}
        for i in range(2500):
            o = self.cm("pag", "cm-%04d" % i)
            want["pag/cm-%04d" % i] = rv(o)
        self.sim.admin("POST", "stats/reset")
        r = run_kubeget(self.sim, "-n", "pag", "configmaps")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 2500)
        got = dict(line.split(" ") for line in lines)
        self.assertEqual(got, want)
        _, _, st = self.sim.admin("GET", "stats")
        self.assertEqual(st["byVerbResource"].get("list configmaps"), 5, st["byVerbResource"])

    def test_informer_exactly_once(self):
        """Every change arrives exactly once across graceful and aborted watch drops and a
        forced 410; changes made during the 410 window (a delete among them) are delivered by
        the re-list."""
        self.exactly_once("w")

    def test_informer_keys_only_exactly_once(self):
        """The same with an informer that caches only keys and resourceVersions: the delete
        a re-list finds still names the object and its last resourceVersion."""
        self.exactly_once("k", "--keys-only")

    def exactly_once(self, ns, *mode):
        self.ns(ns)
        base = {n: self.cm(ns, n) for n in ("a1", "a2", "a3", "a4")}
        kg = Kubeget(self.sim, "--log-level", "info", "-n", ns, "--watch", *mode, "configmaps")
        try:
            got = sorted(kg.expect(4))
            self.assertEqual(got, sorted("%s/%s %s" % (ns, n, rv(o)) for n, o in base.items()))

            o = self.cm(ns, "b1")
            self.assertEqual(kg.expect(1), ["ADDED %s/b1 %s" % (ns, rv(o))])

            # graceful end of the watch, then a change: resumed from the last RV
            self.sim.admin("POST", "close-watches", {"abort": False})
            o = self.cm_patch(ns, "a1", "2")
            self.assertEqual(kg.expect(1), ["MODIFIED %s/a1 %s" % (ns, rv(o))])

            # the connection reset under the watch, then a delete
            self.sim.admin("POST", "close-watches", {"abort": True})
            self.cm_delete(ns, "a2")
            line = kg.expect(1)[0]
            self.assertTrue(line.startswith("DELETED %s/a2 " % ns), line)

            # the 410 window: watches fail while things change and history is compacted
            self.sim.admin("POST", "faults", {"errorRate": 1.0, "errorCode": 500,
                                              "verbs": ["watch"]})
            self.sim.admin("POST", "close-watches", {"abort": True})
            H.wait_for(lambda: self.sim.admin("GET", "stats")[2]["openWatches"] == 0,
                       what="watch closed")
            self.cm_delete(ns, "a3")
            m4 = self.cm_patch(ns, "a4", "2")
            c1 = self.cm(ns, "c1")
            self.sim.admin("POST", "compact", {"keep": 0})
            self.sim.admin("DELETE", "faults")
            got = sorted(kg.expect(3, timeout=40))
            self.assertEqual(got, sorted([
                "ADDED %s/c1 %s" % (ns, rv(c1)),
                "DELETED %s/a3 %s" % (ns, rv(base["a3"])),
                "MODIFIED %s/a4 %s" % (ns, rv(m4)),
            ]))

            # and the watch after the re-list still works
            o = self.cm_patch(ns, "b1", "3")
            self.assertEqual(kg.expect(1), ["MODIFIED %s/b1 %s" % (ns, rv(o))])
            kg.quiet(1.5)
            watches = [r for r in self.requests() if r["verb"] == "watch"]
            self.assertTrue(any(r["code"] == 200 for r in watches))
        finally:
            err = kg.stop()
        self.assertIn("resource version too old, re-listing", err)

    def test_429_retry_after(self):
        """A 429 with Retry-After: 1 is retried no sooner than a second later, until it works."""
        self.ns("r429")
        self.cm("r429", "x")
        start = len(self.requests())
        self.sim.admin("POST", "faults", {"errorRate": 1.0, "errorCode": 429, "retryAfter": 1,
                                          "verbs": ["list"]})
        p = subprocess.Popen([KUBEGET, "--kubeconfig", self.sim.kubeconfig, "--log-level", "info",
                              "-n", "r429",
                              "configmaps"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            H.wait_for(lambda: len([r for r in self.requests()[start:]
                                    if r["code"] == 429]) >= 2, timeout=20, what="two 429s")
            self.sim.admin("DELETE", "faults")
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out.splitlines(), ["r429/x %s" % rv(self.sim.get(
            "/api/v1/namespaces/r429/configmaps/x")[2])])
        lists = [r for r in self.requests()[start:] if r["verb"] == "list"]
        self.assertGreaterEqual(len(lists), 3)
        self.assertEqual(lists[-1]["code"], 200)
        times = [datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ") for r in lists]
        gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
        self.assertTrue(all(g >= 0.95 for g in gaps), gaps)
        self.assertIn("kube request retried", err)

    def test_errors_are_one_line(self):
        """An unknown resource and a wrong token end with one clear line and exit 1."""
        r = run_kubeget(self.sim, "nosuchthings")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(),
                         'l2lb-kubeget: the server has no resource "nosuchthings" in v1')
        bad = os.path.join(self.sim.tmp, "bad-kubeconfig")
        with open(self.sim.kubeconfig) as f:
            text = f.read()
        with open(bad, "w") as f:
            f.write(text.replace(self.sim.token, "wrong-token"))
        r = subprocess.run([KUBEGET, "--kubeconfig", bad, "services"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("l2lb-kubeget: list services: 401 Unauthorized", r.stderr)

    def test_discovery_for_custom_resources(self):
        """A resource outside the built-in table is found through discovery (a CRD)."""
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}}}]}}
        code, _, body = self.sim.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                      crd)
        self.assertEqual(code, 201, body)
        code, _, w = self.sim.post("/apis/example.com/v1/namespaces/default/widgets",
                                   {"apiVersion": "example.com/v1", "kind": "Widget",
                                    "metadata": {"name": "w1"}})
        self.assertEqual(code, 201, w)
        r = run_kubeget(self.sim, "widgets.example.com")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), ["default/w1 %s" % rv(w)])

    def test_events_aggregate_and_rate_limit(self):
        """Repeats of one Event bump its count; past a burst of 25 per object they are
        dropped; a different message is a different Event."""
        self.ns("ev")
        r = subprocess.run([EVENT, "--kubeconfig", self.sim.kubeconfig, "-n", "ev", "--repeat",
                            "30", "--warning", "Service", "web", "AllocationFailed",
                            "pool lan exhausted"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(),
                         ["created"] + ["aggregated"] * 24 + ["rate_limited"] * 5)
        r = subprocess.run([EVENT, "--kubeconfig", self.sim.kubeconfig, "-n", "ev", "Service",
                            "other", "IPAllocated", "192.0.2.200"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        code, _, evs = self.sim.get("/api/v1/namespaces/ev/events")
        self.assertEqual(code, 200)
        got = sorted((e["involvedObject"]["name"], e["type"], e["reason"], e["message"],
                      e["count"], e["source"]["component"]) for e in evs["items"])
        self.assertEqual(got, [
            ("other", "Normal", "IPAllocated", "192.0.2.200", 1, "l2lb-event"),
            ("web", "Warning", "AllocationFailed", "pool lan exhausted", 25, "l2lb-event"),
        ])

    def test_request_timeout_retried(self):
        """A read slower than the request timeout is abandoned and retried; once the server
        is quick again the list completes."""
        self.ns("slow")
        o = self.cm("slow", "x")
        self.sim.admin("POST", "faults", {"latencyMs": 1500, "verbs": ["list"]})
        start = len(self.requests())
        p = subprocess.Popen([KUBEGET, "--kubeconfig", self.sim.kubeconfig, "--log-level",
                              "info", "--request-timeout-ms", "300", "-n", "slow",
                              "configmaps"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            H.wait_for(lambda: len([r for r in self.requests()[start:]
                                    if r["verb"] == "list"]) >= 1, timeout=20,
                       what="a slow list")
            self.sim.admin("DELETE", "faults")
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out.splitlines(), ["slow/x %s" % rv(o)])
        self.assertIn("error=\"timeout: ", err)

    def test_informer_transform_metadata_only(self):
        """An informer with a transform caches only what it keeps, and an update that changes
        nothing kept but the resourceVersion is not delivered: the data change below never
        shows up, the label change right after it does."""
        self.ns("tr")
        a = self.cm("tr", "a")
        kg = Kubeget(self.sim, "-n", "tr", "--metadata-only", "--watch", "configmaps")
        try:
            self.assertEqual(kg.expect(1), ["tr/a %s" % rv(a)])
            d = self.cm_patch("tr", "a", "2")
            code, _, b = self.sim.patch("/api/v1/namespaces/tr/configmaps/a",
                                        {"metadata": {"labels": {"app": "x"}}})
            self.assertEqual(code, 200, b)
            self.assertLess(int(rv(d)), int(rv(b)))
            self.assertEqual(kg.expect(1), ["MODIFIED tr/a %s" % rv(b)])
            self.cm_delete("tr", "a")
            line = kg.expect(1)[0]
            self.assertTrue(line.startswith("DELETED tr/a "), line)
        finally:
            kg.stop()

    def test_label_selector_watch(self):
        """With a label selector the informer sees only matching objects: one that stops
        matching is deleted from its view, one that starts matching is added."""
        self.ns("sel")
        code, _, a = self.sim.post("/api/v1/namespaces/sel/configmaps",
                                   {"metadata": {"name": "a", "labels": {"app": "lb"}}})
        self.assertEqual(code, 201, a)
        self.cm("sel", "b")
        kg = Kubeget(self.sim, "-n", "sel", "-l", "app=lb", "--watch", "configmaps")
        try:
            self.assertEqual(kg.expect(1), ["sel/a %s" % rv(a)])
            code, _, b = self.sim.patch("/api/v1/namespaces/sel/configmaps/b",
                                        {"metadata": {"labels": {"app": "lb"}}})
            self.assertEqual(code, 200, b)
            self.assertEqual(kg.expect(1), ["ADDED sel/b %s" % rv(b)])
            code, _, a2 = self.sim.patch("/api/v1/namespaces/sel/configmaps/a",
                                         {"metadata": {"labels": {"app": None}}})
            self.assertEqual(code, 200, a2)
            line = kg.expect(1)[0]
            self.assertTrue(line.startswith("DELETED sel/a "), line)
            kg.quiet(1.0)
        finally:
            kg.stop()

    def test_in_cluster_and_tls_settings(self):
        """In-cluster configuration (service host/port, token and CA files) works unchanged;
        insecure-skip-tls-verify works with a loud warning; a wrong CA fails in one line."""
        sa = os.path.join(self.sim.tmp, "sa")
        os.makedirs(sa, exist_ok=True)
        with open(os.path.join(sa, "token"), "w") as f:
            f.write(self.sim.token + "\n")
        with open(os.path.join(self.sim.tlsdir, "ca.crt")) as src, \
                open(os.path.join(sa, "ca.crt"), "w") as dst:
            dst.write(src.read())
        env = dict(os.environ, KUBERNETES_SERVICE_HOST=self.sim.host,
                   KUBERNETES_SERVICE_PORT=str(self.sim.port), HOME=self.sim.tmp)
        env.pop("KUBECONFIG", None)
        r = subprocess.run([KUBEGET, "--service-account-dir", sa, "namespaces"],
                           capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("kube-system", r.stdout.split())
        os.unlink(os.path.join(sa, "ca.crt"))
        r = subprocess.run([KUBEGET, "--service-account-dir", sa, "namespaces"],
                           capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(), "l2lb-kubeget: in-cluster: CA %s/ca.crt: No such "
                         "file or directory" % sa)

        with open(self.sim.kubeconfig) as f:
            kc = f.read()
        lines = [ln for ln in kc.splitlines() if "certificate-authority-data" not in ln]
        insecure = "\n".join(ln + ("\n    insecure-skip-tls-verify: true"
                                   if ln.strip().startswith("server:") else "")
                              for ln in lines) + "\n"
        path = os.path.join(self.sim.tmp, "insecure-kubeconfig")
        with open(path, "w") as f:
            f.write(insecure)
        r = subprocess.run([KUBEGET, "--kubeconfig", path, "namespaces"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("default", r.stdout.split())
        self.assertIn("TLS certificate verification is OFF", r.stderr)

        nocapath = os.path.join(self.sim.tmp, "noca-kubeconfig")
        with open(nocapath, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([KUBEGET, "--kubeconfig", nocapath, "--log-level", "info",
                            "namespaces"], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 1)
        self.assertIn("l2lb-kubeget: list namespaces: transport: ", r.stderr)
        self.assertNotIn("retried", r.stderr)  # a certificate problem does not heal


class Candidate:
    """A running l2lb-lease: commands go to its stdin, transitions come back as lines."""

    def __init__(self, sim, identity, names, lease_ms, renew_ms, retry_ms, ns="default",
                 extra=()):
        self.identity = identity
        self.proc = subprocess.Popen(
            [LEASE, "--kubeconfig", sim.kubeconfig, "-n", ns, "--identity", identity,
             "--lease-ms", str(lease_ms), "--renew-ms", str(renew_ms), "--retry-ms",
             str(retry_ms), "--log-level", "info"] + list(extra) + list(names),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events = queue.Queue()
        self.log = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        self.err = []
        self.te = threading.Thread(target=self._read_err, daemon=True)
        self.te.start()

    def _read(self):
        for line in self.proc.stdout:
            f = line.split()
            self.log.append(f)
            self.events.put(f)

    def _read_err(self):
        for line in self.proc.stderr:
            self.err.append(line)

    def wait_event(self, kind, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%s: no %s within %ss; got %r" % (
                    self.identity, kind, timeout, self.log))
            try:
                f = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if f[1] == kind:
                return f

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self):
        """EOF on stdin: it releases what it holds and exits."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.t.join(timeout=5)
        self.te.join(timeout=5)
        return self.proc.returncode

    def intervals(self, name):
        """[(start_ms, stop_ms)] of leadership of `name` (stop None when still leading)."""
        out, start = [], None
        for f in self.log:
            if len(f) >= 3 and f[2] == name and f[1] == "STARTED":
                start = int(f[0])
            elif len(f) >= 3 and f[2] == name and f[1] == "STOPPED" and start is not None:
                out.append((start, int(f[0])))
                start = None
        if start is not None:
            out.append((start, None))
        return out


class LeaseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(LEASE, os.X_OK):
            raise unittest.SkipTest("%s not built" % LEASE)
        cls.sim = H.Sim()
        cls.addClassCleanup(cls.sim.stop)

    def setUp(self):
        self.sim.admin("DELETE", "faults")
        self.cands = []

    def tearDown(self):
        self.sim.admin("DELETE", "faults")
        for c in self.cands:
            if c.proc.poll() is None:
                c.proc.kill()
                c.proc.wait()

    def test_burst_waits_for_a_connection(self):
        """Without a rate limit, 300 lease creations at once over HTTP/1.1 with a slow server
        use at most the client's 64 connections (the rest wait their turn in the client,
        without a curl handle each) and every one of them lands."""
        self.sim.admin("POST", "faults", {"latencyMs": 100})
        names = ["burst-%d" % i for i in range(300)]
        a = Candidate(self.sim, "node-a", names, 60000, 40000, 2000, extra=("--qps", "0"))
        self.cands.append(a)
        most = 0
        started = lambda: sum(1 for f in a.log if len(f) >= 2 and f[1] == "STARTED")

        def all_started():
            nonlocal most
            _, _, st = self.sim.admin("GET", "stats")
            most = max(most, st["openConnections"])
            return started() == len(names)
        H.wait_for(all_started, 60, interval=0.05, what="every lease led")
        # 64 for requests, one for the informer's watch, one for this poll.
        self.assertLessEqual(most, 66)
        self.assertGreater(most, 8)  # they did go out in parallel

    def test_release_hands_over_within_retry_period(self):
        """A released lease is taken by the waiting candidate within one retry period."""
        retry = 200
        a = Candidate(self.sim, "node-a", ["handover"], 3000, 2000, retry)
        self.cands.append(a)
        a.wait_event("STARTED")
        b = Candidate(self.sim, "node-b", ["handover"], 3000, 2000, retry)
        self.cands.append(b)
        f = b.wait_event("LEADER")
        self.assertEqual(f[3], "node-a")
        a.send("release handover")
        stopped = int(a.wait_event("STOPPED")[0])
        started = int(b.wait_event("STARTED", timeout=10)[0])
        self.assertLessEqual(started - stopped, retry, (a.log, b.log))
        code, _, lease = self.sim.get(
            "/apis/coordination.k8s.io/v1/namespaces/default/leases/handover")
        self.assertEqual(code, 200)
        self.assertEqual(lease["spec"]["holderIdentity"], "node-b")
        self.assertEqual(lease["spec"]["leaseTransitions"], 1)
        self.assertEqual(a.finish(), 0)
        self.assertEqual(b.finish(), 0)

    def test_leader_keeps_labels_put_on_its_lease(self):
        """An update replaces the whole Lease: the leader's renewals keep the labels and
        annotations someone else put on it, and add none of the speaker's."""
        path = "/apis/coordination.k8s.io/v1/namespaces/default/leases/labelled"
        a = Candidate(self.sim, "node-a", ["labelled"], 3000, 2000, 200)
        self.cands.append(a)
        a.wait_event("STARTED")
        code, _, _ = self.sim.patch(path, {"metadata": {"labels": {"team": "infra"},
                                                        "annotations": {"note": "hands off"}}})
        self.assertEqual(code, 200)
        _, _, first = self.sim.get(path)
        renewed = first

        def renewed_since():
            nonlocal renewed
            _, _, renewed = self.sim.get(path)
            return renewed["spec"]["renewTime"] != first["spec"]["renewTime"]
        H.wait_for(renewed_since, 10, interval=0.1, what="a renewal after the patch")
        self.assertEqual(renewed["spec"]["holderIdentity"], "node-a")
        self.assertEqual(renewed["metadata"].get("labels"), {"team": "infra"})
        self.assertEqual(renewed["metadata"].get("annotations"), {"note": "hands off"})
        self.assertEqual(a.finish(), 0)

    def test_never_two_leaders_under_faults(self):
        """Three candidates with lease writes failing at random and watches cut: leadership
        changes hands many times and no two candidates ever lead at once."""
        want = int(os.environ.get("L2LB_LEASE_EXPIRIES", "200"))
        lease_ms, renew_ms, retry_ms = 400, 200, 50
        cands = [Candidate(self.sim, "node-%d" % i, ["contended"], lease_ms, renew_ms, retry_ms)
                 for i in range(3)]
        self.cands += cands
        cands[0].wait_event("LEADER")
        self.sim.admin("POST", "faults", {"errorRate": 0.6, "errorCode": 500,
                                          "verbs": ["update", "create"],
                                          "pathRegex": "leases"})
        deadline = time.monotonic() + float(os.environ.get("L2LB_LEASE_SECONDS", "240"))
        n = 0
        while time.monotonic() < deadline:
            n = sum(len(c.intervals("contended")) for c in cands)
            if n > want:
                break
            time.sleep(0.5)
            if int(time.monotonic() * 2) % 10 == 0:
                self.sim.admin("POST", "close-watches", {"abort": True})
        self.sim.admin("DELETE", "faults")
        for c in cands:
            self.assertEqual(c.finish(), 0, "".join(c.err[-20:]))
        spans = sorted((s, e, c.identity) for c in cands for s, e in c.intervals("contended"))
        self.assertGreater(len(spans), want, "only %d leadership terms" % len(spans))
        for (s1, e1, who1), (s2, e2, who2) in zip(spans, spans[1:]):
            self.assertIsNotNone(e1, "%s never stopped" % who1)
            self.assertLessEqual(e1, s2, "%s led %d..%d while %s started at %d" % (
                who1, s1, e1, who2, s2))
        print("lease terms: %d over %d candidates" % (len(spans), len(cands)), file=sys.stderr)


def main():
    names = sys.argv[1:]
    loader = unittest.TestLoader()
    if names:
        suite = loader.loadTestsFromNames(names, sys.modules[__name__])
    else:
        suite = unittest.TestSuite([loader.loadTestsFromTestCase(KubeTest),
                                    loader.loadTestsFromTestCase(LeaseTest)])
    res = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    passed = res.testsRun - failed - skipped
    sys.stdout.flush()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), flush=True)
    if failed:
        return 1
    if res.testsRun == 0 or skipped == res.testsRun:
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
