#!/usr/bin/env python3
"""kubesim behaviour tests: real HTTP(S) requests against a kubesim on 127.0.0.1:0."""

import json
import os
import ssl
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simharness import Sim, wait_for, port_refuses  # noqa: E402

NS = "/api/v1/namespaces"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def svc(name, typ="ClusterIP", ports=None, **spec):
    s = {"type": typ, "ports": ports if ports is not None else [{"port": 80}]}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": s}


def cm(name, labels=None, data=None, **md):
    m = {"name": name}
    if labels:
        m["labels"] = labels
    m.update(md)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": data or {"k": "v"}}


WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.test.l2lb.io"},
    "spec": {
        "group": "test.l2lb.io", "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                  "shortNames": ["wg"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "additionalPrinterColumns": [
                {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                {"name": "Tags", "type": "string", "jsonPath": ".spec.tags"},
                {"name": "Ready", "type": "boolean", "jsonPath": ".status.ready"}],
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "spec": {
                        "type": "object", "required": ["size"],
                        "properties": {
                            "size": {"type": "integer", "format": "int32", "minimum": 1,
                                     "maximum": 10},
                            "color": {"type": "string", "enum": ["red", "blue"],
                                      "default": "red"},
                            "code": {"type": "string", "pattern": "^[a-z]+$"},
                            "tags": {"type": "array", "items": {"type": "string"},
                                     "minItems": 1, "maxItems": 2},
                            "auto": {"type": "boolean", "default": True},
                            "free": {"type": "object",
                                     "x-kubernetes-preserve-unknown-fields": True},
                            "owner": {"type": "string", "x-kubernetes-validations": [
                                {"rule": "self == oldSelf", "message": "Value is immutable"}]},
                        }},
                    "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
                }}}}]}}


class Base(unittest.TestCase):
    extra = ()

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim(*cls.extra)
        cls.addClassCleanup(cls.sim.stop)

    def mkns(self, name):
        code, _, body = self.sim.post("/api/v1/namespaces", {"metadata": {"name": name}})
        self.assertIn(code, (201, 409), body)
        return name

    def ok(self, res, code=200):
        self.assertEqual(res[0], code, res[2])
        return res[2]

    def status_of(self, res, code, reason):
        self.assertEqual(res[0], code, res[2])
        body = res[2]
        self.assertEqual(body["kind"], "Status")
        self.assertEqual(body["apiVersion"], "v1")
        self.assertEqual(body["status"], "Failure")
        self.assertEqual(body["code"], code)
        self.assertEqual(body["reason"], reason)
        return body


# ====================================================================== transport and auth
class TransportTest(Base):
    def test_https_with_generated_ca_and_san(self):
        # the default context verifies the chain and the hostname (127.0.0.1 in the SAN)
        self.assertTrue(self.sim.ctx.check_hostname)
        self.ok(self.sim.get("/api/v1/namespaces"))
        self.assertTrue(os.path.exists(os.path.join(self.sim.tlsdir, "ca.crt")))

    def test_untrusted_ca_is_rejected_by_client(self):
        c = self.sim.connect()
        c._context = ssl.create_default_context()  # system CAs only
        with self.assertRaises(ssl.SSLError):
            c.request("GET", "/version")
            c.getresponse()
        c.close()

    def test_bearer_token(self):
        b = self.status_of(self.sim.get("/api/v1/namespaces", token=False), 401, "Unauthorized")
        self.assertEqual(b["message"], "Unauthorized")
        self.status_of(self.sim.get("/api/v1/namespaces", token="wrong"), 401, "Unauthorized")
        self.ok(self.sim.get("/version", token=False))

    def test_keepalive_reuses_connection(self):
        c = self.sim.connect()
        self.sim.get("/api/v1/namespaces", conn=c)
        sock = c.sock
        for _ in range(5):
            self.ok(self.sim.get("/api/v1/namespaces/default", conn=c))
        self.assertIs(c.sock, sock)
        c.close()

    def test_request_body_limit(self):
        c = self.sim.connect()
        self.addCleanup(c.close)
        big = b'{"metadata":{"name":"big"},"data":{"k":"' + b"x" * (3 * 1024 * 1024) + b'"}}'
        code, _, b = self.sim.post("/api/v1/namespaces/default/configmaps", big,
                                   ctype="application/json", conn=c)
        self.assertEqual(code, 413, b)
        self.assertEqual(b["reason"], "RequestEntityTooLarge")
        self.assertEqual(b["message"], "Request entity too large: limit is 3145728")

    def test_kubeconfig_written(self):
        with open(self.sim.kubeconfig) as f:
            text = f.read()
        self.assertIn("server: " + self.sim.url, text)
        self.assertIn("certificate-authority-data:", text)
        self.assertIn('token: "%s"' % self.sim.token, text)
        self.assertIn(":%d" % self.sim.port, self.sim.url)

    def test_405_and_404_nonresource(self):
        self.status_of(self.sim.request("POST", "/api/v1/namespaces/default", {}),
                       405, "MethodNotAllowed")
        self.status_of(self.sim.get("/api/v1/nothings"), 404, "NotFound")
        self.status_of(self.sim.get("/apis/nope.io/v1"), 404, "NotFound")


class PlainHttpTest(unittest.TestCase):
    def test_plain_http_without_token(self):
        sim = Sim("--state", "", plain=True, token=None)
        self.addCleanup(sim.stop)
        self.assertTrue(sim.url.startswith("http://"))
        code, _, body = sim.get("/api/v1/namespaces")
        self.assertEqual(code, 200)
        self.assertIn("default", [n["metadata"]["name"] for n in body["items"]])
        with open(sim.kubeconfig) as f:
            self.assertIn('token: "kubesim-no-auth"', f.read())


# ====================================================================== discovery
class IPv6ListenTest(unittest.TestCase):
    def test_ipv6_loopback(self):
        import socket
        try:
            s = socket.socket(socket.AF_INET6)
            s.bind(("::1", 0))
            s.close()
        except OSError:
            self.skipTest("no IPv6 loopback on this machine")
        sim = Sim("--listen", "[::1]:0")
        self.addCleanup(sim.stop)
        self.assertTrue(sim.url.startswith("https://[::1]:"), sim.url)
        code, _, body = sim.get("/api/v1/namespaces/default")
        self.assertEqual(code, 200, body)


class DiscoveryTest(Base):
    def test_version(self):
        v = self.ok(self.sim.get("/version"))
        self.assertEqual(v["major"], "1")
        self.assertTrue(v["gitVersion"].startswith("v1."))

    def test_core(self):
        self.assertEqual(self.ok(self.sim.get("/api"))["versions"], ["v1"])
        rl = self.ok(self.sim.get("/api/v1"))
        self.assertEqual(rl["kind"], "APIResourceList")
        self.assertEqual(rl["groupVersion"], "v1")
        res = {r["name"]: r for r in rl["resources"]}
        for n in ("namespaces", "nodes", "services", "services/status", "endpoints",
                  "configmaps", "secrets", "pods", "events", "serviceaccounts"):
            self.assertIn(n, res)
        s = res["services"]
        self.assertEqual(s["kind"], "Service")
        self.assertTrue(s["namespaced"])
        self.assertEqual(s["shortNames"], ["svc"])
        self.assertEqual(sorted(s["verbs"]), sorted(["create", "delete", "deletecollection",
                                                     "get", "list", "patch", "update",
                                                     "watch"]))
        self.assertFalse(res["nodes"]["namespaced"])
        self.assertEqual(res["services/status"]["verbs"], ["get", "patch", "update"])
        self.assertNotIn("configmaps/status", res)

    def test_groups(self):
        gl = self.ok(self.sim.get("/apis"))
        self.assertEqual(gl["kind"], "APIGroupList")
        names = [g["name"] for g in gl["groups"]]
        for g in ("events.k8s.io", "discovery.k8s.io", "coordination.k8s.io", "apps",
                  "rbac.authorization.k8s.io", "apiextensions.k8s.io"):
            self.assertIn(g, names)
        g = self.ok(self.sim.get("/apis/coordination.k8s.io"))
        self.assertEqual(g["preferredVersion"]["groupVersion"], "coordination.k8s.io/v1")
        rl = self.ok(self.sim.get("/apis/coordination.k8s.io/v1"))
        self.assertEqual([r["name"] for r in rl["resources"]], ["leases"])
        rl = self.ok(self.sim.get("/apis/rbac.authorization.k8s.io/v1"))
        self.assertEqual(sorted(r["name"] for r in rl["resources"]),
                         ["clusterrolebindings", "clusterroles", "rolebindings", "roles"])


# ====================================================================== resources and verbs
BUILTINS = [
    # path prefix, kind, apiVersion, body extras
    ("/api/v1/namespaces/{ns}/endpoints", "Endpoints", "v1", {}),
    ("/api/v1/namespaces/{ns}/configmaps", "ConfigMap", "v1", {"data": {"a": "b"}}),
    ("/api/v1/namespaces/{ns}/secrets", "Secret", "v1", {"data": {"a": "Yg=="}}),
    ("/api/v1/namespaces/{ns}/pods", "Pod", "v1",
     {"spec": {"containers": [{"name": "c", "image": "x"}]}}),
    ("/api/v1/namespaces/{ns}/events", "Event", "v1",
     {"involvedObject": {"kind": "Service", "name": "x"}, "reason": "R"}),
    ("/api/v1/namespaces/{ns}/serviceaccounts", "ServiceAccount", "v1", {}),
    ("/api/v1/nodes", "Node", "v1", {"spec": {}}),
    ("/apis/events.k8s.io/v1/namespaces/{ns}/events", "Event", "events.k8s.io/v1",
     {"reason": "R", "eventTime": "2026-01-01T00:00:00.000000Z", "type": "Normal",
      "reportingController": "l2lb.io/speaker", "reportingInstance": "node-a",
      "action": "Announce"}),
    ("/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices", "EndpointSlice",
     "discovery.k8s.io/v1", {"addressType": "IPv4", "endpoints": [{"addresses": ["192.0.2.1"]}]}),
    ("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", "Lease", "coordination.k8s.io/v1",
     {"spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}),
    ("/apis/apps/v1/namespaces/{ns}/deployments", "Deployment", "apps/v1", {"spec": {
        "selector": {"matchLabels": {"app": "a"}}, "template": {
            "metadata": {"labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}),
    ("/apis/apps/v1/namespaces/{ns}/daemonsets", "DaemonSet", "apps/v1", {"spec": {
        "selector": {"matchLabels": {"app": "a"}}, "template": {
            "metadata": {"labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}),
    ("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles", "Role",
     "rbac.authorization.k8s.io/v1", {"rules": []}),
    ("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings", "RoleBinding",
     "rbac.authorization.k8s.io/v1", {"roleRef": {"kind": "Role", "name": "r",
                                                  "apiGroup": "rbac.authorization.k8s.io"}}),
    ("/apis/rbac.authorization.k8s.io/v1/clusterroles", "ClusterRole",
     "rbac.authorization.k8s.io/v1", {"rules": []}),
    ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "ClusterRoleBinding",
     "rbac.authorization.k8s.io/v1", {"roleRef": {"kind": "ClusterRole", "name": "r",
                                                  "apiGroup": "rbac.authorization.k8s.io"}}),
]


class ResourceTest(Base):
    def test_every_builtin_type_create_get_list_delete(self):
        ns = self.mkns("res-all")
        for path, kind, av, extra in BUILTINS:
            with self.subTest(kind=kind, av=av):
                p = path.format(ns=ns)
                name = "obj-" + kind.lower()
                body = {"apiVersion": av, "kind": kind, "metadata": {"name": name}}
                body.update(extra)
                o = self.ok(self.sim.post(p, body), 201)
                self.assertEqual(o["kind"], kind)
                self.assertEqual(o["apiVersion"], av)
                g = self.ok(self.sim.get(p + "/" + name))
                self.assertEqual(g["metadata"]["uid"], o["metadata"]["uid"])
                lst = self.ok(self.sim.get(p))
                self.assertEqual(lst["kind"], kind + "List")
                self.assertIn(name, [i["metadata"]["name"] for i in lst["items"]])
                self.ok(self.sim.delete(p + "/" + name))
                self.status_of(self.sim.get(p + "/" + name), 404, "NotFound")

    def test_rbac_names_may_contain_colons(self):
        self.ok(self.sim.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
            "metadata": {"name": "system:l2lb:speaker"}, "rules": []}), 201)

    def test_create_fills_metadata(self):
        ns = self.mkns("res-meta")
        o = self.ok(self.sim.post(NS + "/%s/configmaps" % ns, cm("a")), 201)
        md = o["metadata"]
        self.assertEqual(md["namespace"], ns)
        self.assertRegex(md["uid"], r"^[0-9a-f-]{36}$")
        self.assertRegex(md["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertRegex(md["resourceVersion"], r"^\d+$")
        d = self.ok(self.sim.post("/apis/apps/v1/namespaces/%s/deployments" % ns, {
            "metadata": {"name": "d"}, "spec": {
                "replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                "template": {"metadata": {"labels": {"app": "d"}}, "spec": {
                    "containers": [{"name": "c", "image": "x"}]}}}}), 201)
        self.assertEqual(d["metadata"]["generation"], 1)
        d["spec"]["replicas"] = 2
        d2 = self.ok(self.sim.put("/apis/apps/v1/namespaces/%s/deployments/d" % ns, d))
        self.assertEqual(d2["metadata"]["generation"], 2)
        g = self.ok(self.sim.post(NS + "/%s/configmaps" % ns,
                                  {"metadata": {"generateName": "gen-"}, "data": {}}), 201)
        self.assertRegex(g["metadata"]["name"], r"^gen-[a-z0-9]{5}$")
        g = self.ok(self.sim.post(NS + "/%s/configmaps" % ns,
                                  {"metadata": {"generateName": "a" * 70}, "data": {}}), 201)
        self.assertRegex(g["metadata"]["name"], r"^a{58}[a-z0-9]{5}$")

    def test_kind_and_apiversion_defaulted_and_checked(self):
        ns = self.mkns("res-kind")
        o = self.ok(self.sim.post(NS + "/%s/configmaps" % ns, {"metadata": {"name": "x"}}), 201)
        self.assertEqual((o["kind"], o["apiVersion"]), ("ConfigMap", "v1"))
        self.status_of(self.sim.post(NS + "/%s/configmaps" % ns, {
            "kind": "Secret", "metadata": {"name": "y"}}), 400, "BadRequest")

    def test_already_exists(self):
        ns = self.mkns("res-exists")
        self.ok(self.sim.post(NS + "/%s/configmaps" % ns, cm("dup")), 201)
        b = self.status_of(self.sim.post(NS + "/%s/configmaps" % ns, cm("dup")), 409,
                           "AlreadyExists")
        self.assertEqual(b["message"], 'configmaps "dup" already exists')
        self.assertEqual(b["details"], {"name": "dup", "kind": "configmaps"})

    def test_not_found_details(self):
        b = self.status_of(self.sim.get(
            "/apis/coordination.k8s.io/v1/namespaces/default/leases/nope"), 404, "NotFound")
        self.assertEqual(b["message"], 'leases.coordination.k8s.io "nope" not found')
        self.assertEqual(b["details"], {"name": "nope", "group": "coordination.k8s.io",
                                        "kind": "leases"})

    def test_update_conflict_on_stale_rv(self):
        ns = self.mkns("res-conflict")
        p = NS + "/%s/configmaps" % ns
        o = self.ok(self.sim.post(p, cm("c")), 201)
        o["data"] = {"k": "2"}
        o2 = self.ok(self.sim.put(p + "/c", o))
        self.assertGreater(int(o2["metadata"]["resourceVersion"]),
                           int(o["metadata"]["resourceVersion"]))
        o["data"] = {"k": "3"}
        b = self.status_of(self.sim.put(p + "/c", o), 409, "Conflict")
        self.assertEqual(b["message"], 'Operation cannot be fulfilled on configmaps "c": the '
                         'object has been modified; please apply your changes to the latest '
                         'version and try again')
        # a uid that is not the live object's is a failed precondition
        stale = dict(o2, metadata=dict(o2["metadata"], uid="00000000-0000-0000-0000-000000000000"))
        b = self.status_of(self.sim.put(p + "/c", stale), 409, "Conflict")
        self.assertIn("Precondition failed: UID in precondition", b["message"])
        # unconditional update (no resourceVersion) is allowed for built-in types
        del o2["metadata"]["resourceVersion"]
        o2["data"] = {"k": "4"}
        self.assertEqual(self.ok(self.sim.put(p + "/c", o2))["data"], {"k": "4"})

    def test_noop_update_keeps_rv(self):
        ns = self.mkns("res-noop")
        p = NS + "/%s/configmaps" % ns
        o = self.ok(self.sim.post(p, cm("n")), 201)
        o2 = self.ok(self.sim.put(p + "/n", o))
        self.assertEqual(o2["metadata"]["resourceVersion"], o["metadata"]["resourceVersion"])

    def test_status_subresource_split(self):
        ns = self.mkns("res-status")
        p = NS + "/%s/services" % ns
        s = svc("lb", "LoadBalancer")
        s["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.9"}]}}
        o = self.ok(self.sim.post(p, s), 201)
        self.assertEqual(o["status"], {"loadBalancer": {}})   # status ignored on create
        o["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
        o["metadata"].setdefault("labels", {})["x"] = "y"
        o2 = self.ok(self.sim.put(p + "/lb", o))
        self.assertEqual(o2["status"], {"loadBalancer": {}})  # main resource ignores status
        self.assertEqual(o2["metadata"]["labels"], {"x": "y"})
        o2["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
        o2["spec"]["type"] = "ClusterIP"
        o2["metadata"]["labels"] = {"x": "z"}
        o3 = self.ok(self.sim.put(p + "/lb/status", o2))
        self.assertEqual(o3["status"]["loadBalancer"]["ingress"][0]["ip"], "192.0.2.10")
        self.assertEqual(o3["spec"]["type"], "LoadBalancer")  # status ignores spec
        # the real Service status strategy resets only the spec: label changes stay
        self.assertEqual(o3["metadata"]["labels"], {"x": "z"})
        g = self.ok(self.sim.get(p + "/lb/status"))
        self.assertEqual(g["status"], o3["status"])
        self.status_of(self.sim.get(NS + "/%s/configmaps/x/status" % ns), 404, "NotFound")

    def test_patch_types(self):
        ns = self.mkns("res-patch")
        p = NS + "/%s/configmaps" % ns
        self.ok(self.sim.post(p, cm("p", labels={"a": "1", "b": "2"})), 201)
        o = self.ok(self.sim.patch(p + "/p", {"metadata": {"labels": {"a": None, "c": "3"}}}))
        self.assertEqual(o["metadata"]["labels"], {"b": "2", "c": "3"})
        o = self.ok(self.sim.patch(p + "/p", {"data": {"k2": "v2"}},
                                   ctype="application/strategic-merge-patch+json"))
        self.assertEqual(o["data"], {"k": "v", "k2": "v2"})
        o = self.ok(self.sim.patch(p + "/p", [
            {"op": "test", "path": "/data/k", "value": "v"},
            {"op": "replace", "path": "/data/k", "value": "w"},
            {"op": "add", "path": "/metadata/labels/d", "value": "4"},
            {"op": "remove", "path": "/metadata/labels/b"}],
            ctype="application/json-patch+json"))
        self.assertEqual(o["data"]["k"], "w")
        self.assertEqual(o["metadata"]["labels"], {"c": "3", "d": "4"})
        self.status_of(self.sim.patch(p + "/p", [{"op": "test", "path": "/data/k",
                                                  "value": "nope"}],
                                      ctype="application/json-patch+json"), 422, "Invalid")
        self.status_of(self.sim.patch(p + "/p", {"data": {}}, ctype="text/plain"), 415,
                       "UnsupportedMediaType")
        self.status_of(self.sim.patch(p + "/missing", {"data": {}}), 404, "NotFound")
        # a resourceVersion in a patch is a precondition
        self.status_of(self.sim.patch(p + "/p", {"metadata": {"resourceVersion": "1"}}), 409,
                       "Conflict")

    def test_strategic_merge_lists_by_key(self):
        ns = self.mkns("res-smp")
        p = NS + "/%s/services" % ns
        self.ok(self.sim.post(p, svc("s", ports=[{"name": "a", "port": 80},
                                                 {"name": "b", "port": 81}])), 201)
        o = self.ok(self.sim.patch(p + "/s", {"spec": {"ports": [{"port": 81, "name": "bb"},
                                                                 {"port": 82, "name": "c"}]}},
                                   ctype="application/strategic-merge-patch+json"))
        self.assertEqual([(x["name"], x["port"]) for x in o["spec"]["ports"]],
                         [("a", 80), ("bb", 81), ("c", 82)])
        o = self.ok(self.sim.patch(p + "/s", {"spec": {"ports": [{"port": 80,
                                                                  "$patch": "delete"}]}},
                                   ctype="application/strategic-merge-patch+json"))
        self.assertEqual([x["port"] for x in o["spec"]["ports"]], [81, 82])

    def test_finalizers_hold_deletion(self):
        ns = self.mkns("res-fin")
        p = NS + "/%s/configmaps" % ns
        self.ok(self.sim.post(p, cm("f", finalizers=["l2lb.io/hold"])), 201)
        o = self.ok(self.sim.delete(p + "/f"))
        self.assertIn("deletionTimestamp", o["metadata"])
        g = self.ok(self.sim.get(p + "/f"))
        self.assertEqual(g["metadata"]["deletionTimestamp"], o["metadata"]["deletionTimestamp"])
        b = self.status_of(self.sim.patch(p + "/f", {"metadata": {"finalizers": [
            "l2lb.io/hold", "l2lb.io/more"]}}), 422, "Invalid")
        self.assertIn("no new finalizers can be added if the object is being deleted",
                      b["message"])
        self.ok(self.sim.patch(p + "/f", {"metadata": {"finalizers": None}}))
        self.status_of(self.sim.get(p + "/f"), 404, "NotFound")

    def test_garbage_collection_of_dependents(self):
        ns = self.mkns("res-gc")
        p = NS + "/%s/configmaps" % ns
        a = self.ok(self.sim.post(p, cm("owner-a")), 201)["metadata"]["uid"]
        b = self.ok(self.sim.post(p, cm("owner-b")), 201)["metadata"]["uid"]

        def ref(name, uid):
            return {"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": uid}
        self.ok(self.sim.post(p, cm("dep-a", ownerReferences=[ref("owner-a", a)])), 201)
        self.ok(self.sim.post(p, cm("dep-ab", ownerReferences=[ref("owner-a", a),
                                                               ref("owner-b", b)])), 201)
        self.ok(self.sim.post(p, cm("dep-dep", ownerReferences=[ref("dep-a", self.ok(
            self.sim.get(p + "/dep-a"))["metadata"]["uid"])])), 201)
        self.ok(self.sim.delete(p + "/owner-a"))
        names = [i["metadata"]["name"] for i in self.ok(self.sim.get(p))["items"]]
        self.assertEqual(names, ["dep-ab", "owner-b"])     # cascades; one owner left keeps it
        self.ok(self.sim.post(p, cm("dep-b", ownerReferences=[ref("owner-b", b)])), 201)
        self.ok(self.sim.delete(p + "/owner-b", {"propagationPolicy": "Orphan"}))
        # dep-b is orphaned; dep-ab's remaining owner is gone, so it is collected
        names = [i["metadata"]["name"] for i in self.ok(self.sim.get(p))["items"]]
        self.assertEqual(names, ["dep-b"])
        self.assertNotIn("ownerReferences", self.ok(self.sim.get(p + "/dep-b"))["metadata"])

    def test_dry_run(self):
        ns = self.mkns("res-dry")
        p = NS + "/%s/configmaps" % ns
        o = self.ok(self.sim.post(p + "?dryRun=All", cm("d")), 201)
        self.assertEqual(o["metadata"]["name"], "d")
        self.status_of(self.sim.get(p + "/d"), 404, "NotFound")
        self.ok(self.sim.post(p, cm("d")), 201)
        self.ok(self.sim.patch(p + "/d?dryRun=All", {"data": {"k": "x"}}))
        self.assertEqual(self.ok(self.sim.get(p + "/d"))["data"], {"k": "v"})
        self.ok(self.sim.delete(p + "/d?dryRun=All"))
        self.ok(self.sim.get(p + "/d"))

    def test_delete_preconditions_and_collection(self):
        ns = self.mkns("res-delcol")
        p = NS + "/%s/configmaps" % ns
        o = self.ok(self.sim.post(p, cm("a", labels={"grp": "x"})), 201)
        self.ok(self.sim.post(p, cm("b", labels={"grp": "x"})), 201)
        self.ok(self.sim.post(p, cm("c", labels={"grp": "y"})), 201)
        self.status_of(self.sim.delete(p + "/a", {"preconditions": {"uid": "nope"}}), 409,
                       "Conflict")
        self.ok(self.sim.delete(p + "/a", {"preconditions": {"uid": o["metadata"]["uid"]}}))
        self.ok(self.sim.delete(p + "?labelSelector=grp%3Dx"))
        names = [i["metadata"]["name"] for i in self.ok(self.sim.get(p))["items"]]
        self.assertEqual(names, ["c"])

    def test_list_selectors_and_pagination(self):
        ns = self.mkns("res-list")
        p = NS + "/%s/configmaps" % ns
        labels = {"a": {"app": "web", "tier": "fe"}, "b": {"app": "web", "tier": "be"},
                  "c": {"app": "db"}, "d": {}}
        for n, lab in labels.items():
            self.ok(self.sim.post(p, cm(n, labels=lab)), 201)

        def names(sel, field=False):
            from urllib.parse import quote
            k = "fieldSelector" if field else "labelSelector"
            return [i["metadata"]["name"] for i in self.ok(self.sim.get(
                p + "?%s=%s" % (k, quote(sel))))["items"]]
        self.assertEqual(names("app=web"), ["a", "b"])
        self.assertEqual(names("app==web,tier=be"), ["b"])
        self.assertEqual(names("app!=web"), ["c", "d"])
        self.assertEqual(names("tier in (fe, x)"), ["a"])
        self.assertEqual(names("app notin (web)"), ["c", "d"])
        self.assertEqual(names("tier"), ["a", "b"])
        self.assertEqual(names("!tier"), ["c", "d"])
        self.assertEqual(names("metadata.name=c", True), ["c"])
        self.assertEqual(names("metadata.name!=c", True), ["a", "b", "d"])
        self.assertEqual(names("metadata.namespace=%s" % ns, True), ["a", "b", "c", "d"])
        self.status_of(self.sim.get(p + "?fieldSelector=spec.x%3Dy"), 400, "BadRequest")
        self.status_of(self.sim.get(p + "?labelSelector=a%20in%20(("), 400, "BadRequest")
        # pagination
        first = self.ok(self.sim.get(p + "?limit=3"))
        self.assertEqual(len(first["items"]), 3)
        self.assertEqual(first["metadata"]["remainingItemCount"], 1)
        tok = first["metadata"]["continue"]
        rest = self.ok(self.sim.get(p + "?limit=3&continue=" + tok))
        self.assertEqual([i["metadata"]["name"] for i in rest["items"]], ["d"])
        self.assertNotIn("continue", rest["metadata"])
        self.assertEqual(rest["metadata"]["resourceVersion"], first["metadata"]["resourceVersion"])
        # resourceVersionMatch=Exact serves the list as it was at that RV
        rv_then = first["metadata"]["resourceVersion"]
        self.ok(self.sim.post(p, cm("late")), 201)
        then = self.ok(self.sim.get(p + "?resourceVersionMatch=Exact&resourceVersion=" +
                                    rv_then))
        self.assertEqual([i["metadata"]["name"] for i in then["items"]], ["a", "b", "c", "d"])
        self.assertEqual(then["metadata"]["resourceVersion"], rv_then)
        self.ok(self.sim.delete(p + "/late"))
        self.status_of(self.sim.get(p + "?resourceVersionMatch=Exact"), 422, "Invalid")
        # resourceVersion=0 is served from the watch cache, which ignores limit
        every = self.ok(self.sim.get(p + "?limit=1&resourceVersion=0"))
        self.assertEqual(len(every["items"]), 4)
        self.assertNotIn("continue", every["metadata"])
        # later pages come from the first page's snapshot, as etcd serves them
        self.ok(self.sim.post(p, cm("e")), 201)
        self.ok(self.sim.delete(p + "/d"))
        self.ok(self.sim.patch(p + "/c", {"data": {"k": "changed"}}))
        rest = self.ok(self.sim.get(p + "?limit=1&continue=" + tok))
        self.assertEqual([i["metadata"]["name"] for i in rest["items"]], ["d"])
        first2 = self.ok(self.sim.get(p + "?limit=2"))
        rest2 = self.ok(self.sim.get(p + "?limit=5&continue=" + first2["metadata"]["continue"]))
        self.ok(self.sim.delete(p + "/c"))
        self.assertEqual([(i["metadata"]["name"], i["data"]["k"]) for i in rest2["items"]],
                         [("c", "changed"), ("e", "v")])
        # list items of built-in types carry no kind/apiVersion (as the real server)
        self.assertNotIn("kind", first["items"][0])
        # cluster-wide list of a namespaced type
        allcm = self.ok(self.sim.get("/api/v1/configmaps?labelSelector=tier%3Dfe"))
        self.assertEqual([i["metadata"]["namespace"] for i in allcm["items"]], [ns])

    def test_resource_version_is_global_and_increasing(self):
        ns = self.mkns("res-rv")
        rvs = []
        for i in range(5):
            o = self.ok(self.sim.post(NS + "/%s/configmaps" % ns, cm("r%d" % i)), 201)
            rvs.append(int(o["metadata"]["resourceVersion"]))
            o = self.ok(self.sim.post("/apis/coordination.k8s.io/v1/namespaces/%s/leases" % ns,
                                      {"metadata": {"name": "l%d" % i}, "spec": {}}), 201)
            rvs.append(int(o["metadata"]["resourceVersion"]))
        self.assertEqual(rvs, sorted(rvs))
        self.assertEqual(len(set(rvs)), len(rvs))
        lst = self.ok(self.sim.get(NS + "/%s/configmaps" % ns))
        self.assertIsInstance(lst["metadata"]["resourceVersion"], str)
        self.assertGreaterEqual(int(lst["metadata"]["resourceVersion"]), rvs[-1])


# ====================================================================== validation
class ValidationTest(Base):
    def test_names(self):
        ns = self.mkns("val-names")
        p = NS + "/%s/configmaps" % ns
        b = self.status_of(self.sim.post(p, {"metadata": {}}), 422, "Invalid")
        self.assertEqual(b["message"], 'ConfigMap "" is invalid: metadata.name: Required value: '
                         'name or generateName is required')
        self.assertEqual(b["details"]["causes"][0]["field"], "metadata.name")
        self.assertEqual(b["details"]["causes"][0]["reason"], "FieldValueRequired")
        b = self.status_of(self.sim.post(p, cm("Bad_Name")), 422, "Invalid")
        self.assertTrue(b["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: '
                                                'Invalid value: "Bad_Name": a lowercase RFC 1123 '
                                                'subdomain'), b["message"])
        self.ok(self.sim.post(p, cm("a.b-c")), 201)
        # namespaces and services are labels (no dots), services DNS-1035 (letter first)
        self.status_of(self.sim.post("/api/v1/namespaces", {"metadata": {"name": "a.b"}}),
                       422, "Invalid")
        self.status_of(self.sim.post(NS + "/%s/services" % ns, svc("1abc")), 422, "Invalid")

    def test_labels(self):
        ns = self.mkns("val-labels")
        p = NS + "/%s/configmaps" % ns
        for bad in ({"a b": "x"}, {"x": "a b"}, {"x": "v" * 64}, {"-x": "y"},
                    {"Bad.Prefix/x": "y"}):
            with self.subTest(labels=bad):
                b = self.status_of(self.sim.post(p, cm("l", labels=bad)), 422, "Invalid")
                self.assertEqual(b["details"]["causes"][0]["field"], "metadata.labels")
        self.ok(self.sim.post(p, cm("l", labels={"l2lb.io/x-y_z.1": "A-b_c.9", "e": ""})), 201)

    def test_namespace_must_exist(self):
        b = self.status_of(self.sim.post(NS + "/nope/configmaps", cm("a")), 404, "NotFound")
        self.assertEqual(b["message"], 'namespaces "nope" not found')

    def test_resource_version_on_create_rejected(self):
        ns = self.mkns("val-rv")
        res = self.sim.post(NS + "/%s/configmaps" % ns, cm("a", resourceVersion="5"))
        self.assertEqual(res[0], 500, res[2])
        self.assertIn("resourceVersion should not be set on objects to be created",
                      res[2]["message"])

    def test_namespace_mismatch(self):
        ns = self.mkns("val-nsm")
        self.status_of(self.sim.post(NS + "/%s/configmaps" % ns, cm("a", namespace="other")),
                       400, "BadRequest")

    def test_unsupported_body(self):
        ns = self.mkns("val-body")
        self.status_of(self.sim.post(NS + "/%s/configmaps" % ns, b"{nope",
                                     ctype="application/json"), 400, "BadRequest")
        self.status_of(self.sim.post(NS + "/%s/configmaps" % ns, b"x",
                                     ctype="text/plain"), 415, "UnsupportedMediaType")


# ====================================================================== watch
class WatchTest(Base):
    def cmp(self, ns):
        return NS + "/%s/configmaps" % ns

    def test_events_in_order(self):
        ns = self.mkns("w-order")
        p = self.cmp(ns)
        lst = self.ok(self.sim.get(p))
        w = self.sim.watch(p + "?watch=1&resourceVersion=" + lst["metadata"]["resourceVersion"])
        self.addCleanup(w.close)
        self.assertEqual(w.status, 200)
        self.assertEqual(w.headers.get("transfer-encoding"), "chunked")
        o = self.ok(self.sim.post(p, cm("a")), 201)
        self.ok(self.sim.patch(p + "/a", {"data": {"k": "2"}}))
        self.ok(self.sim.delete(p + "/a"))
        evs = [w.next() for _ in range(3)]
        self.assertEqual([e["type"] for e in evs], ["ADDED", "MODIFIED", "DELETED"])
        self.assertEqual(evs[0]["object"]["metadata"]["uid"], o["metadata"]["uid"])
        self.assertEqual(evs[0]["object"]["kind"], "ConfigMap")
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
        self.assertEqual(rvs, sorted(rvs))
        self.assertEqual(len(set(rvs)), 3)

    def test_initial_state_without_rv(self):
        ns = self.mkns("w-init")
        p = self.cmp(ns)
        self.ok(self.sim.post(p, cm("b")), 201)
        self.ok(self.sim.post(p, cm("a")), 201)
        w = self.sim.watch(p + "?watch=true")
        self.addCleanup(w.close)
        evs = [w.next(), w.next()]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in evs],
                         [("ADDED", "a"), ("ADDED", "b")])

    def test_replay_from_rv(self):
        ns = self.mkns("w-replay")
        p = self.cmp(ns)
        o = self.ok(self.sim.post(p, cm("a")), 201)
        self.ok(self.sim.patch(p + "/a", {"data": {"k": "2"}}))
        self.ok(self.sim.post(p, cm("b")), 201)
        w = self.sim.watch(p + "?watch=1&resourceVersion=" + o["metadata"]["resourceVersion"])
        self.addCleanup(w.close)
        e1, e2 = w.next(), w.next()
        self.assertEqual((e1["type"], e1["object"]["data"]["k"]), ("MODIFIED", "2"))
        self.assertEqual((e2["type"], e2["object"]["metadata"]["name"]), ("ADDED", "b"))

    def test_timeout_seconds_ends_watch(self):
        ns = self.mkns("w-timeout")
        t0 = time.monotonic()
        w = self.sim.watch(self.cmp(ns) + "?watch=1&resourceVersion=1&timeoutSeconds=1")
        self.addCleanup(w.close)
        # replay of nothing relevant; the stream must end by itself
        for _ in range(1000):
            e = w.next(timeout=10)
            if e is None:
                break
            self.assertNotEqual(e["type"], "ERROR", e)
        else:
            self.fail("the watch did not end")
        self.assertLess(time.monotonic() - t0, 8)

    def test_bookmarks(self):
        sim = Sim("--bookmark-interval", "0.3")
        self.addCleanup(sim.stop)
        lst = sim.get("/api/v1/namespaces/default/configmaps")[2]
        w = sim.watch("/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true"
                      "&resourceVersion=" + lst["metadata"]["resourceVersion"])
        self.addCleanup(w.close)
        sim.post("/api/v1/namespaces/default/configmaps", cm("x"))
        e = w.next()
        self.assertEqual(e["type"], "ADDED")
        b = w.next()
        self.assertEqual(b["type"], "BOOKMARK")
        self.assertEqual(b["object"]["kind"], "ConfigMap")
        self.assertGreaterEqual(int(b["object"]["metadata"]["resourceVersion"]),
                                int(e["object"]["metadata"]["resourceVersion"]))
        self.assertEqual(set(b["object"]["metadata"]), {"resourceVersion"})

    def test_selectors_and_leaving_the_selection(self):
        ns = self.mkns("w-sel")
        p = self.cmp(ns)
        self.ok(self.sim.post(p, cm("a", labels={"app": "x"})), 201)
        self.ok(self.sim.post(p, cm("b", labels={"app": "y"})), 201)
        lst = self.ok(self.sim.get(p))
        rv = lst["metadata"]["resourceVersion"]
        w = self.sim.watch(p + "?watch=1&labelSelector=app%3Dx&resourceVersion=" + rv)
        self.addCleanup(w.close)
        wf = self.sim.watch(p + "?watch=1&fieldSelector=metadata.name%3Db&resourceVersion=" + rv)
        self.addCleanup(wf.close)
        self.ok(self.sim.patch(p + "/b", {"data": {"k": "b1"}}))          # wf MODIFIED
        self.ok(self.sim.patch(p + "/a", {"metadata": {"labels": {"app": "z"}}}))  # w DELETED
        self.ok(self.sim.patch(p + "/b", {"metadata": {"labels": {"app": "x"}}}))  # w ADDED
        e = w.next()
        self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("DELETED", "a"))
        self.assertEqual(e["object"]["metadata"]["labels"], {"app": "z"})
        e = w.next()
        self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("ADDED", "b"))
        e = wf.next()
        self.assertEqual((e["type"], e["object"]["data"]["k"]), ("MODIFIED", "b1"))
        e = wf.next()
        self.assertEqual(e["type"], "MODIFIED")

    def test_client_closing_a_watch_unregisters_it(self):
        def open_watches():
            return self.ok(self.sim.admin("GET", "stats"))["openWatches"]
        before = open_watches()
        ws = [self.sim.watch("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1"
                             "&timeoutSeconds=600") for _ in range(5)]
        wait_for(lambda: open_watches() == before + 5, what="5 watches open")
        for w in ws:
            w.close()
        wait_for(lambda: open_watches() == before, what="watches gone")

    def test_send_initial_events(self):
        ns = self.mkns("w-initial")
        p = self.cmp(ns)
        self.ok(self.sim.post(p, cm("a")), 201)
        b = self.status_of(self.sim.get(p + "?watch=1&sendInitialEvents=true"), 422, "Invalid")
        self.assertIn("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                      b["message"])
        w = self.sim.watch(p + "?watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
                           "&resourceVersionMatch=NotOlderThan")
        self.addCleanup(w.close)
        e = w.next()
        self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("ADDED", "a"))
        e = w.next()
        self.assertEqual(e["type"], "BOOKMARK")
        self.assertEqual(e["object"]["metadata"]["annotations"],
                         {"k8s.io/initial-events-end": "true"})
        self.ok(self.sim.post(p, cm("b")), 201)
        e = w.next()
        self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("ADDED", "b"))

    def test_watch_all_namespaces_and_other_types_isolated(self):
        a, b = self.mkns("w-all-a"), self.mkns("w-all-b")
        lst = self.ok(self.sim.get("/api/v1/configmaps"))
        w = self.sim.watch("/api/v1/configmaps?watch=1&resourceVersion=" +
                           lst["metadata"]["resourceVersion"])
        self.addCleanup(w.close)
        self.ok(self.sim.post("/apis/coordination.k8s.io/v1/namespaces/%s/leases" % a,
                              {"metadata": {"name": "l"}, "spec": {}}), 201)
        self.ok(self.sim.post(self.cmp(a), cm("x")), 201)
        self.ok(self.sim.post(self.cmp(b), cm("y")), 201)
        e1, e2 = w.next(), w.next()
        self.assertEqual([(e["object"]["metadata"]["namespace"], e["object"]["kind"])
                          for e in (e1, e2)], [(a, "ConfigMap"), (b, "ConfigMap")])


class WatchExactlyOnceTest(Base):
    """Done-when: a watch from a list's RV sees 1,000 writes exactly once, in order."""

    def test_thousand_writes_exactly_once_and_reconnect(self):
        ns = self.mkns("w-1000")
        p = NS + "/%s/configmaps" % ns
        lst = self.ok(self.sim.get(p))
        w = self.sim.watch(p + "?watch=1&resourceVersion=" + lst["metadata"]["resourceVersion"],
                           timeout=30)
        self.addCleanup(w.close)
        N = 1000
        errors = []

        def writer():
            try:
                c = self.sim.connect(timeout=30)
                for i in range(N):
                    name = "c%d" % (i % 50)
                    if i < 50:
                        r = self.sim.post(p, cm(name, data={"i": str(i)}), conn=c)
                    else:
                        r = self.sim.patch(p + "/" + name, {"data": {"i": str(i)}}, conn=c)
                    if r[0] not in (200, 201):
                        errors.append(r)
                c.close()
            except Exception as e:  # reported below
                errors.append(e)
        t = threading.Thread(target=writer)
        t.start()
        seen = []
        last_rv = None
        # read half, drop the connection, reconnect from the last RV seen, read the rest
        while len(seen) < N // 2:
            e = w.next(timeout=30)
            self.assertIsNotNone(e)
            seen.append(int(e["object"]["data"]["i"]))
            last_rv = e["object"]["metadata"]["resourceVersion"]
        w.close()
        w2 = self.sim.watch(p + "?watch=1&resourceVersion=" + last_rv, timeout=30)
        self.addCleanup(w2.close)
        while len(seen) < N:
            e = w2.next(timeout=30)
            self.assertIsNotNone(e)
            self.assertIn(e["type"], ("ADDED", "MODIFIED"))
            seen.append(int(e["object"]["data"]["i"]))
        t.join(60)
        self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])
        self.assertEqual(seen, list(range(N)))


# ====================================================================== tables
class TableTest(Base):
    def table(self, path):
        code, h, body = self.sim.get(path, headers={"Accept": TABLE})
        self.assertEqual(code, 200, body)
        self.assertEqual(body["kind"], "Table")
        self.assertEqual(body["apiVersion"], "meta.k8s.io/v1")
        return [c["name"] for c in body["columnDefinitions"]], body["rows"]

    def test_services(self):
        ns = self.mkns("t-svc")
        p = NS + "/%s/services" % ns
        self.ok(self.sim.post(p, svc("lb", "LoadBalancer", ports=[
            {"name": "http", "port": 80, "nodePort": 30080}])), 201)
        self.ok(self.sim.patch(p + "/lb/status", {"status": {"loadBalancer": {"ingress": [
            {"ip": "192.0.2.200"}]}}}))
        self.ok(self.sim.post(p, svc("pending", "LoadBalancer")), 201)
        cols, rows = self.table(p)
        self.assertEqual(cols, ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age",
                                "Selector"])
        byname = {r["cells"][0]: r["cells"] for r in rows}
        self.assertEqual(byname["lb"][1], "LoadBalancer")
        self.assertEqual(byname["lb"][3], "192.0.2.200")
        self.assertEqual(byname["lb"][4], "80:30080/TCP")
        self.assertEqual(byname["pending"][3], "<pending>")
        self.assertEqual(rows[0]["object"]["kind"], "PartialObjectMetadata")

    def test_nodes_and_leases(self):
        self.ok(self.sim.post("/api/v1/nodes", {
            "metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0"}}}), 201)
        cols, rows = self.table("/api/v1/nodes")
        self.assertEqual(cols[:5], ["Name", "Status", "Roles", "Age", "Version"])
        r = [r["cells"] for r in rows if r["cells"][0] == "n1"][0]
        self.assertEqual(r[1:3], ["Ready", "control-plane"])
        self.assertEqual(r[4], "v1.32.0")
        ns = self.mkns("t-lease")
        self.ok(self.sim.post("/apis/coordination.k8s.io/v1/namespaces/%s/leases" % ns, {
            "metadata": {"name": "l"}, "spec": {"holderIdentity": "node-a"}}), 201)
        cols, rows = self.table("/apis/coordination.k8s.io/v1/namespaces/%s/leases" % ns)
        self.assertEqual(cols, ["Name", "Holder", "Age"])
        self.assertEqual(rows[0]["cells"][:2], ["l", "node-a"])


# ====================================================================== CRDs
class CRDTest(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        code, _, body = cls.sim.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                     WIDGET_CRD)
        assert code == 201, body
        cls.ns = "crd-test"
        cls.sim.post("/api/v1/namespaces", {"metadata": {"name": cls.ns}})
        cls.p = "/apis/test.l2lb.io/v1/namespaces/%s/widgets" % cls.ns

    def widget(self, name, **spec):
        return {"apiVersion": "test.l2lb.io/v1", "kind": "Widget", "metadata": {"name": name},
                "spec": spec}

    def test_discovery_and_crud(self):
        names = [g["name"] for g in self.ok(self.sim.get("/apis"))["groups"]]
        self.assertIn("test.l2lb.io", names)
        rl = self.ok(self.sim.get("/apis/test.l2lb.io/v1"))
        res = {r["name"]: r for r in rl["resources"]}
        self.assertEqual(res["widgets"]["kind"], "Widget")
        self.assertEqual(res["widgets"]["shortNames"], ["wg"])
        self.assertIn("widgets/status", res)
        crd = self.ok(self.sim.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                                   "widgets.test.l2lb.io"))
        conds = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        self.assertEqual(conds.get("Established"), "True")
        o = self.ok(self.sim.post(self.p, self.widget("w1", size=3)), 201)
        self.assertEqual(o["metadata"]["generation"], 1)
        lst = self.ok(self.sim.get(self.p))
        self.assertEqual(lst["kind"], "WidgetList")
        self.assertEqual(lst["items"][0]["kind"], "Widget")   # CR list items keep kind
        # custom resources need a resourceVersion on update
        o["spec"]["size"] = 4
        del o["metadata"]["resourceVersion"]
        self.status_of(self.sim.put(self.p + "/w1", o), 422, "Invalid")
        # strategic merge patch is not supported for custom resources
        self.status_of(self.sim.patch(self.p + "/w1", {"spec": {"size": 5}},
                                      ctype="application/strategic-merge-patch+json"), 415,
                       "UnsupportedMediaType")
        o = self.ok(self.sim.patch(self.p + "/w1", {"spec": {"size": 5}}))
        self.assertEqual(o["metadata"]["generation"], 2)

    def test_schema_defaults_and_pruning(self):
        o = self.ok(self.sim.post(self.p, dict(self.widget("w-def", size=2, junk=1),
                                               extra=True)), 201)
        self.assertEqual(o["spec"], {"size": 2, "color": "red", "auto": True})
        self.assertNotIn("extra", o)
        res = self.sim.post(self.p + "?fieldValidation=Strict", self.widget("w-strict", size=2,
                                                                            junk=1))
        b = self.status_of(res, 400, "BadRequest")
        self.assertIn('strict decoding error: unknown field "spec.junk"', b["message"])
        res = self.sim.post(self.p, self.widget("w-warn", size=2, junk=1))
        self.assertIn('unknown field \\"spec.junk\\"', res[1].get("warning", ""))
        o = self.ok(self.sim.post(self.p, self.widget("w-free", size=2, free={"a": {"b": 1}})),
                    201)
        self.assertEqual(o["spec"]["free"], {"a": {"b": 1}})

    def test_schema_validation_table(self):
        cases = [
            ({}, "spec.size: Required value"),
            ({"size": "x"}, 'spec.size: Invalid value: "string": spec.size in body must be of '
                            'type integer: "string"'),
            ({"size": 0}, "spec.size: Invalid value: 0: spec.size in body should be greater "
                          "than or equal to 1"),
            ({"size": 11}, "spec.size: Invalid value: 11: spec.size in body should be less "
                           "than or equal to 10"),
            ({"size": 2 ** 31}, "spec.size in body must be of type int32"),
            ({"size": 1, "color": "green"}, 'spec.color: Unsupported value: "green": supported '
                                            'values: "red", "blue"'),
            ({"size": 1, "code": "A1"}, "spec.code: Invalid value: \"A1\": spec.code in body "
                                        "should match '^[a-z]+$'"),
            ({"size": 1, "tags": []}, "spec.tags in body should have at least 1 items"),
            ({"size": 1, "tags": ["a", "b", "c"]}, "spec.tags: Too many: 3: must have at most 2 "
                                                   "items"),
            ({"size": 1, "tags": [1]}, "spec.tags[0]: Invalid value: \"integer\": spec.tags[0] "
                                       "in body must be of type string"),
        ]
        for i, (spec, msg) in enumerate(cases):
            with self.subTest(spec=spec):
                res = self.sim.post(self.p, self.widget("bad-%d" % i, **spec))
                b = self.status_of(res, 422, "Invalid")
                self.assertIn(msg, b["message"])
                self.assertTrue(b["message"].startswith('Widget.test.l2lb.io "bad-%d" is '
                                                        'invalid: ' % i), b["message"])
                self.assertEqual(b["details"]["group"], "test.l2lb.io")
                self.assertEqual(b["details"]["kind"], "Widget")

    def test_transition_rule_self_equals_old_self(self):
        self.ok(self.sim.post(self.p, self.widget("w-imm", size=1, owner="a")), 201)
        self.ok(self.sim.patch(self.p + "/w-imm", {"spec": {"size": 2}}))
        b = self.status_of(self.sim.patch(self.p + "/w-imm", {"spec": {"owner": "b"}}), 422,
                           "Invalid")
        self.assertIn('spec.owner: Invalid value: "string": Value is immutable', b["message"])

    def test_status_subresource(self):
        o = self.ok(self.sim.post(self.p, dict(self.widget("w-st", size=1),
                                               status={"ready": True})), 201)
        self.assertNotIn("status", o)
        o = self.ok(self.sim.patch(self.p + "/w-st/status", {"status": {"ready": True},
                                                             "spec": {"size": 9}}))
        self.assertEqual(o["status"], {"ready": True})
        self.assertEqual(o["spec"]["size"], 1)
        self.assertEqual(o["metadata"]["generation"], 1)
        o = self.ok(self.sim.patch(self.p + "/w-st", {"status": {"ready": False}}))
        self.assertEqual(o["status"], {"ready": True})
        self.status_of(self.sim.patch(self.p + "/w-st/status", {"status": {"ready": "no"}}),
                       422, "Invalid")

    def test_printer_columns(self):
        self.ok(self.sim.post(self.p, self.widget("w-tab", size=7, color="blue",
                                                  tags=["x", "y"])), 201)
        code, _, t = self.sim.get(self.p + "?fieldSelector=metadata.name%3Dw-tab",
                                  headers={"Accept": TABLE})
        self.assertEqual(code, 200, t)
        self.assertEqual([c["name"] for c in t["columnDefinitions"]],
                         ["Name", "Size", "Color", "Tags", "Ready"])
        self.assertEqual(t["rows"][0]["cells"], ["w-tab", 7, "blue", '["x","y"]', None])

    def test_crd_delete_removes_type(self):
        crd = json.loads(json.dumps(WIDGET_CRD))
        crd["metadata"]["name"] = "gadgets.test2.l2lb.io"
        crd["spec"]["group"] = "test2.l2lb.io"
        crd["spec"]["names"] = {"plural": "gadgets", "kind": "Gadget"}
        self.ok(self.sim.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd),
                201)
        p = "/apis/test2.l2lb.io/v1/namespaces/%s/gadgets" % self.ns
        self.ok(self.sim.post(p, {"metadata": {"name": "g"}, "spec": {"size": 1}}), 201)
        w = self.sim.watch(p + "?watch=1&resourceVersion=" +
                           self.ok(self.sim.get(p))["metadata"]["resourceVersion"])
        self.addCleanup(w.close)
        self.ok(self.sim.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                                "gadgets.test2.l2lb.io"))
        e = w.next()
        self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("DELETED", "g"))
        self.assertIsNone(w.next())
        self.status_of(self.sim.get(p), 404, "NotFound")
        self.status_of(self.sim.get("/apis/test2.l2lb.io/v1"), 404, "NotFound")
        self.assertNotIn("test2.l2lb.io", [g["name"] for g in self.ok(self.sim.get(
            "/apis"))["groups"]])

    def test_crd_validation(self):
        crd = json.loads(json.dumps(WIDGET_CRD))
        crd["metadata"]["name"] = "wrong.test.l2lb.io"
        b = self.status_of(self.sim.post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd), 422, "Invalid")
        self.assertIn('must be spec.names.plural+"."+spec.group', b["message"])


# ====================================================================== decoding, leases, events
class DecodeTest(Base):
    L = "/apis/coordination.k8s.io/v1/namespaces/default/leases"

    def test_wrong_json_types_are_400(self):
        b = self.status_of(self.sim.post("/api/v1/namespaces/default/services", svc(
            "dec", ports=[{"port": "80"}])), 400, "BadRequest")
        self.assertEqual(b["message"], 'Service in version "v1" cannot be handled as a Service: '
                         'json: cannot unmarshal string into Go struct field '
                         'Service.spec.ports.port of type int32')
        self.status_of(self.sim.post(self.L, {"metadata": {"name": "x"}, "spec": {
            "leaseDurationSeconds": 1.5}}), 400, "BadRequest")
        self.status_of(self.sim.post("/api/v1/namespaces/default/configmaps", {
            "metadata": {"name": "x", "labels": {"a": 1}}}), 400, "BadRequest")

    def test_unknown_fields_of_builtin_kinds(self):
        p = "/api/v1/namespaces/default/services"
        body = svc("unk", ports=[{"port": 80, "bogus": 1}], loadBalancerIPs="x")
        body["metadata"]["colour"] = "red"
        b = self.status_of(self.sim.post(p + "?fieldValidation=Strict", body), 400, "BadRequest")
        self.assertEqual(b["message"], 'Service in version "v1" cannot be handled as a Service: '
                         'strict decoding error: unknown field "metadata.colour", unknown field '
                         '"spec.ports[0].bogus", unknown field "spec.loadBalancerIPs"')
        code, h, o = self.sim.post(p, body)
        self.assertEqual(code, 201, o)
        self.assertNotIn("loadBalancerIPs", o["spec"])
        self.assertNotIn("bogus", o["spec"]["ports"][0])
        self.assertNotIn("colour", o["metadata"])
        self.assertIn('unknown field \\"spec.loadBalancerIPs\\"', h.get("warning", ""))

    def test_times_parsed_and_normalised(self):
        o = self.ok(self.sim.post(self.L, {"metadata": {"name": "t"}, "spec": {
            "holderIdentity": "a", "leaseDurationSeconds": 15,
            "acquireTime": "2026-01-01T01:00:00.123456+01:00",
            "renewTime": "2026-01-01T00:00:01.000001Z"}}), 201)
        self.assertEqual(o["spec"]["acquireTime"], "2026-01-01T00:00:00.123456Z")
        self.assertEqual(o["spec"]["renewTime"], "2026-01-01T00:00:01.000001Z")
        b = self.status_of(self.sim.post(self.L, {"metadata": {"name": "t2"}, "spec": {
            "renewTime": "2026-01-01T00:00:01Z"}}), 400, "BadRequest")
        self.assertIn('parsing time "2026-01-01T00:00:01Z" as "2006-01-02T15:04:05.000000Z07:00"',
                      b["message"])
        o = self.ok(self.sim.post("/api/v1/nodes", {"metadata": {"name": "tn"}, "status": {
            "conditions": [{"type": "Ready", "status": "True",
                            "lastHeartbeatTime": "2026-01-01T00:00:00.5Z"}]}}), 201)
        self.assertEqual(o["status"]["conditions"][0]["lastHeartbeatTime"],
                         "2026-01-01T00:00:00Z")

    def test_lease_rules(self):
        b = self.status_of(self.sim.post(self.L, {"metadata": {"name": "l0"}, "spec": {
            "leaseDurationSeconds": 0}}), 422, "Invalid")
        self.assertIn("spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
                      b["message"])
        self.status_of(self.sim.post(self.L, {"metadata": {"name": "l1"}, "spec": {
            "leaseTransitions": -1}}), 422, "Invalid")

    def test_events_v1_rules(self):
        p = "/apis/events.k8s.io/v1/namespaces/default/events"
        b = self.status_of(self.sim.post(p, {"metadata": {"name": "e"}}), 422, "Invalid")
        for f in ("eventTime: Required value", "reportingController: Required value",
                  "reportingInstance: Required value", "action: Required value",
                  "reason: Required value", "type: Invalid value"):
            self.assertIn(f, b["message"])

    def test_events_one_store_two_apis(self):
        core = "/api/v1/namespaces/default/events"
        v1 = "/apis/events.k8s.io/v1/namespaces/default/events"
        rv = self.ok(self.sim.get(core))["metadata"]["resourceVersion"]
        w = self.sim.watch(core + "?watch=1&resourceVersion=" + rv)
        self.addCleanup(w.close)
        wv1 = self.sim.watch(v1 + "?watch=1&fieldSelector=regarding.name%3Dweb&resourceVersion="
                             + rv)
        self.addCleanup(wv1.close)
        e = self.ok(self.sim.post(v1, {
            "metadata": {"name": "web.1"}, "eventTime": "2026-01-01T00:00:00.000000Z",
            "type": "Normal", "reason": "IPAllocated", "action": "Allocate",
            "reportingController": "l2lb.io/controller", "reportingInstance": "ctl-1",
            "note": "Assigned IP 192.0.2.200",
            "regarding": {"kind": "Service", "name": "web", "namespace": "default"}}), 201)
        self.assertEqual(e["note"], "Assigned IP 192.0.2.200")
        c = self.ok(self.sim.get(core + "/web.1"))
        self.assertEqual((c["apiVersion"], c["message"], c["involvedObject"]["name"],
                          c["reportingComponent"]),
                         ("v1", "Assigned IP 192.0.2.200", "web", "l2lb.io/controller"))
        self.ok(self.sim.post(core, {"metadata": {"name": "web.2"}, "type": "Warning",
                                     "reason": "NoPool", "message": "no pool",
                                     "involvedObject": {"kind": "Service", "name": "web"},
                                     "source": {"component": "l2lb-controller"}, "count": 3}),
                201)
        g = self.ok(self.sim.get(v1 + "/web.2"))
        self.assertEqual((g["apiVersion"], g["note"], g["regarding"]["name"],
                          g["deprecatedCount"]), ("events.k8s.io/v1", "no pool", "web", 3))
        lst = self.ok(self.sim.get(v1 + "?fieldSelector=regarding.name%3Dweb"))
        self.assertEqual([i["metadata"]["name"] for i in lst["items"]], ["web.1", "web.2"])
        self.assertEqual([w.next()["object"]["apiVersion"] for _ in range(2)], ["v1", "v1"])
        ev = [wv1.next()["object"] for _ in range(2)]
        self.assertEqual([(x["apiVersion"], x["note"]) for x in ev],
                         [("events.k8s.io/v1", "Assigned IP 192.0.2.200"),
                          ("events.k8s.io/v1", "no pool")])
        p = self.ok(self.sim.patch(v1 + "/web.1", {"note": "changed"}))
        self.assertEqual(p["note"], "changed")
        self.assertEqual(self.ok(self.sim.get(core + "/web.1"))["message"], "changed")

    def test_expect_100_continue(self):
        import http.client
        c = self.sim.connect()
        self.addCleanup(c.close)
        body = json.dumps(cm("big", data={"k": "x" * 5000})).encode()
        c.putrequest("POST", "/api/v1/namespaces/default/configmaps")
        c.putheader("Authorization", "Bearer " + self.sim.token)
        c.putheader("Content-Type", "application/json")
        c.putheader("Content-Length", str(len(body)))
        c.putheader("Expect", "100-continue")
        c.endheaders()
        c.sock.settimeout(5)
        first = c.sock.recv(64)
        self.assertTrue(first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), first)
        c.sock.sendall(body)
        buf = first[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        deadline = time.monotonic() + 10
        while b"\r\n\r\n" not in buf and time.monotonic() < deadline:
            buf += c.sock.recv(65536)
        self.assertTrue(buf.startswith(b"HTTP/1.1 201 "), buf[:100])


# ====================================================================== issue 12: services
def ipin(ip, cidr):
    import ipaddress
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)


V4, V6 = "198.19.0.0/16", "2001:db8:ffff::/112"


class ServiceDefaultsTest(Base):
    """What the real API server fills in and checks on Services (dual-stack cluster)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim.post("/api/v1/namespaces", {"metadata": {"name": "svc12"}})
        cls.p = "/api/v1/namespaces/svc12/services"

    def create(self, name, typ="ClusterIP", ports=None, code=201, **spec):
        res = self.sim.post(self.p, svc(name, typ, ports, **spec))
        self.assertEqual(res[0], code, res[2])
        return res[2]

    def test_clusterip_defaults(self):
        s = self.create("d-cip")["spec"]
        self.assertTrue(ipin(s["clusterIP"], V4))
        self.assertEqual(s["clusterIPs"], [s["clusterIP"]])
        self.assertEqual(s["ipFamilies"], ["IPv4"])
        self.assertEqual(s["ipFamilyPolicy"], "SingleStack")
        self.assertEqual(s["sessionAffinity"], "None")
        self.assertEqual(s["internalTrafficPolicy"], "Cluster")
        self.assertNotIn("externalTrafficPolicy", s)
        self.assertEqual(s["ports"], [{"port": 80, "protocol": "TCP", "targetPort": 80}])

    def test_nodeport_and_loadbalancer(self):
        s = self.create("d-np", "NodePort")["spec"]
        self.assertTrue(30000 <= s["ports"][0]["nodePort"] <= 32767)
        self.assertEqual(s["externalTrafficPolicy"], "Cluster")
        s = self.create("d-lb", "LoadBalancer", ports=[{"name": "a", "port": 80},
                                                       {"name": "b", "port": 443}])["spec"]
        nps = [p["nodePort"] for p in s["ports"]]
        self.assertEqual(len(set(nps)), 2)
        self.assertTrue(s["allocateLoadBalancerNodePorts"])
        self.assertNotIn("healthCheckNodePort", s)
        s = self.create("d-lb-nonp", "LoadBalancer", allocateLoadBalancerNodePorts=False)["spec"]
        self.assertNotIn("nodePort", s["ports"][0])
        s = self.create("d-lb-local", "LoadBalancer", externalTrafficPolicy="Local")["spec"]
        self.assertTrue(30000 <= s["healthCheckNodePort"] <= 32767)
        self.assertNotEqual(s["healthCheckNodePort"], s["ports"][0]["nodePort"])
        s = self.create("d-np-req", "NodePort", ports=[{"port": 80, "nodePort": 31999}])["spec"]
        self.assertEqual(s["ports"][0]["nodePort"], 31999)
        s = self.create("d-aff", sessionAffinity="ClientIP")["spec"]
        self.assertEqual(s["sessionAffinityConfig"], {"clientIP": {"timeoutSeconds": 10800}})

    def test_families(self):
        s = self.create("f-prefer", ipFamilyPolicy="PreferDualStack")["spec"]
        self.assertEqual(s["ipFamilies"], ["IPv4", "IPv6"])
        self.assertTrue(ipin(s["clusterIPs"][0], V4) and ipin(s["clusterIPs"][1], V6))
        s = self.create("f-require6", ipFamilyPolicy="RequireDualStack",
                        ipFamilies=["IPv6", "IPv4"])["spec"]
        self.assertTrue(ipin(s["clusterIP"], V6) and ipin(s["clusterIPs"][1], V4))
        s = self.create("f-v6", ipFamilies=["IPv6"])["spec"]
        self.assertEqual((s["ipFamilyPolicy"], len(s["clusterIPs"])), ("SingleStack", 1))
        self.assertTrue(ipin(s["clusterIP"], V6))
        s = self.create("f-headless", ports=[], clusterIP="None", selector={"a": "b"})["spec"]
        self.assertEqual((s["clusterIP"], s["clusterIPs"]), ("None", ["None"]))
        s = self.create("f-ext", "ExternalName", ports=[], externalName="example.com")["spec"]
        for f in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            self.assertNotIn(f, s)
        s = self.create("f-two-ips", clusterIPs=["198.19.250.1", "2001:db8:ffff::fa"])["spec"]
        self.assertEqual(s["ipFamilyPolicy"], "RequireDualStack")
        self.assertEqual(s["ipFamilies"], ["IPv4", "IPv6"])

    # request → (code, text the message must contain)
    INVALID = [
        ("i-noports", "ClusterIP", [], {}, "spec.ports: Required value"),
        ("i-noname", "ClusterIP", [{"port": 80}, {"port": 81}], {},
         "spec.ports[0].name: Required value"),
        ("i-dupname", "ClusterIP", [{"name": "a", "port": 80}, {"name": "a", "port": 81}], {},
         'spec.ports[1].name: Duplicate value: "a"'),
        ("i-port0", "ClusterIP", [{"port": 0}], {},
         "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
        ("i-proto", "ClusterIP", [{"port": 80, "protocol": "ICMP"}], {},
         'spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", '
         '"UDP"'),
        ("i-type", "Foo", None, {}, 'spec.type: Unsupported value: "Foo"'),
        ("i-lbip", "LoadBalancer", None, {"loadBalancerIP": "not-an-ip"},
         'spec.loadBalancerIP: Invalid value: "not-an-ip": must be a valid IP address'),
        ("i-lbclass", "ClusterIP", None, {"loadBalancerClass": "l2lb.io/x"},
         "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"),
        ("i-etp", "ClusterIP", None, {"externalTrafficPolicy": "Local"},
         "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set when `type` is "
         "'NodePort' or 'LoadBalancer'"),
        ("i-np-cip", "ClusterIP", [{"port": 80, "nodePort": 30001}], {},
         "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"),
        ("i-np-range", "NodePort", [{"port": 80, "nodePort": 80}], {},
         "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. "
         "The range of valid ports is 30000-32767"),
        ("i-cip-bad", "ClusterIP", None, {"clusterIP": "abc"},
         'spec.clusterIPs[0]: Invalid value: "abc": must be a valid IP address'),
        ("i-cip-range", "ClusterIP", None, {"clusterIP": "10.0.0.1"},
         "failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. "
         "The range of valid IPs is 198.19.0.0/16"),
        ("i-single-two", "ClusterIP", None, {"ipFamilyPolicy": "SingleStack",
                                             "ipFamilies": ["IPv4", "IPv6"]},
         'spec.ipFamilyPolicy: Invalid value: "SingleStack": must be RequireDualStack or '
         'PreferDualStack when multiple IP families are specified'),
        ("i-fam", "ClusterIP", None, {"ipFamilies": ["IPv5"]},
         'spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"'),
        ("i-pol", "ClusterIP", None, {"ipFamilyPolicy": "Sometimes"},
         'spec.ipFamilyPolicy: Unsupported value: "Sometimes"'),
        ("i-extname", "ExternalName", [], {}, "spec.externalName: Required value"),
        ("i-dupport", "ClusterIP", [{"name": "a", "port": 80}, {"name": "b", "port": 80}], {},
         "spec.ports[1]: Duplicate value"),
        ("i-dupnp", "NodePort", [{"name": "a", "port": 80, "nodePort": 30555},
                                 {"name": "b", "port": 81, "nodePort": 30555}], {},
         "spec.ports[1].nodePort: Duplicate value: 30555"),
        ("i-lbsr", "LoadBalancer", None, {"loadBalancerSourceRanges": ["10.0.0.0/8", "x"]},
         'spec.loadBalancerSourceRanges[1]: Invalid value: "x": must be a list of IP ranges'),
    ]

    def test_invalid_table(self):
        for name, typ, ports, spec, msg in self.INVALID:
            with self.subTest(case=name):
                b = self.status_of(self.sim.post(self.p, svc(name, typ, ports, **spec)), 422,
                                   "Invalid")
                self.assertIn(msg, b["message"])
                self.assertTrue(b["message"].startswith('Service "%s" is invalid: ' % name))
                self.status_of(self.sim.get(self.p + "/" + name), 404, "NotFound")

    def test_requested_ip_and_port_taken_then_freed(self):
        self.create("t-a", clusterIP="198.19.200.7")
        b = self.status_of(self.sim.post(self.p, svc("t-b", clusterIP="198.19.200.7")), 422,
                           "Invalid")
        self.assertIn("failed to allocate IP 198.19.200.7: provided IP is already allocated",
                      b["message"])
        self.create("t-np", "NodePort", ports=[{"port": 80, "nodePort": 32100}])
        b = self.status_of(self.sim.post(self.p, svc("t-np2", "NodePort", ports=[
            {"port": 80, "nodePort": 32100}])), 422, "Invalid")
        self.assertIn("spec.ports[0].nodePort: Invalid value: 32100: provided port is already "
                      "allocated", b["message"])
        self.ok(self.sim.delete(self.p + "/t-a"))
        self.ok(self.sim.delete(self.p + "/t-np"))
        self.create("t-b", clusterIP="198.19.200.7")
        self.create("t-np2", "NodePort", ports=[{"port": 80, "nodePort": 32100}])
        # a failed create (dry run, or a name that exists) does not keep what it allocated
        self.ok(self.sim.post(self.p + "?dryRun=All", svc("t-dry", clusterIP="198.19.200.8")),
                201)
        self.status_of(self.sim.post(self.p, svc("t-b", clusterIP="198.19.200.9")), 409,
                       "AlreadyExists")
        self.create("t-c", clusterIP="198.19.200.8")
        self.create("t-d", clusterIP="198.19.200.9")

    def test_update_rules(self):
        o = self.create("u-a", "LoadBalancer", loadBalancerClass="l2lb.io/one")
        ip = o["spec"]["clusterIP"]
        np_ = o["spec"]["ports"][0]["nodePort"]
        # a PUT that leaves out the allocated values keeps them
        body = svc("u-a", "LoadBalancer", loadBalancerClass="l2lb.io/one")
        body["metadata"]["resourceVersion"] = o["metadata"]["resourceVersion"]
        o2 = self.ok(self.sim.put(self.p + "/u-a", body))
        self.assertEqual(o2["spec"]["clusterIP"], ip)
        self.assertEqual(o2["spec"]["ports"][0]["nodePort"], np_)
        b = self.status_of(self.sim.patch(self.p + "/u-a", {"spec": {
            "clusterIP": "198.19.201.1", "clusterIPs": ["198.19.201.1"]}}), 422, "Invalid")
        self.assertIn("spec.clusterIPs[0]: Invalid value: [\"198.19.201.1\"]: may not change "
                      "once set", b["message"])
        b = self.status_of(self.sim.patch(self.p + "/u-a", {"spec": {
            "loadBalancerClass": "l2lb.io/two"}}), 422, "Invalid")
        self.assertIn('spec.loadBalancerClass: Invalid value: "l2lb.io/two": may not change '
                      'once set', b["message"])
        # LoadBalancer -> ClusterIP drops node ports; -> ExternalName frees the cluster IP
        o3 = self.ok(self.sim.patch(self.p + "/u-a", {"spec": {"type": "ClusterIP",
                                                               "loadBalancerClass": None}}))
        self.assertNotIn("nodePort", o3["spec"]["ports"][0])
        self.assertNotIn("externalTrafficPolicy", o3["spec"])
        self.assertNotIn("allocateLoadBalancerNodePorts", o3["spec"])
        self.create("u-np", "NodePort", ports=[{"port": 80, "nodePort": np_}])
        o4 = self.ok(self.sim.patch(self.p + "/u-a", {"spec": {"type": "ExternalName",
                                                               "externalName": "a.example"}}))
        self.assertNotIn("clusterIP", o4["spec"])
        self.assertNotIn("ipFamilies", o4["spec"])
        self.create("u-b", clusterIP=ip)

    def test_status_rules(self):
        self.create("s-lb", "LoadBalancer")
        self.create("s-cip")
        sp = self.p + "/s-lb/status"
        o = self.ok(self.sim.patch(sp, {"status": {"loadBalancer": {"ingress": [
            {"ip": "192.0.2.200"}, {"ip": "2001:db8::200", "ipMode": "Proxy"}]}}}))
        ing = o["status"]["loadBalancer"]["ingress"]
        self.assertEqual([i["ipMode"] for i in ing], ["VIP", "Proxy"])
        cases = [
            ({"ip": "192.0.2.300"}, 'status.loadBalancer.ingress[0].ip: Invalid value: '
                                    '"192.0.2.300": must be a valid IP address'),
            ({"ip": "192.0.2.1", "ipMode": "Bogus"}, 'status.loadBalancer.ingress[0].ipMode: '
                                                     'Unsupported value: "Bogus"'),
            ({"hostname": "x.example", "ipMode": "VIP"}, "status.loadBalancer.ingress[0].ipMode: "
                                                         "Forbidden"),
        ]
        for ing, msg in cases:
            with self.subTest(ingress=ing):
                b = self.status_of(self.sim.patch(sp, {"status": {"loadBalancer": {
                    "ingress": [ing]}}}), 422, "Invalid")
                self.assertIn(msg, b["message"])
        ok_cond = {"type": "l2lb.io/Announced", "status": "True", "reason": "Elected",
                   "message": "node-a", "lastTransitionTime": "2026-01-01T00:00:00Z"}
        o = self.ok(self.sim.patch(sp, {"status": {"conditions": [ok_cond]}}))
        self.assertEqual(o["status"]["conditions"], [ok_cond])
        for bad, msg in [({"status": "Yes"}, 'status.conditions[0].status: Unsupported value: '
                                             '"Yes"'),
                         ({"reason": "not ok"}, 'status.conditions[0].reason: Invalid value: '
                                                '"not ok": a condition reason must start'),
                         ({"lastTransitionTime": None}, "status.conditions[0]."
                                                        "lastTransitionTime: Required value")]:
            with self.subTest(condition=bad):
                b = self.status_of(self.sim.patch(sp, {"status": {"conditions": [
                    dict(ok_cond, **bad)]}}), 422, "Invalid")
                self.assertIn(msg, b["message"])
        b = self.status_of(self.sim.patch(self.p + "/s-cip/status", {"status": {"loadBalancer": {
            "ingress": [{"ip": "192.0.2.5"}]}}}), 422, "Invalid")
        self.assertIn("may only be used when `spec.type` is 'LoadBalancer'", b["message"])


class SingleStackTest(Base):
    extra = ("--service-cidr", "198.18.0.0/24")

    def test_single_stack_cluster(self):
        p = "/api/v1/namespaces/default/services"
        b = self.status_of(self.sim.post(p, svc("a", ipFamilyPolicy="RequireDualStack")), 422,
                           "Invalid")
        self.assertIn('spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is '
                      'not configured for dual-stack services', b["message"])
        b = self.status_of(self.sim.post(p, svc("b", ipFamilies=["IPv6"])), 422, "Invalid")
        self.assertIn('spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this '
                      'cluster', b["message"])
        s = self.ok(self.sim.post(p, svc("c", ipFamilyPolicy="PreferDualStack")), 201)["spec"]
        self.assertEqual(s["ipFamilies"], ["IPv4"])
        self.assertEqual(s["ipFamilyPolicy"], "PreferDualStack")
        self.assertTrue(ipin(s["clusterIP"], "198.18.0.0/24"))
        k = self.ok(self.sim.get(p + "/kubernetes"))
        self.assertEqual(k["spec"]["clusterIP"], "198.18.0.1")


# ====================================================================== issue 12: slices, nodes
class EndpointSliceNodeTest(Base):
    P = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"

    def eps(self, name, at="IPv4", endpoints=None, ports=None):
        b = {"metadata": {"name": name}, "endpoints": endpoints or []}
        if at is not None:
            b["addressType"] = at
        if ports is not None:
            b["ports"] = ports
        return b

    def test_rules(self):
        cases = [
            (self.eps("e1", None), "addressType: Required value"),
            (self.eps("e2", "IPv5"), 'addressType: Unsupported value: "IPv5"'),
            (self.eps("e3", "IPv4", [{"addresses": ["2001:db8::1"]}]),
             'endpoints[0].addresses[0]: Invalid value: "2001:db8::1": must be a valid IPv4 '
             'address'),
            (self.eps("e4", "IPv6", [{"addresses": ["192.0.2.1"]}]),
             "must be a valid IPv6 address"),
            (self.eps("e5", "IPv4", [{"addresses": []}]), "endpoints[0].addresses: Required value"),
            (self.eps("e6", "IPv4", [{"addresses": ["192.0.2.1"]}] * 1001),
             "endpoints: Too many: 1001: must have at most 1000 items"),
            (self.eps("e7", "IPv4", [], [{"name": "p%d" % i, "port": 80} for i in range(101)]),
             "ports: Too many: 101: must have at most 100 items"),
        ]
        for body, msg in cases:
            with self.subTest(name=body["metadata"]["name"]):
                b = self.status_of(self.sim.post(self.P, body), 422, "Invalid")
                self.assertIn(msg, b["message"])
        o = self.ok(self.sim.post(self.P, self.eps("ok", "IPv4", [
            {"addresses": ["192.0.2.1"]},
            {"addresses": ["192.0.2.2"], "conditions": {"ready": False}}],
            [{"name": "http", "port": 80, "protocol": "TCP"}])), 201)
        self.assertNotIn("conditions", o["endpoints"][0])   # not defaulted
        self.assertEqual(o["metadata"]["generation"], 1)
        o2 = self.ok(self.sim.patch(self.P + "/ok", {"metadata": {"labels": {
            "kubernetes.io/service-name": "web"}}}))
        self.assertEqual(o2["metadata"]["generation"], 2)
        self.assertEqual(o["endpoints"][1]["conditions"], {"ready": False})
        b = self.status_of(self.sim.patch(self.P + "/ok", {"addressType": "IPv6"}), 422, "Invalid")
        self.assertIn('addressType: Invalid value: "IPv6": field is immutable', b["message"])

    def test_endpoints_rules(self):
        p = "/api/v1/namespaces/default/endpoints"
        b = self.status_of(self.sim.post(p, {"metadata": {"name": "ep1"}, "subsets": [{
            "addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 80}]}]}), 422, "Invalid")
        self.assertIn('subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in '
                      'the loopback range', b["message"])
        o = self.ok(self.sim.post(p, {"metadata": {"name": "ep2"}, "subsets": [{
            "addresses": [{"ip": "192.0.2.5"}], "ports": [{"port": 80}]}]}), 201)
        self.assertEqual(o["subsets"][0]["ports"][0]["protocol"], "TCP")

    def test_nodes_stored_as_sent(self):
        node = {"metadata": {"name": "node-a", "labels": {"kubernetes.io/hostname": "node-a"}},
                "spec": {"unschedulable": True},
                "status": {"conditions": [{"type": "Ready", "status": "False",
                                           "reason": "KubeletNotReady"}],
                           "addresses": [{"type": "InternalIP", "address": "192.0.2.11"},
                                         {"type": "InternalIP", "address": "2001:db8::11"}]}}
        o = self.ok(self.sim.post("/api/v1/nodes", node), 201)
        self.assertNotIn("namespace", o["metadata"])
        self.assertEqual(o["spec"], node["spec"])
        self.assertEqual(o["status"], node["status"])
        self.status_of(self.sim.get("/api/v1/namespaces/default/nodes/node-a"), 404, "NotFound")
        b = self.status_of(self.sim.post("/api/v1/nodes", {"metadata": {
            "name": "node-b", "labels": {"kubernetes.io/hostname": "bad value"}}}), 422, "Invalid")
        self.assertIn('metadata.labels: Invalid value: "bad value"', b["message"])
        # status is only changed through /status for an existing node
        o["status"]["conditions"][0]["status"] = "True"
        o2 = self.ok(self.sim.put("/api/v1/nodes/node-a", o))
        self.assertEqual(o2["status"]["conditions"][0]["status"], "False")
        o3 = self.ok(self.sim.put("/api/v1/nodes/node-a/status", o))
        self.assertEqual(o3["status"]["conditions"][0]["status"], "True")


class RBACValidationTest(Base):
    RB = "/apis/rbac.authorization.k8s.io/v1"

    def test_rules_and_bindings(self):
        ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"}
        cases = [
            (self.RB + "/clusterroles", {"metadata": {"name": "a"}, "rules": [
                {"apiGroups": [""], "resources": ["services"]}]},
             "rules[0].verbs: Required value: verbs must contain at least one value"),
            (self.RB + "/clusterroles", {"metadata": {"name": "b"}, "rules": [
                {"resources": ["services"], "verbs": ["get"]}]},
             "rules[0].apiGroups: Required value: resource rules must supply at least one api "
             "group"),
            (self.RB + "/namespaces/default/roles", {"metadata": {"name": "c"}, "rules": [
                {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]},
             "namespaced rules cannot apply to non-resource URLs"),
            (self.RB + "/clusterrolebindings", {"metadata": {"name": "d"}, "roleRef": ref,
                                               "subjects": [{"kind": "ServiceAccount",
                                                             "name": "speaker"}]},
             "subjects[0].namespace: Required value"),
            (self.RB + "/clusterrolebindings", {"metadata": {"name": "e"}, "roleRef": dict(
                ref, kind="Role"), "subjects": []},
             'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"'),
            (self.RB + "/clusterrolebindings", {"metadata": {"name": "f"}, "roleRef": ref,
                                               "subjects": [{"kind": "User", "name": "bob",
                                                             "apiGroup": "x.io"}]},
             'subjects[0].apiGroup: Unsupported value: "x.io": supported values: '
             '"rbac.authorization.k8s.io"'),
        ]
        for path, body, msg in cases:
            with self.subTest(name=body["metadata"]["name"]):
                b = self.status_of(self.sim.post(path, body), 422, "Invalid")
                self.assertIn(msg, b["message"])
        o = self.ok(self.sim.post(self.RB + "/clusterrolebindings", {
            "metadata": {"name": "h"}, "roleRef": {"kind": "ClusterRole", "name": "r"},
            "subjects": [{"kind": "Group", "name": "ops"}]}), 201)
        self.assertEqual(o["roleRef"]["apiGroup"], "rbac.authorization.k8s.io")
        self.assertEqual(o["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io")
        o = self.ok(self.sim.post(self.RB + "/namespaces/default/rolebindings", {
            "metadata": {"name": "g"}, "roleRef": ref,
            "subjects": [{"kind": "ServiceAccount", "name": "speaker"}]}), 201)
        b = self.status_of(self.sim.patch(self.RB + "/namespaces/default/rolebindings/g", {
            "roleRef": {"name": "other"}}), 422, "Invalid")
        self.assertIn("roleRef: Invalid value", b["message"])
        self.assertIn("cannot change roleRef", b["message"])


class WorkloadTest(Base):
    P = "/apis/apps/v1/namespaces/default/"

    def body(self, name, sel=None, labels=None, containers=None, **spec):
        s = {"selector": {"matchLabels": {"app": name}} if sel is None else sel,
             "template": {"metadata": {"labels": {"app": name} if labels is None else labels},
                          "spec": {"containers": [{"name": "c", "image": "l2lb:1"}]
                                   if containers is None else containers}}}
        s.update(spec)
        return {"metadata": {"name": name}, "spec": s}

    def test_defaults(self):
        d = self.ok(self.sim.post(self.P + "deployments", self.body(
            "ctl", containers=[{"name": "c", "image": "l2lb", "ports": [
                {"containerPort": 7472}]}])), 201)["spec"]
        self.assertEqual(d["replicas"], 1)
        self.assertEqual(d["strategy"], {"type": "RollingUpdate", "rollingUpdate": {
            "maxUnavailable": "25%", "maxSurge": "25%"}})
        self.assertEqual((d["revisionHistoryLimit"], d["progressDeadlineSeconds"]), (10, 600))
        ps = d["template"]["spec"]
        self.assertEqual((ps["restartPolicy"], ps["dnsPolicy"], ps["schedulerName"],
                          ps["terminationGracePeriodSeconds"]),
                         ("Always", "ClusterFirst", "default-scheduler", 30))
        c = ps["containers"][0]
        self.assertEqual((c["imagePullPolicy"], c["ports"][0]["protocol"]), ("Always", "TCP"))
        ds = self.ok(self.sim.post(self.P + "daemonsets", self.body(
            "spk", hostNetwork=True)), 201)["spec"]
        self.assertEqual(ds["updateStrategy"], {"type": "RollingUpdate", "rollingUpdate": {
            "maxUnavailable": 1, "maxSurge": 0}})
        self.assertEqual(ds["template"]["spec"]["containers"][0]["imagePullPolicy"],
                         "IfNotPresent")

    def test_validation(self):
        cases = [
            (self.body("v1", sel={}), "spec.selector: Required value"),
            (self.body("v2", labels={"app": "other"}),
             "spec.template.metadata.labels: Invalid value: {\"app\":\"other\"}: `selector` "
             "does not match template `labels`"),
            (self.body("v3", containers=[]), "spec.template.spec.containers: Required value"),
            (self.body("v4", containers=[{"name": "c"}]),
             "spec.template.spec.containers[0].image: Required value"),
        ]
        for kind in ("deployments", "daemonsets"):
            for body, msg in cases:
                with self.subTest(kind=kind, name=body["metadata"]["name"]):
                    b = self.status_of(self.sim.post(self.P + kind, body), 422, "Invalid")
                    self.assertIn(msg, b["message"])
        self.ok(self.sim.post(self.P + "daemonsets", self.body("imm")), 201)
        b = self.status_of(self.sim.patch(self.P + "daemonsets/imm", {"spec": {
            "selector": {"matchLabels": {"app": "imm", "x": "y"}},
            "template": {"metadata": {"labels": {"app": "imm", "x": "y"}}}}}), 422, "Invalid")
        self.assertIn("spec.selector: Invalid value", b["message"])
        self.assertIn("field is immutable", b["message"])


class ConfigDataTest(Base):
    def test_configmap_and_secret_rules(self):
        p = "/api/v1/namespaces/default/"
        b = self.status_of(self.sim.post(p + "configmaps", cm("k", data={"bad key": "x"})), 422,
                           "Invalid")
        self.assertIn('data[bad key]: Invalid value: "bad key": a valid config key', b["message"])
        s = self.ok(self.sim.post(p + "secrets", {"metadata": {"name": "s"},
                                                  "stringData": {"token": "abc"},
                                                  "data": {"ca": "eA=="}}), 201)
        self.assertEqual(s["data"], {"ca": "eA==", "token": "YWJj"})
        self.assertEqual(s["type"], "Opaque")
        self.assertNotIn("stringData", s)
        self.status_of(self.sim.post(p + "secrets", {"metadata": {"name": "s2"},
                                                     "data": {"a": "not base64!"}}),
                       400, "BadRequest")
        self.ok(self.sim.post(p + "configmaps", dict(cm("imm"), immutable=True)), 201)
        b = self.status_of(self.sim.patch(p + "configmaps/imm", {"data": {"k": "new"}}), 422,
                           "Invalid")
        self.assertIn("data: Forbidden: field is immutable when `immutable` is set",
                      b["message"])
        self.ok(self.sim.patch(p + "configmaps/imm", {"metadata": {"labels": {"a": "b"}}}))


class OpenAPITest(Base):
    def test_v3_root_and_custom_schema(self):
        self.ok(self.sim.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                              WIDGET_CRD), 201)
        root = self.ok(self.sim.get("/openapi/v3"))
        url = root["paths"]["apis/test.l2lb.io/v1"]["serverRelativeURL"]
        self.assertIn("api/v1", root["paths"])
        doc = self.ok(self.sim.get(url))
        sch = doc["components"]["schemas"]["io.l2lb.test.v1.Widget"]
        self.assertEqual(sch["x-kubernetes-group-version-kind"],
                         [{"group": "test.l2lb.io", "version": "v1", "kind": "Widget"}])
        self.assertIn("size", sch["properties"]["spec"]["properties"])
        self.status_of(self.sim.get("/openapi/v2"), 404, "NotFound")


# ====================================================================== faults, admin, state
class FaultTest(Base):
    def tearDown(self):
        self.sim.request("DELETE", "/kubesim/faults")

    def test_close_watches(self):
        w = self.sim.watch("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=" +
                           self.ok(self.sim.get("/api/v1/configmaps"))["metadata"][
                               "resourceVersion"])
        self.addCleanup(w.close)
        wait_for(lambda: self.ok(self.sim.admin("GET", "stats"))["openWatches"] >= 1,
                 what="watch registered")
        r = self.ok(self.sim.admin("POST", "close-watches"))
        self.assertGreaterEqual(r["closed"], 1)
        self.assertIsNone(w.next())

    def test_error_fraction_500_and_429(self):
        self.ok(self.sim.admin("POST", "faults", {"errorRate": 1.0, "errorCode": 500}))
        self.status_of(self.sim.get("/api/v1/namespaces"), 500, "InternalError")
        self.ok(self.sim.admin("POST", "faults", {"errorRate": 1.0, "errorCode": 429,
                                                  "retryAfter": 3}))
        res = self.sim.get("/api/v1/namespaces")
        self.status_of(res, 429, "TooManyRequests")
        self.assertEqual(res[1]["retry-after"], "3")
        self.assertEqual(res[2]["details"]["retryAfterSeconds"], 3)
        self.ok(self.sim.admin("POST", "faults", {"errorRate": 0.5, "errorCode": 500}))
        codes = [self.sim.get("/api/v1/namespaces/default")[0] for _ in range(200)]
        self.assertTrue(40 < codes.count(500) < 160, codes.count(500))
        self.ok(self.sim.admin("POST", "faults", {"errorRate": 1.0, "errorCode": 500,
                                                  "verbs": ["create"]}))
        self.ok(self.sim.get("/api/v1/namespaces/default"))

    def test_latency(self):
        self.ok(self.sim.admin("POST", "faults", {"latencyMs": 300}))
        t0 = time.monotonic()
        self.ok(self.sim.get("/api/v1/namespaces/default"))
        self.assertGreaterEqual(time.monotonic() - t0, 0.29)

    def test_watch_latency(self):
        p = "/api/v1/namespaces/default/configmaps"
        w = self.sim.watch(p + "?watch=1&resourceVersion=" +
                           self.ok(self.sim.get(p))["metadata"]["resourceVersion"])
        self.addCleanup(w.close)
        wait_for(lambda: self.ok(self.sim.admin("GET", "stats"))["openWatches"] >= 1,
                 what="watch registered")
        self.ok(self.sim.admin("POST", "faults", {"watchLatencyMs": 400}))
        t0 = time.monotonic()
        self.ok(self.sim.post(p, cm("lagged")), 201)
        self.ok(self.sim.delete(p + "/lagged"))
        e1, e2 = w.next(), w.next()
        self.assertGreaterEqual(time.monotonic() - t0, 0.39)
        self.assertEqual([e1["type"], e2["type"]], ["ADDED", "DELETED"])

    def test_compact_gives_410(self):
        self.mkns("f-compact")
        p = NS + "/f-compact/configmaps"
        o = self.ok(self.sim.post(p, cm("a")), 201)
        self.ok(self.sim.post(p, cm("b")), 201)
        self.ok(self.sim.admin("POST", "compact", {"keep": 0}))
        w = self.sim.watch(p + "?watch=1&resourceVersion=" + o["metadata"]["resourceVersion"])
        self.addCleanup(w.close)
        self.assertEqual(w.status, 200)
        e = w.next()
        self.assertEqual(e["type"], "ERROR")
        st = e["object"]
        self.assertEqual((st["kind"], st["code"], st["reason"], st["status"]),
                         ("Status", 410, "Expired", "Failure"))
        self.assertRegex(st["message"], r"^too old resource version: \d+ \(\d+\)$")
        self.assertIsNone(w.next())
        # a fresh list and watch from its RV works again
        rv = self.ok(self.sim.get(p))["metadata"]["resourceVersion"]
        w2 = self.sim.watch(p + "?watch=1&resourceVersion=" + rv)
        self.addCleanup(w2.close)
        self.ok(self.sim.post(p, cm("c")), 201)
        self.assertEqual(w2.next()["type"], "ADDED")

    def test_history_bound(self):
        sim = Sim("--history", "5")
        self.addCleanup(sim.stop)
        o = sim.post("/api/v1/namespaces/default/configmaps", cm("h0"))[2]
        for i in range(1, 10):
            sim.post("/api/v1/namespaces/default/configmaps", cm("h%d" % i))
        w = sim.watch("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=" +
                      o["metadata"]["resourceVersion"])
        self.addCleanup(w.close)
        self.assertEqual(w.next()["type"], "ERROR")

    def test_outage_refuses_connections(self):
        sim = Sim("--admin", "127.0.0.1:0")
        self.addCleanup(sim.stop)
        w = sim.watch("/api/v1/namespaces/default/configmaps?watch=1")
        self.addCleanup(w.close)
        import http.client
        import urllib.parse
        a = urllib.parse.urlparse(sim.admin_url)
        c = http.client.HTTPConnection(a.hostname, a.port, timeout=10)
        c.request("POST", "/kubesim/outage", body=json.dumps({"seconds": 3}))
        self.assertEqual(c.getresponse().status, 200)
        c.close()
        wait_for(lambda: port_refuses(sim.host, sim.port), what="listener closed")
        # the open watch was cut
        ended = False
        for _ in range(1000):
            try:
                if w.next(timeout=5) is None:
                    ended = True
                    break
            except (OSError, http.client.HTTPException, ValueError):
                ended = True
                break
        self.assertTrue(ended)
        wait_for(lambda: not port_refuses(sim.host, sim.port), timeout=10,
                 what="listener back")
        sim._conn = None
        self.assertEqual(sim.get("/api/v1/namespaces")[0], 200)

    def test_counters_and_request_log(self):
        self.ok(self.sim.admin("POST", "stats/reset"))
        self.ok(self.sim.get("/api/v1/namespaces/default/services"))
        self.ok(self.sim.get("/api/v1/namespaces/default/services/kubernetes"))
        self.ok(self.sim.get("/apis/coordination.k8s.io/v1/namespaces/default/leases"))
        st = self.ok(self.sim.admin("GET", "stats"))
        self.assertEqual(st["byVerbResource"].get("list services"), 1)
        self.assertEqual(st["byVerbResource"].get("get services"), 1)
        self.assertEqual(st["byVerbResource"].get("list leases.coordination.k8s.io"), 1)
        self.assertEqual(st["byVerb"]["list"], 2)
        self.assertEqual(st["total"], 3)

        def logged():
            with open(self.sim.reqlog) as f:
                lines = [json.loads(x) for x in f if x.strip()]
            return [x for x in lines if x["path"] == "/api/v1/namespaces/default/services/"
                    "kubernetes"]
        ent = wait_for(logged, what="request log line")[-1]
        self.assertEqual(ent["verb"], "get")
        self.assertEqual(ent["code"], 200)
        self.assertEqual(ent["userAgent"], "kubesim-test/1")
        self.assertEqual(ent["resource"], "services")
        self.assertRegex(ent["time"], r"^\d{4}-\d\d-\d\dT")


class TokenFileTest(unittest.TestCase):
    def test_token_file_users_in_request_log(self):
        import tempfile
        import shutil
        d = tempfile.mkdtemp(prefix="kubesim-tok-")
        self.addCleanup(shutil.rmtree, d, True)
        tf = os.path.join(d, "tokens.csv")
        with open(tf, "w") as f:
            f.write('tok-ctl,system:serviceaccount:l2lb:controller,1\n'
                    'tok-spk,system:serviceaccount:l2lb:speaker,2,"system:serviceaccounts"\n')
        sim = Sim("--token-file", tf, token=None, tmp=d)
        self.addCleanup(sim.stop)
        self.assertEqual(sim.get("/api/v1/services", token="tok-ctl")[0], 200)
        self.assertEqual(sim.get("/api/v1/nodes", token="tok-spk")[0], 200)
        self.assertEqual(sim.get("/api/v1/nodes", token="nope")[0], 401)

        def users():
            with open(sim.reqlog) as f:
                return [(x["user"], x["resource"], x["code"]) for x in map(json.loads, f)
                        if x.get("resource")]
        got = wait_for(lambda: len(users()) >= 3 and users(), what="log lines")
        self.assertEqual(got, [("system:serviceaccount:l2lb:controller", "services", 200),
                               ("system:serviceaccount:l2lb:speaker", "nodes", 200),
                               ("", "nodes", 401)])


class MiscTest(Base):
    def test_namespace_status_and_finalize(self):
        self.mkns("ns-sub")
        o = self.ok(self.sim.get("/api/v1/namespaces/ns-sub/status"))
        self.assertEqual(o["status"], {"phase": "Active"})
        self.assertEqual(o["spec"], {"finalizers": ["kubernetes"]})
        self.assertEqual(o["metadata"]["labels"], {"kubernetes.io/metadata.name": "ns-sub"})
        o["spec"]["finalizers"] = []
        o = self.ok(self.sim.put("/api/v1/namespaces/ns-sub/finalize", o))
        self.assertEqual(o["spec"]["finalizers"], [])

    def test_too_large_resource_version(self):
        b = self.status_of(self.sim.get("/api/v1/configmaps?resourceVersion=999999999"), 504,
                           "Timeout")
        self.assertIn("Too large resource version", b["message"])
        b = self.status_of(self.sim.get("/api/v1/configmaps?watch=1&resourceVersion=999999999"),
                           504, "Timeout")

    def test_events_table(self):
        self.ok(self.sim.post("/api/v1/namespaces/default/events", {
            "metadata": {"name": "ev1"}, "involvedObject": {"kind": "Service", "name": "web",
                                                            "namespace": "default"},
            "reason": "IPAllocated", "message": "Assigned IP", "type": "Normal",
            "source": {"component": "l2lb-controller"},
            "lastTimestamp": "2026-01-01T00:00:00Z", "count": 2}), 201)
        code, _, t = self.sim.get("/api/v1/namespaces/default/events",
                                  headers={"Accept": TABLE})
        self.assertEqual([c["name"] for c in t["columnDefinitions"]][:4],
                         ["Last Seen", "Type", "Reason", "Object"])
        row = t["rows"][0]["cells"]
        self.assertEqual(row[1:4], ["Normal", "IPAllocated", "service/web"])
        self.assertEqual(row[6], "Assigned IP")
        b = self.status_of(self.sim.post("/api/v1/namespaces/default/events", {
            "metadata": {"name": "ev2"}, "involvedObject": {"kind": "Service", "name": "web",
                                                            "namespace": "other"}}),
            422, "Invalid")
        self.assertIn("involvedObject.namespace", b["message"])


class RBACTest(unittest.TestCase):
    """--authorize: RBAC from stored roles and bindings, users from the token file."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.tmp = tempfile.mkdtemp(prefix="kubesim-rbac-")
        tf = os.path.join(cls.tmp, "tokens.csv")
        with open(tf, "w") as f:
            f.write("tok-spk,system:serviceaccount:l2lb:speaker,1\n"
                    "tok-ops,alice,2,\"ops,other\"\n")
        import shutil
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.sim = Sim("--token-file", tf, "--authorize", tmp=cls.tmp)
        cls.addClassCleanup(cls.sim.stop)
        s = cls.sim
        rb = "/apis/rbac.authorization.k8s.io/v1"
        for path, body in [
            ("/api/v1/namespaces", {"metadata": {"name": "l2lb"}}),
            ("/api/v1/namespaces", {"metadata": {"name": "other"}}),
            (rb + "/clusterroles", {"metadata": {"name": "l2lb:speaker"}, "rules": [
                {"apiGroups": [""], "resources": ["services", "nodes"],
                 "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["services/status"], "verbs": ["patch"]}]}),
            (rb + "/clusterrolebindings", {"metadata": {"name": "l2lb:speaker"},
                                           "roleRef": {"apiGroup": rb[6:-3], "kind": "ClusterRole",
                                                       "name": "l2lb:speaker"},
                                           "subjects": [{"kind": "ServiceAccount",
                                                         "name": "speaker",
                                                         "namespace": "l2lb"}]}),
            (rb + "/namespaces/l2lb/roles", {"metadata": {"name": "leases"}, "rules": [
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                 "verbs": ["get", "update", "watch", "list"], "resourceNames": ["l2lb-a"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                 "verbs": ["create"]}]}),
            (rb + "/namespaces/l2lb/rolebindings", {"metadata": {"name": "leases"},
                                                    "roleRef": {"apiGroup": rb[6:-3],
                                                                "kind": "Role", "name": "leases"},
                                                    "subjects": [{"kind": "ServiceAccount",
                                                                  "name": "speaker"}]}),
            (rb + "/clusterroles", {"metadata": {"name": "cm-reader"}, "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}),
            (rb + "/namespaces/other/rolebindings", {"metadata": {"name": "ops"},
                                                     "roleRef": {"apiGroup": rb[6:-3],
                                                                 "kind": "ClusterRole",
                                                                 "name": "cm-reader"},
                                                     "subjects": [{"kind": "Group",
                                                                   "name": "ops"}]}),
            ("/api/v1/namespaces/default/services", svc("web", "LoadBalancer")),
            ("/api/v1/namespaces/other/configmaps", cm("c")),
        ]:
            code, _, b = s.post(path, body)
            assert code == 201, (path, b)

    def test_allowed_and_forbidden(self):
        s = self.sim
        self.assertEqual(s.get("/api/v1/services", token="tok-spk")[0], 200)
        self.assertEqual(s.get("/api", token="tok-spk")[0], 200)
        self.assertEqual(s.get("/apis/coordination.k8s.io/v1", token="tok-spk")[0], 200)
        code, _, b = s.post("/api/v1/namespaces/default/services", svc("x"), token="tok-spk")
        self.assertEqual(code, 403, b)
        self.assertEqual(b["reason"], "Forbidden")
        self.assertEqual(b["message"], 'services is forbidden: User "system:serviceaccount:l2lb:'
                         'speaker" cannot create resource "services" in API group "" in the '
                         'namespace "default"')
        code, _, b = s.patch("/api/v1/namespaces/default/services/web/status", {"status": {
            "loadBalancer": {"ingress": [{"ip": "192.0.2.200"}]}}}, token="tok-spk")
        self.assertEqual(code, 200, b)
        code, _, b = s.patch("/api/v1/namespaces/default/services/web", {"metadata": {
            "labels": {"a": "b"}}}, token="tok-spk")
        self.assertEqual(code, 403, b)
        self.assertIn('cannot patch resource "services" in API group ""', b["message"])
        code, _, b = s.get("/apis/coordination.k8s.io/v1/namespaces/l2lb/leases/other",
                           token="tok-spk")
        self.assertEqual(code, 403, b)
        self.assertEqual(b["message"], 'leases.coordination.k8s.io "other" is forbidden: User '
                         '"system:serviceaccount:l2lb:speaker" cannot get resource "leases" in '
                         'API group "coordination.k8s.io" in the namespace "l2lb"')
        code, _, b = s.post("/apis/coordination.k8s.io/v1/namespaces/l2lb/leases",
                            {"metadata": {"name": "l2lb-a"}, "spec": {}}, token="tok-spk")
        self.assertEqual(code, 201, b)
        self.assertEqual(s.get("/apis/coordination.k8s.io/v1/namespaces/l2lb/leases/l2lb-a",
                               token="tok-spk")[0], 200)
        self.assertEqual(s.get("/apis/coordination.k8s.io/v1/namespaces/default/leases/l2lb-a",
                               token="tok-spk")[0], 403)
        self.assertEqual(s.get("/apis/coordination.k8s.io/v1/namespaces/l2lb/leases",
                               token="tok-spk")[0], 403)
        self.assertEqual(s.get("/apis/coordination.k8s.io/v1/namespaces/l2lb/leases?"
                               "fieldSelector=metadata.name%3Dl2lb-a", token="tok-spk")[0], 200)
        code, _, b = s.get("/api/v1/nodes/n1", token="tok-spk")
        self.assertEqual(code, 404, b)   # allowed, just missing
        # group subjects and RoleBindings to ClusterRoles apply in their namespace only
        self.assertEqual(s.get("/api/v1/namespaces/other/configmaps/c", token="tok-ops")[0], 200)
        self.assertEqual(s.get("/api/v1/namespaces/default/configmaps/c",
                               token="tok-ops")[0], 403)
        self.assertEqual(s.get("/metrics", token="tok-ops")[0], 403)

    def test_access_reviews_and_impersonation(self):
        s = self.sim
        code, _, b = s.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
            "spec": {"resourceAttributes": {"verb": "list", "resource": "nodes"}}},
            token="tok-spk")
        self.assertEqual(code, 201, b)
        self.assertTrue(b["status"]["allowed"])
        code, _, b = s.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            "spec": {"user": "system:serviceaccount:l2lb:speaker", "resourceAttributes": {
                "verb": "delete", "resource": "services", "namespace": "default"}}})
        self.assertEqual(code, 201, b)
        self.assertFalse(b["status"]["allowed"])
        code, _, b = s.get("/api/v1/services",
                           headers={"Impersonate-User": "system:serviceaccount:l2lb:speaker"})
        self.assertEqual(code, 200, b)
        code, _, b = s.get("/api/v1/secrets",
                           headers={"Impersonate-User": "system:serviceaccount:l2lb:speaker"})
        self.assertEqual(code, 403, b)
        code, _, b = s.get("/api/v1/services", token="tok-spk",
                           headers={"Impersonate-User": "admin"})
        self.assertEqual(code, 403, b)
        code, _, b = s.post("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", {
            "spec": {"namespace": "l2lb"}}, token="tok-spk")
        self.assertEqual(code, 201, b)
        self.assertIn({"verbs": ["get", "update", "watch", "list"],
                       "apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                       "resourceNames": ["l2lb-a"]}, b["status"]["resourceRules"])

    def test_request_log_names_the_user(self):
        s = self.sim
        s.get("/api/v1/namespaces/default/services/web", token="tok-spk")

        def lines():
            with open(s.reqlog) as f:
                return [json.loads(x) for x in f if x.strip()]
        got = wait_for(lambda: [x for x in lines() if x["path"] ==
                                "/api/v1/namespaces/default/services/web" and x["user"] ==
                                "system:serviceaccount:l2lb:speaker"], what="log line")
        self.assertEqual(got[-1]["verb"], "get")


class RobustnessTest(Base):
    """Malformed bodies get 4xx answers, never a 5xx (a fixed-seed random walk)."""

    def test_no_server_errors_on_garbage(self):
        import random
        rnd = random.Random(12345)
        self.ok(self.sim.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                              WIDGET_CRD), 201)
        paths = ["/api/v1/namespaces/default/services", "/api/v1/namespaces/default/configmaps",
                 "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
                 "/api/v1/nodes", "/apis/coordination.k8s.io/v1/namespaces/default/leases",
                 "/apis/apps/v1/namespaces/default/daemonsets",
                 "/apis/events.k8s.io/v1/namespaces/default/events",
                 "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                 "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                 "/api/v1/namespaces/default/secrets",
                 "/apis/test.l2lb.io/v1/namespaces/default/widgets"]
        vals = [None, 0, -1, 1.5, "", "x", "None", [], {}, [1], {"a": 1}, True, "192.0.2.1",
                80, 70000, "LoadBalancer", ["IPv4", "IPv6"]]
        keys = ["spec", "status", "metadata", "type", "ports", "port", "clusterIP", "clusterIPs",
                "ipFamilies", "nodePort", "selector", "labels", "name", "addressType",
                "endpoints", "addresses", "data", "rules", "subjects", "roleRef", "template",
                "containers", "names", "versions", "eventTime", "renewTime", "finalizers",
                "ingress", "loadBalancer", "size", "tags"]

        def gen(d=0):
            r = rnd.random()
            if d < 4 and r < 0.3:
                return {rnd.choice(keys): gen(d + 1) for _ in range(rnd.randint(0, 4))}
            if d < 4 and r < 0.4:
                return [gen(d + 1) for _ in range(rnd.randint(0, 3))]
            return rnd.choice(vals)
        for i in range(400):
            p = rnd.choice(paths)
            body = gen()
            if isinstance(body, dict):
                body.setdefault("metadata", {"name": "f%d" % rnd.randint(0, 9)})
            name = "/f%d%s" % (rnd.randint(0, 9), rnd.choice(["", "/status"]))
            m = rnd.choice(["POST", "PUT", "PATCH", "SMP", "DELETE"])
            if m == "POST":
                r = self.sim.post(p, body)
            elif m == "PUT":
                r = self.sim.put(p + name, body)
            elif m == "PATCH":
                r = self.sim.patch(p + name, body)
            elif m == "SMP":
                r = self.sim.patch(p + name, body,
                                   ctype="application/strategic-merge-patch+json")
            else:
                r = self.sim.delete(p + name.split("/status")[0])
            self.assertLess(r[0], 500, (m, p + name, body, r[2]))


class StartupOptionsTest(unittest.TestCase):
    def test_seed_and_node_port_range(self):
        got = []
        for _ in range(2):
            sim = Sim("--seed", "7", "--node-port-range", "31000-31009", plain=True)
            try:
                code, _, o = sim.post("/api/v1/namespaces/default/services",
                                      svc("s", "NodePort"))
                self.assertEqual(code, 201, o)
                got.append((o["spec"]["clusterIP"], o["spec"]["ports"][0]["nodePort"]))
                code, _, b = sim.post("/api/v1/namespaces/default/services", svc(
                    "t", "NodePort", ports=[{"port": 80, "nodePort": 30000}]))
                self.assertEqual(code, 422, b)
                self.assertIn("The range of valid ports is 31000-31009", b["message"])
            finally:
                sim.stop()
        self.assertEqual(got[0], got[1])
        self.assertTrue(31000 <= got[0][1] <= 31009)

    def test_up_and_down_scripts(self):
        import subprocess
        import tempfile
        import shutil
        d = tempfile.mkdtemp(prefix="kubesim-up-")
        self.addCleanup(shutil.rmtree, d, True)
        here = os.path.dirname(os.path.abspath(__file__))
        self.addCleanup(subprocess.run, ["sh", os.path.join(here, "kubesim-down.sh"), d],
                        timeout=30)
        r = subprocess.run(["sh", os.path.join(here, "kubesim-up.sh"), d, "--token", "tk"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        url = r.stdout.strip()
        self.assertRegex(url, r"^https://127\.0\.0\.1:\d+$")
        with open(os.path.join(d, "pid")) as f:
            pid = int(f.read())
        with open(os.path.join(d, "kubeconfig")) as f:
            self.assertIn("server: " + url, f.read())
        r = subprocess.run(["sh", os.path.join(here, "kubesim-down.sh"), d], timeout=30)
        self.assertEqual(r.returncode, 0)

        def gone():
            try:
                os.kill(pid, 0)
                return False
            except ProcessLookupError:
                return True
        wait_for(gone, what="kubesim stopped")


class StateTest(unittest.TestCase):
    def test_save_on_exit_and_load(self):
        import tempfile
        import shutil
        d = tempfile.mkdtemp(prefix="kubesim-state-")
        self.addCleanup(shutil.rmtree, d, True)
        state = os.path.join(d, "state.json")
        sim = Sim("--state", state, tmp=d)
        try:
            sim.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", WIDGET_CRD)
            o = sim.post("/api/v1/namespaces/default/configmaps", cm("keep"))[2]
            ip = sim.post("/api/v1/namespaces/default/services", svc("keep"))[2]["spec"][
                "clusterIP"]
            sim.post("/apis/test.l2lb.io/v1/namespaces/default/widgets",
                     {"metadata": {"name": "w"}, "spec": {"size": 1}})
        finally:
            sim.stop()
        self.assertTrue(os.path.exists(state))
        sim = Sim("--state", state, tmp=d)
        try:
            g = sim.get("/api/v1/namespaces/default/configmaps/keep")
            self.assertEqual(g[0], 200)
            self.assertEqual(g[2]["metadata"]["uid"], o["metadata"]["uid"])
            self.assertEqual(sim.get("/apis/test.l2lb.io/v1/namespaces/default/widgets/w")[0],
                             200)
            o2 = sim.post("/api/v1/namespaces/default/configmaps", cm("new"))[2]
            self.assertGreater(int(o2["metadata"]["resourceVersion"]),
                               int(o["metadata"]["resourceVersion"]))
            # allocations come back with the services
            code, _, b = sim.post("/api/v1/namespaces/default/services",
                                  svc("again", clusterIP=ip))
            self.assertEqual(code, 422, b)
            self.assertIn("provided IP is already allocated", b["message"])
            # a watch from before the restart is too old: clients must relist
            code, _, b = sim.get("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion="
                                 + o["metadata"]["resourceVersion"], raw=True)
            self.assertIn(b'"code":410', b)
        finally:
            sim.stop()


if __name__ == "__main__":
    unittest.main()
