#!/usr/bin/env python3
"""kubesim: a small Kubernetes API server for l2lb's tests and demo.

Standard library only. One asyncio process serving HTTPS (or plain HTTP) with
HTTP/1.1 keep-alive and chunked watch streams. Objects are stored generically,
driven by a table of resource types; CRDs add types at run time.
See README.md in this directory for flags, admin endpoints and known gaps.
"""

import argparse
import asyncio
import base64
import ipaddress
import json
import os
import random
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

import ksproto
import ksrbac
import ksvalidate as V

VERSION_INFO = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0-kubesim",
    "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc",
    "platform": "linux/amd64",
}
ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
REASONS = {200: "OK", 201: "Created", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
           409: "Conflict", 410: "Gone", 413: "Request Entity Too Large", 415: "Unsupported Media Type",
           422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
           503: "Service Unavailable", 504: "Gateway Timeout"}
MAX_BODY = 3 * 1024 * 1024   # the real server's request body limit


class BodyTooLarge(Exception):
    pass


TABLE_CT = "application/json;as=Table;v=v1;g=meta.k8s.io"
PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json")


def now_ts():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def clone(o):
    return json.loads(json.dumps(o))


def dumps(o):
    return json.dumps(o, separators=(",", ":"))


ApiError = V.ApiError
status_obj = V.status_obj


class ResType:
    """One served resource (group, version, plural)."""

    def __init__(self, group, version, plural, kind, namespaced, short=(), status=False,
                 singular=None, generation=False, uncond=True, categories=(), crd=None,
                 list_kind=None, columns=None, schema=None, builtin=True, conv=None,
                 virtual=False):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced, self.short, self.has_status = namespaced, list(short), status
        self.singular = singular or kind.lower()
        self.generation, self.uncond, self.categories = generation, uncond, list(categories)
        self.crd, self.list_kind = crd, list_kind or kind + "List"
        self.columns, self.schema, self.builtin = columns, schema, builtin
        self.gv = version if group == "" else group + "/" + version
        self.key = (group, plural)
        self.skey = self.key   # storage key: events.k8s.io events live with core events
        self.conv = None       # (to_store, from_store) conversions when skey != key
        if conv:
            self.skey, self.conv = conv[0], conv[1:]
        self.verbs = ["create"] if virtual else list(ALL_VERBS)
        self.virtual = virtual

    def gr(self):
        return self.plural if self.group == "" else self.plural + "." + self.group


# events.k8s.io/v1 Event <-> core/v1 Event (one store, as on a real server)
_EV_MAP = [("regarding", "involvedObject"), ("note", "message"),
           ("deprecatedSource", "source"), ("deprecatedFirstTimestamp", "firstTimestamp"),
           ("deprecatedLastTimestamp", "lastTimestamp"), ("deprecatedCount", "count"),
           ("reportingController", "reportingComponent")]
_EV_SAME = ("metadata", "eventTime", "series", "reportingInstance", "action", "reason",
            "related", "type")


def _ev_v1_to_core(o):
    c = {"apiVersion": "v1", "kind": "Event"}
    for f in _EV_SAME:
        if f in o:
            c[f] = o[f]
    for a, b in _EV_MAP:
        if a in o:
            c[b] = o[a]
    c.setdefault("involvedObject", {})
    return c


def _ev_core_to_v1(o):
    e = {"apiVersion": "events.k8s.io/v1", "kind": "Event"}
    for f in _EV_SAME:
        if f in o:
            e[f] = o[f]
    for a, b in _EV_MAP:
        if b in o and o[b] not in (None, "", {}, 0):
            e[a] = o[b]
    if "eventTime" not in e:
        e["eventTime"] = None
    return e


EVENTS_V1 = (("", "events"), _ev_v1_to_core, _ev_core_to_v1)


def builtin_types():
    R = ResType
    return [
        R("", "v1", "namespaces", "Namespace", False, ["ns"], status=True),
        R("", "v1", "nodes", "Node", False, ["no"], status=True),
        R("", "v1", "services", "Service", True, ["svc"], status=True, categories=["all"]),
        R("", "v1", "endpoints", "Endpoints", True, ["ep"]),
        R("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
        R("", "v1", "secrets", "Secret", True),
        R("", "v1", "pods", "Pod", True, ["po"], status=True, categories=["all"]),
        R("", "v1", "events", "Event", True, ["ev"]),
        R("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
        R("events.k8s.io", "v1", "events", "Event", True, ["ev"], conv=EVENTS_V1),
        R("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, generation=True),
        R("coordination.k8s.io", "v1", "leases", "Lease", True),
        R("apps", "v1", "deployments", "Deployment", True, ["deploy"], status=True,
          generation=True, categories=["all"]),
        R("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], status=True, generation=True,
          categories=["all"]),
        R("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
        R("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
        R("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
        R("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
        R("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
          False, ["crd", "crds"], status=True, generation=True, uncond=False),
        R("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
          False, virtual=True),
        R("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview",
          False, virtual=True),
        R("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False,
          virtual=True),
        R("authorization.k8s.io", "v1", "localsubjectaccessreviews",
          "LocalSubjectAccessReview", True, virtual=True),
    ]


class Event:
    __slots__ = ("rv", "key", "type", "obj", "old", "cache")

    def __init__(self, rv, key, typ, obj, old):
        self.rv, self.key, self.type, self.obj, self.old = rv, key, typ, obj, old
        self.cache = {}


class Watcher:
    def __init__(self, rt, ns, lsel, fsel, table, limit):
        self.rt, self.ns, self.lsel, self.fsel, self.table = rt, ns, lsel, fsel, table
        self.queue = []
        self.wake = asyncio.Event()
        self.closed = None  # None, "graceful", "abort", "overflow"
        self.limit = limit

    def match(self, obj):
        md = obj.get("metadata", {})
        if self.ns is not None and md.get("namespace") != self.ns:
            return False
        if self.lsel and not V.labels_match(self.lsel, md.get("labels") or {}):
            return False
        if self.fsel and not V.fields_match(self.fsel, obj):
            return False
        return True

    def offer(self, ev):
        if self.closed:
            return
        if ev.type == "ADDED":
            t = "ADDED" if self.match(ev.obj) else None
        elif ev.type == "DELETED":
            t = "DELETED" if self.match(ev.obj) else None
        else:
            mo, mn = self.match(ev.old), self.match(ev.obj)
            t = "MODIFIED" if (mo and mn) else "DELETED" if mo else "ADDED" if mn else None
        if t is None:
            return
        self.queue.append((t, ev))
        if len(self.queue) > self.limit:
            self.closed = "overflow"
        self.wake.set()

    def close(self, how):
        if not self.closed:
            self.closed = how
        self.wake.set()


class Request:
    __slots__ = ("method", "path", "query", "headers", "body", "version", "verb", "resource",
                 "code", "user_agent", "t0", "ns", "name", "sub", "group", "gv", "user", "uobj")

    def __init__(self):
        self.verb = self.resource = self.ns = self.name = self.sub = self.group = None
        self.gv = self.user = self.uobj = None
        self.code = 0


class Sim:
    def __init__(self, args):
        self.args = args
        self.rv = 0
        self.types = {}        # gv -> {plural: ResType}
        self.objs = {}         # (group, plural) -> {(ns, name): obj}
        self.history = []      # list of Event, bounded
        self.compacted = 0     # highest RV no longer in history
        self.watchers = {}     # key -> set(Watcher)
        self.hist_max = args.history
        self.faults = {"errorRate": args.fault_error_rate, "errorCode": args.fault_error_code,
                       "retryAfter": args.fault_retry_after, "latencyMs": args.fault_latency_ms,
                       "pathRegex": "", "verbs": [], "watchLatencyMs": args.fault_watch_latency_ms}
        self.counts = {}
        self.codes = {}
        self.total = 0
        self.watch_events = 0
        self.outage_until = 0.0
        self.reqlog = open(args.request_log, "a", buffering=1) if args.request_log else None
        self.svc = V.ServiceAlloc(args.service_cidr,
                                  getattr(args, "node_ports", (30000, 32767)))
        for rt in builtin_types():
            self.add_type(rt)
        self.base_url = ""
        self.field_validation = "Warn"
        self.warnings = []
        self.in_gc = False
        self.n_owned = 0       # objects with ownerReferences (the collector runs only if any)

    # ---------------------------------------------------------------- types
    def add_type(self, rt):
        self.types.setdefault(rt.gv, {})[rt.plural] = rt
        self.objs.setdefault(rt.skey, {})

    def find_type(self, gv, plural):
        return self.types.get(gv, {}).get(plural)

    def crd_sync(self, crd, old=None):
        """(Re)register the types a CRD serves; drop versions it no longer serves."""
        if old is not None:
            self.crd_unregister(old, keep_objects=True)
        if crd is None:
            return
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        group = spec.get("group")
        for ver in spec.get("versions", []):
            if not ver.get("served", True):
                continue
            sub = ver.get("subresources") or {}
            schema = (ver.get("schema") or {}).get("openAPIV3Schema")
            rt = ResType(group, ver["name"], names["plural"], names["kind"],
                         spec.get("scope") == "Namespaced", names.get("shortNames", []),
                         status="status" in sub, singular=names.get("singular"),
                         generation=True, uncond=False, categories=names.get("categories", []),
                         crd=crd["metadata"]["name"], list_kind=names.get("listKind"),
                         columns=ver.get("additionalPrinterColumns"), schema=schema,
                         builtin=False)
            rt.storage_version = next((v["name"] for v in spec["versions"] if v.get("storage")),
                                      ver["name"])
            self.add_type(rt)

    def crd_unregister(self, crd, keep_objects=False):
        spec = crd.get("spec", {})
        group, plural = spec.get("group"), spec.get("names", {}).get("plural")
        for ver in spec.get("versions", []):
            gv = group + "/" + ver["name"]
            m = self.types.get(gv)
            if m and plural in m and m[plural].crd == crd["metadata"]["name"]:
                del m[plural]
                if not m:
                    del self.types[gv]
        if not keep_objects:
            key = (group, plural)
            for k in sorted(self.objs.get(key, {})):
                obj = self.objs[key][k]
                self.remove(key, obj)
            self.objs.pop(key, None)
            for w in list(self.watchers.get(key, ())):
                w.close("graceful")
            self.watchers.pop(key, None)

    # ---------------------------------------------------------------- storage
    def bump(self):
        self.rv += 1
        return self.rv

    def record(self, key, typ, obj, old):
        ev = Event(self.rv, key, typ, obj, old)
        h = self.history
        h.append(ev)
        if len(h) > self.hist_max:
            drop = len(h) - self.hist_max
            self.compacted = h[drop - 1].rv
            del h[:drop]
        for w in list(self.watchers.get(key, ())):
            w.offer(ev)

    def put(self, key, obj, old):
        md = obj["metadata"]
        rv = self.bump()
        md["resourceVersion"] = str(rv)
        self.objs[key][(md.get("namespace"), md["name"])] = obj
        self.n_owned += bool(md.get("ownerReferences")) - bool(
            old is not None and old["metadata"].get("ownerReferences"))
        self.record(key, "MODIFIED" if old is not None else "ADDED", obj, old)

    def remove(self, key, obj):
        md = obj["metadata"]
        rv = self.bump()
        gone = dict(obj)
        gone["metadata"] = dict(md, resourceVersion=str(rv))
        self.objs[key].pop((md.get("namespace"), md["name"]), None)
        self.n_owned -= bool(md.get("ownerReferences"))
        self.record(key, "DELETED", gone, obj)
        hook = V.HOOKS.get(key)
        if hook and hook.get("deleted"):
            hook["deleted"](self, obj)
        if key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self.crd_unregister(obj)
        if key == ("", "namespaces"):
            self.ns_purge(md["name"])
        self.collect_garbage()
        return gone

    def collect_garbage(self):
        """The garbage collector, run at once after a delete (background propagation): an
        object all of whose ownerReferences name objects that no longer exist is deleted
        (or marked, if it has finalizers)."""
        if self.in_gc or self.n_owned <= 0:
            return
        self.in_gc = True
        try:
            for _ in range(100):
                live = {o["metadata"].get("uid") for m in self.objs.values() for o in m.values()}
                doomed = []
                for key, m in self.objs.items():
                    for o in m.values():
                        refs = o["metadata"].get("ownerReferences")
                        if refs and not o["metadata"].get("deletionTimestamp") and \
                                not any(r.get("uid") in live for r in refs):
                            doomed.append((key, o))
                if not doomed:
                    return
                for key, o in doomed:
                    if o["metadata"].get("finalizers"):
                        new = clone(o)
                        new["metadata"]["deletionTimestamp"] = now_ts()
                        new["metadata"]["deletionGracePeriodSeconds"] = 0
                        self.put(key, new, o)
                    else:
                        self.remove(key, o)
        finally:
            self.in_gc = False

    def ns_purge(self, ns):
        for key, m in list(self.objs.items()):
            for k in sorted(k for k in m if k[0] == ns):
                obj = m.get(k)
                if obj is not None:
                    self.remove(key, obj)

    def compact(self, keep):
        keep = max(0, int(keep))
        h = self.history
        if len(h) > keep:
            drop = len(h) - keep
            self.compacted = h[drop - 1].rv
            del h[:drop]
        if keep == 0:
            self.compacted = self.rv

    # ---------------------------------------------------------------- state
    def load_state(self, path):
        with open(path) as f:
            st = json.load(f)
        crdkey = ("apiextensions.k8s.io", "customresourcedefinitions")
        items = st.get("objects", [])
        for it in items:
            if (it["group"], it["plural"]) == crdkey:
                self.crd_sync(it["object"])
        for it in items:
            key = (it["group"], it["plural"])
            obj = it["object"]
            md = obj["metadata"]
            self.objs.setdefault(key, {})[(md.get("namespace"), md["name"])] = obj
            self.n_owned += bool(md.get("ownerReferences"))
            if key == ("", "services"):
                self.svc.reserve(obj)
        self.rv = int(st.get("resourceVersion", 0))
        self.compacted = self.rv

    def save_state(self, path):
        items = []
        for key in sorted(self.objs):
            for k in sorted(self.objs[key], key=lambda k: (k[0] or "", k[1])):
                items.append({"group": key[0], "plural": key[1], "object": self.objs[key][k]})
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"resourceVersion": self.rv, "objects": items}, f, indent=1, sort_keys=True)
        os.replace(tmp, path)

    def bootstrap(self):
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            if (None, ns) not in self.objs[("", "namespaces")]:
                self.do_create(self.find_type("v1", "namespaces"), None,
                               {"metadata": {"name": ns}}, {})
        if (("default", "kubernetes") not in self.objs[("", "services")]):
            self.do_create(self.find_type("v1", "services"), "default", {
                "metadata": {"name": "kubernetes", "labels": {
                    "component": "apiserver", "provider": "kubernetes"}},
                "spec": {"type": "ClusterIP", "clusterIP": self.svc.first_ip(self.svc.families[0]),
                         "ports": [
                    {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}}, {})

    # ---------------------------------------------------------------- verbs
    def get_obj(self, rt, ns, name):
        obj = self.objs[rt.skey].get((ns if rt.namespaced else None, name))
        if obj is None:
            raise not_found(rt, name)
        return obj

    def check_ns(self, rt, ns):
        if rt.namespaced and ("", "namespaces") != rt.key:
            if (None, ns) not in self.objs[("", "namespaces")]:
                raise ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                               {"name": ns, "kind": "namespaces"})

    def prepare_body(self, rt, ns, body):
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request was not a JSON object")
        av, kind = body.get("apiVersion"), body.get("kind")
        if av is not None and av != rt.gv:
            raise ApiError(400, "BadRequest",
                           "the API version in the data (%s) does not match the expected API "
                           "version (%s)" % (av, rt.gv))
        if kind is not None and kind != rt.kind:
            raise ApiError(400, "BadRequest",
                           "the kind in the data (%s) does not match the expected kind (%s)"
                           % (kind, rt.kind))
        body = dict(body)
        body["apiVersion"], body["kind"] = rt.gv, rt.kind
        md = body.get("metadata")
        if md is None:
            md = {}
        if not isinstance(md, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        md = dict(md)
        body["metadata"] = md
        if rt.namespaced:
            if md.get("namespace") not in (None, "", ns):
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not "
                               "match the namespace sent on the request")
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        for f in ("selfLink",):
            md.pop(f, None)
        unknown = []
        body = V.decode_builtin(rt, body, unknown)
        self.unknown_fields(rt, unknown)
        return body

    def unknown_fields(self, rt, unknown):
        """Strict field validation refuses unknown fields; Warn reports them."""
        if not unknown:
            return
        if self.field_validation == "Strict":
            raise ApiError(400, "BadRequest", '%s in version "%s" cannot be handled as a %s: '
                           'strict decoding error: %s' % (rt.kind, rt.version, rt.kind,
                                                          ", ".join('unknown field "%s"' % u
                                                                    for u in unknown)))
        if self.field_validation != "Ignore":
            self.warnings += ['unknown field "%s"' % u for u in unknown]

    def do_create(self, rt, ns, body, q):
        dry = q.get("dryRun") == "All"
        body = self.prepare_body(rt, ns, clone(body))
        md = body["metadata"]
        if md.get("resourceVersion"):
            raise ApiError(500, "InternalError", "Internal error occurred: resourceVersion should "
                           "not be set on objects to be created",
                           {"causes": [{"message": "resourceVersion should not be set on objects "
                                        "to be created"}]})
        if not md.get("name") and md.get("generateName"):
            # the real server keeps at most 58 characters of the prefix
            md["name"] = md["generateName"][:58] + "".join(
                random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                  "generation", "managedFields"):
            md.pop(f, None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_ts()
        if rt.generation:
            md["generation"] = 1
        if rt.has_status and rt.key != ("", "nodes"):
            body.pop("status", None)
        errs = V.validate_meta(rt, body)
        self.type_prepare(rt, body, None, errs, "create", dry)
        if errs:
            raise invalid(rt, md.get("name", ""), errs)
        try:
            self.check_ns(rt, ns)
            k = (ns if rt.namespaced else None, md["name"])
            if k in self.objs[rt.skey]:
                raise ApiError(409, "AlreadyExists", '%s "%s" already exists'
                               % (rt.gr(), md["name"]), details(rt, md["name"]))
        except ApiError:
            self.type_abort(rt, body, None)
            raise
        if dry:
            self.type_abort(rt, body, None)
            return self.to_store(rt, body)
        body = self.to_store(rt, body)
        self.put(rt.skey, body, None)
        self.type_commit(rt, body, None)
        return body

    def type_prepare(self, rt, new, old, errs, op, dry):
        if not rt.builtin:
            unknown = []
            V.validate_custom(rt, new, errs, op, unknown, old)
            self.unknown_fields(rt, unknown)
            return
        hook = V.HOOKS.get(rt.key)
        if hook:
            hook["prepare"](self, rt, new, old, errs, op, dry)

    def type_commit(self, rt, new, old):
        hook = V.HOOKS.get(rt.key)
        if rt.builtin and hook and hook.get("commit"):
            hook["commit"](self, new, old)

    def type_abort(self, rt, new, old):
        hook = V.HOOKS.get(rt.key)
        if rt.builtin and hook and hook.get("abort"):
            hook["abort"](self, new, old)

    def do_update(self, rt, ns, name, body, q, sub, precond_rv=True):
        dry = q.get("dryRun") == "All"
        stored = self.get_obj(rt, ns, name)
        old = self.from_store(rt, stored)
        body = self.prepare_body(rt, ns, clone(body))
        md = body["metadata"]
        if md.get("name") not in (None, name) or not md.get("name"):
            if md.get("name"):
                raise ApiError(400, "BadRequest", "the name of the object (%s) does not match the "
                               "name on the URL (%s)" % (md.get("name"), name))
            md["name"] = name
        if md.get("uid") and md["uid"] != old["metadata"].get("uid") and sub != "status":
            raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": '
                           'Precondition failed: UID in precondition: %s, UID in object meta: '
                           '%s' % (rt.gr(), name, md["uid"], old["metadata"].get("uid")),
                           details(rt, name))
        rv = md.get("resourceVersion")
        if rv:
            if rv != old["metadata"]["resourceVersion"]:
                raise conflict(rt, name)
        elif precond_rv and not rt.uncond:
            raise invalid(rt, name, [("FieldValueInvalid", "metadata.resourceVersion",
                                      "Invalid value: 0x0: must be specified for an update")])
        omd = old["metadata"]
        if sub == "status" and rt.builtin:
            # built-in status strategies reset the spec (apps kinds also the labels) and keep
            # other metadata changes, as the real registry does
            new = body
            for k in list(new):
                if k not in ("metadata", "status", "apiVersion", "kind"):
                    del new[k]
            for k, v in old.items():
                if k not in ("metadata", "status", "apiVersion", "kind"):
                    new[k] = clone(v)
            for f in ("uid", "creationTimestamp", "deletionTimestamp",
                      "deletionGracePeriodSeconds", "generation", "managedFields"):
                if f in omd:
                    md[f] = omd[f]
                else:
                    md.pop(f, None)
            if rt.group == "apps" or rt.key == ("", "pods"):
                md.pop("labels", None)
                if "labels" in omd:
                    md["labels"] = omd["labels"]
            if rt.key == ("", "pods"):
                md.pop("ownerReferences", None)
                if "ownerReferences" in omd:
                    md["ownerReferences"] = omd["ownerReferences"]
        elif sub == "status":
            # custom resources: everything but status is ignored
            new = clone(old)
            if "status" in body:
                new["status"] = body["status"]
            else:
                new.pop("status", None)
        elif sub == "finalize":
            new = clone(old)
            new.setdefault("spec", {})["finalizers"] = (body.get("spec") or {}).get(
                "finalizers") or []
        else:
            new = body
            for f in ("uid", "creationTimestamp", "deletionTimestamp",
                      "deletionGracePeriodSeconds", "generation", "managedFields"):
                if f in omd:
                    md[f] = omd[f]
                else:
                    md.pop(f, None)
            if rt.has_status:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            if rt.generation:
                a = {k: v for k, v in new.items() if k not in ("metadata", "status")}
                b = {k: v for k, v in old.items() if k not in ("metadata", "status")}
                if rt.key == ("discovery.k8s.io", "endpointslices"):   # labels count too
                    a["labels"], b["labels"] = md.get("labels"), omd.get("labels")
                if a != b:
                    new["metadata"]["generation"] = omd.get("generation", 0) + 1
        new["metadata"]["resourceVersion"] = omd["resourceVersion"]
        errs = []
        if sub != "status":
            errs = V.validate_meta(rt, new)
            if omd.get("deletionTimestamp"):
                added = set(new["metadata"].get("finalizers") or []) - set(
                    omd.get("finalizers") or [])
                if added:
                    errs.append(("FieldValueForbidden", "metadata.finalizers",
                                 "Forbidden: no new finalizers can be added if the object is "
                                 "being deleted, found new finalizers %s"
                                 % V.q(sorted(added))))
        self.type_prepare(rt, new, old, errs, "status" if sub == "status" else "update", dry)
        if errs:
            raise invalid(rt, name, errs)
        new, old = self.to_store(rt, new), stored
        if new == old:
            self.type_abort(rt, new, old)
            return old
        if dry:
            self.type_abort(rt, new, old)
            return new
        if omd.get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            self.type_commit(rt, new, old)
            return self.remove(rt.skey, new)
        self.put(rt.skey, new, old)
        self.type_commit(rt, new, old)
        return new

    def do_patch(self, rt, ns, name, ctype, patch, q, sub):
        old = self.from_store(rt, self.get_obj(rt, ns, name))
        cur = clone(old)
        if ctype == "application/merge-patch+json":
            if not isinstance(patch, dict):
                raise ApiError(400, "BadRequest", "merge patch must be a JSON object")
            new = V.merge_patch(cur, patch)
        elif ctype == "application/strategic-merge-patch+json":
            if not rt.builtin:
                raise unsupported_media(ctype, custom=True)
            if not isinstance(patch, dict):
                raise ApiError(400, "BadRequest", "strategic merge patch must be a JSON object")
            new = V.strategic_merge(cur, patch, ())
        else:
            try:
                new = V.json_patch(cur, patch)
            except V.PatchError as e:
                raise ApiError(422, "Invalid", str(e))
        if not isinstance(new, dict):
            raise ApiError(422, "Invalid", "patch result is not an object")
        md = new.setdefault("metadata", {})
        if not isinstance(md, dict):
            raise ApiError(422, "Invalid", "metadata must be an object")
        if md.get("name", name) != name:
            raise ApiError(400, "BadRequest", "the name of the object (%s) does not match the "
                           "name on the URL (%s)" % (md.get("name"), name))
        # a resourceVersion in the patch is a precondition; otherwise the patch is unconditional
        if md.get("resourceVersion") == old["metadata"]["resourceVersion"] or \
                not md.get("resourceVersion"):
            md["resourceVersion"] = old["metadata"]["resourceVersion"]
        return self.do_update(rt, ns, name, new, q, sub, precond_rv=False)

    def do_apply(self, rt, ns, name, applied, q, sub):
        """Server-side apply without field ownership: create, or merge the applied
        configuration over the live object (fields left out are not removed)."""
        if not isinstance(applied, dict):
            raise ApiError(400, "BadRequest", "apply patch must be a JSON object")
        md = applied.get("metadata") or {}
        if md.get("name") not in (None, name):
            raise ApiError(400, "BadRequest", "the name of the object (%s) does not match the "
                           "name on the URL (%s)" % (md.get("name"), name))
        key = (ns if rt.namespaced else None, name)
        if key not in self.objs[rt.skey]:
            if sub:
                raise not_found(rt, name)
            body = clone(applied)
            body.setdefault("metadata", {})["name"] = name
            return self.do_create(rt, ns, body, q), True
        cur = clone(self.from_store(rt, self.objs[rt.skey][key]))
        if rt.builtin:
            new = V.strategic_merge(cur, applied, ())
        else:
            new = V.merge_patch(cur, applied)
        new["metadata"]["resourceVersion"] = md.get("resourceVersion") or \
            cur["metadata"]["resourceVersion"]
        return self.do_update(rt, ns, name, new, q, sub, precond_rv=False), False

    def do_delete(self, rt, ns, name, opts, q):
        dry = q.get("dryRun") == "All" or "All" in (opts.get("dryRun") or [])
        obj = self.get_obj(rt, ns, name)
        pre = opts.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
            raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": '
                           'Precondition failed: UID in precondition: %s, UID in object meta: %s'
                           % (rt.gr(), name, pre["uid"], obj["metadata"]["uid"]),
                           details(rt, name))
        if pre.get("resourceVersion") and pre["resourceVersion"] != \
                obj["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": '
                           'Precondition failed: ResourceVersion in precondition: %s, '
                           'ResourceVersion in object meta: %s'
                           % (rt.gr(), name, pre["resourceVersion"],
                              obj["metadata"]["resourceVersion"]), details(rt, name))
        if dry:
            return obj
        if opts.get("propagationPolicy") == "Orphan" or opts.get("orphanDependents"):
            self.orphan(obj["metadata"]["uid"])
        if obj["metadata"].get("finalizers"):
            if obj["metadata"].get("deletionTimestamp"):
                return obj
            new = clone(obj)
            new["metadata"]["deletionTimestamp"] = now_ts()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            if rt.generation:
                new["metadata"]["generation"] = obj["metadata"].get("generation", 0) + 1
            self.put(rt.skey, new, obj)
            return new
        return self.remove(rt.skey, obj)

    def orphan(self, uid):
        """Orphan propagation: drop the ownerReferences that point at uid."""
        for key, m in self.objs.items():
            for o in list(m.values()):
                refs = o["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    new = clone(o)
                    new["metadata"]["ownerReferences"] = [r for r in refs
                                                          if r.get("uid") != uid]
                    if not new["metadata"]["ownerReferences"]:
                        del new["metadata"]["ownerReferences"]
                    self.put(key, new, o)

    def snapshot(self, key, rv):
        """The objects of one type as they were at resourceVersion rv (from history)."""
        snap = dict(self.objs[key])
        for ev in reversed(self.history):
            if ev.rv <= rv:
                break
            if ev.key != key:
                continue
            md = ev.obj["metadata"]
            k = (md.get("namespace"), md["name"])
            if ev.type == "ADDED":
                snap.pop(k, None)
            else:
                snap[k] = ev.old
        return snap

    def select(self, rt, ns, q, objs=None):
        lsel = V.parse_label_selector(q.get("labelSelector", ""))
        fsel = V.parse_field_selector(q.get("fieldSelector", ""), rt)
        out = []
        for k, obj in (self.objs[rt.skey] if objs is None else objs).items():
            if ns is not None and k[0] != ns:
                continue
            md = obj["metadata"]
            if lsel and not V.labels_match(lsel, md.get("labels") or {}):
                continue
            if fsel and not V.fields_match(fsel, obj):
                continue
            out.append((k[0] or "", k[1], obj))
        out.sort(key=lambda t: (t[0], t[1]))
        return out

    def check_rv_param(self, q):
        rv = q.get("resourceVersion", "")
        match = q.get("resourceVersionMatch", "")
        if match:
            msg = None
            if match not in ("Exact", "NotOlderThan"):
                msg = 'resourceVersionMatch: Unsupported value: "%s": supported values: ' \
                      '"Exact", "NotOlderThan", ""' % match
            elif rv == "":
                msg = "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden " \
                      "unless resourceVersion is provided"
            elif match == "Exact" and rv == "0":
                msg = 'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is ' \
                      'forbidden for resourceVersion "0"'
            if msg and not q.get("watch"):
                raise ApiError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: ' + msg,
                               {"group": "meta.k8s.io", "kind": "ListOptions"})
        if rv in ("", "0"):
            return
        try:
            n = int(rv)
        except ValueError:
            raise ApiError(400, "BadRequest", 'resourceVersion: Invalid value: "%s": strconv.'
                           'ParseUint: parsing "%s": invalid syntax' % (rv, rv))
        if n > self.rv:
            raise ApiError(504, "Timeout", "Too large resource version: %d, current: %d"
                           % (n, self.rv), {"causes": [{"reason": "ResourceVersionTooLarge",
                                                        "message": "Too large resource version"}],
                                            "retryAfterSeconds": 1})
        if q.get("resourceVersionMatch") == "Exact" and n < self.compacted:
            raise ApiError(410, "Expired", "too old resource version: %d (%d)"
                           % (n, self.compacted))

    def do_list(self, rt, ns, q):
        self.check_rv_param(q)
        cont = q.get("continue")
        listrv = self.rv
        if q.get("resourceVersionMatch") == "Exact" and not cont:
            # the list as it was at that RV, rebuilt from history (410 once compacted)
            listrv = int(q["resourceVersion"])
            sel = self.select(rt, ns, q, self.snapshot(rt.skey, listrv))
        else:
            sel = None if cont else self.select(rt, ns, q)
        if cont:
            try:
                tok = json.loads(base64.urlsafe_b64decode(cont.encode() + b"==="))
                listrv, start = int(tok["rv"]), tuple(tok["start"])
            except Exception:
                raise ApiError(400, "BadRequest", "continue key is not valid: illegal base64 "
                               "data", {"causes": [{"reason": "FieldValueInvalid",
                                                    "message": "continue key is not valid",
                                                    "field": "continue"}]})
            if listrv < self.compacted:
                raise ApiError(410, "Expired", "The provided continue parameter is too old to "
                               "display a consistent list result. You can start a new list "
                               "without the continue parameter.")
            # serve the snapshot at the first page's RV, as etcd does
            sel = self.select(rt, ns, q, self.snapshot(rt.skey, listrv))
            sel = [t for t in sel if (t[0], t[1]) > start]
        meta = {"resourceVersion": str(listrv)}
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise ApiError(400, "BadRequest", 'limit: Invalid value: "%s": must be an integer'
                           % q.get("limit"))
        if q.get("resourceVersion") == "0" and not cont:
            limit = 0   # served from the watch cache: the real server ignores limit
        if limit > 0 and len(sel) > limit:
            rest = len(sel) - limit
            sel = sel[:limit]
            last = sel[-1]
            meta["continue"] = base64.urlsafe_b64encode(dumps(
                {"rv": listrv, "start": [last[0], last[1]]}).encode()).decode().rstrip("=")
            meta["remainingItemCount"] = rest
        return meta, [t[2] for t in sel]

    # ---------------------------------------------------------------- output
    def to_store(self, rt, obj):
        return rt.conv[0](obj) if rt.conv else obj

    def from_store(self, rt, obj):
        return rt.conv[1](obj) if rt.conv else obj

    def out_obj(self, rt, obj):
        if rt.conv:
            return rt.conv[1](obj)
        if obj.get("apiVersion") != rt.gv:
            obj = dict(obj, apiVersion=rt.gv)
        return obj

    def list_body(self, rt, meta, items):
        if rt.builtin:
            items = [{k: v for k, v in self.out_obj(rt, o).items()
                      if k not in ("kind", "apiVersion")} for o in items]
        else:
            items = [self.out_obj(rt, o) for o in items]
        return {"kind": rt.list_kind, "apiVersion": rt.gv, "metadata": meta, "items": items}


def details(rt, name):
    d = {"name": name, "kind": rt.plural}
    if rt.group:
        d["group"] = rt.group
    return d


def not_found(rt, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (rt.gr(), name), details(rt, name))


def conflict(rt, name):
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been '
                    'modified; please apply your changes to the latest version and try again'
                    % (rt.gr(), name), details(rt, name))


def invalid(rt, name, errs):
    causes = [{"reason": r, "message": m, "field": f} for (r, f, m) in errs]
    msgs = ["%s: %s" % (f, m) for (r, f, m) in errs]
    kind = rt.kind if rt.group == "" else rt.kind + "." + rt.group
    if len(msgs) == 1:
        text = '%s "%s" is invalid: %s' % (kind, name, msgs[0])
    else:
        text = '%s "%s" is invalid: [%s]' % (kind, name, ", ".join(msgs))
    d = {"name": name, "kind": rt.kind, "causes": causes}
    if rt.group:
        d["group"] = rt.group
    return ApiError(422, "Invalid", text, d)


def unsupported_media(ctype, custom=False):
    if custom:
        acc = ("application/json-patch+json, application/merge-patch+json, "
               "application/apply-patch+yaml")
    else:
        acc = ("application/json-patch+json, application/merge-patch+json, "
               "application/apply-patch+yaml, application/strategic-merge-patch+json")
    return ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown "
                    "format - accepted media types include: " + acc)


# ==================================================================== HTTP server
class Server:
    def __init__(self, sim, args):
        self.sim = sim
        self.args = args
        self.ssl = None
        self.host = None
        self.port = None
        self.stop_event = None
        self.conns = set()
        self.listeners = []
        self.bookmark_interval = args.bookmark_interval
        self.tokens = {}
        if args.token:
            self.tokens[args.token] = ksrbac.User("admin", ["system:masters"])
        if args.token_file:
            self.tokens.update(read_token_file(args.token_file))

    # -------------------------------------------------------------- connection
    async def on_admin_conn(self, reader, writer):
        await self.on_conn(reader, writer, admin_only=True)

    async def on_conn(self, reader, writer, admin_only=False):
        if not admin_only:
            self.conns.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                        ssl.SSLError, OSError):
                    break
                req = self.parse_head(head)
                if req is None:
                    await self.send(writer, 400, {"Content-Type": "text/plain"}, b"bad request",
                                    close=True)
                    break
                if req.headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                try:
                    req.body = await self.read_body(reader, req)
                except BodyTooLarge:
                    st = status_obj(413, "RequestEntityTooLarge", "Request entity too large: "
                                    "limit is %d" % MAX_BODY)
                    await self.send(writer, 413, {"Content-Type": "application/json"},
                                    dumps(st).encode() + b"\n", close=True)
                    break
                except (asyncio.IncompleteReadError, ValueError, ConnectionError, OSError,
                        ssl.SSLError):
                    break
                if admin_only and not req.path.startswith("/kubesim/"):
                    await self.send(writer, 404, {"Content-Type": "application/json"},
                                    b'{"error":"the admin listener serves only /kubesim/"}')
                    continue
                keep = await self.handle(req, writer, reader)
                if not keep:
                    break
        except (ConnectionError, OSError, ssl.SSLError, asyncio.CancelledError):
            pass
        finally:
            self.conns.discard(writer)
            try:
                writer.close()
            except Exception:
                pass

    def parse_head(self, head):
        try:
            text = head.decode("latin-1")
            lines = text.split("\r\n")
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            return None
        req = Request()
        req.method, req.version = method, version
        hdrs = {}
        for ln in lines[1:]:
            if not ln:
                continue
            k, _, v = ln.partition(":")
            k = k.strip().lower()
            hdrs[k] = hdrs[k] + "," + v.strip() if k in hdrs else v.strip()
        req.headers = hdrs
        path, _, qs = target.partition("?")
        req.path = urllib.parse.unquote(path)
        req.query = dict(parse_qsl(qs))
        req.user_agent = hdrs.get("user-agent", "")
        req.t0 = time.time()
        return req

    async def read_body(self, reader, req):
        te = req.headers.get("transfer-encoding", "").lower()
        if "chunked" in te:
            parts = []
            total = 0
            while True:
                line = await reader.readuntil(b"\r\n")
                n = int(line.split(b";")[0].strip(), 16)
                if n == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    break
                total += n
                if total > MAX_BODY:
                    raise BodyTooLarge()
                parts.append(await reader.readexactly(n))
                await reader.readexactly(2)
            return b"".join(parts)
        n = int(req.headers.get("content-length", "0") or 0)
        if n < 0:
            raise ValueError("negative Content-Length")
        if n > MAX_BODY:
            # read (and drop) what the client is sending, so it sees the 413, not a reset
            left = n if n <= 64 * MAX_BODY else 0
            while left > 0:
                chunk = await reader.read(min(left, 1 << 20))
                if not chunk:
                    break
                left -= len(chunk)
            raise BodyTooLarge()
        return await reader.readexactly(n) if n else b""

    async def send(self, writer, code, headers, body, close=False):
        h = ["HTTP/1.1 %d %s" % (code, REASONS.get(code, "Unknown"))]
        for k, v in headers.items():
            h.append("%s: %s" % (k, v))
        h.append("Content-Length: %d" % len(body))
        h.append("Cache-Control: no-cache, private")
        if close:
            h.append("Connection: close")
        writer.write(("\r\n".join(h) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()

    # -------------------------------------------------------------- dispatch
    async def handle(self, req, writer, reader=None):
        keep = req.version == "HTTP/1.1" and req.headers.get("connection", "").lower() != "close"
        sim = self.sim
        if req.path.startswith("/kubesim/"):
            code, body = self.admin(req, writer)
            await self.send(writer, code, {"Content-Type": "application/json"},
                            dumps(body).encode())
            return keep
        try:
            self.route(req)
            auth = req.headers.get("authorization", "")
            uobj = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
            if req.path not in ("/version", "/healthz", "/livez", "/readyz") and \
                    self.tokens and uobj is None:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            if uobj is not None and req.headers.get("impersonate-user"):
                imp = req.headers["impersonate-user"]
                if not uobj.is_admin():
                    raise ApiError(403, "Forbidden", 'users "%s" is forbidden: User "%s" cannot '
                                   'impersonate resource "users" in API group "" at the cluster '
                                   'scope' % (imp, uobj.name),
                                   {"name": imp, "kind": "users"})
                groups = [g.strip() for g in req.headers.get("impersonate-group", "").split(",")
                          if g.strip()]
                uobj = ksrbac.User(imp, groups)
            req.user = uobj.name if uobj is not None else None
            req.uobj = uobj
            if self.args.authorize and self.tokens:
                self.authorize(req, uobj)
            f = sim.faults
            if f["latencyMs"] and self.fault_applies(req):
                await asyncio.sleep(f["latencyMs"] / 1000.0)
            if f["errorRate"] and random.random() < f["errorRate"] and self.fault_applies(req):
                if int(f["errorCode"]) == 429:
                    ra = int(f["retryAfter"])
                    raise ApiError(429, "TooManyRequests", "Too many requests, please try again "
                                   "later.", {"retryAfterSeconds": ra}, {"Retry-After": str(ra)})
                raise ApiError(int(f["errorCode"]), "InternalError",
                               "Internal error occurred: kubesim injected fault",
                               {"causes": [{"message": "kubesim injected fault"}]})
            if req.verb == "watch":
                await self.serve_watch(req, writer, reader)
                return False
            code, hdrs, body = self.serve(req)
        except ApiError as e:
            code, hdrs, body = e.code, dict(e.headers), dumps(e.status()).encode() + b"\n"
            hdrs["Content-Type"] = "application/json"
        except Exception as e:  # a bug in kubesim: answer 500, keep serving
            import traceback
            traceback.print_exc()
            code, hdrs = 500, {"Content-Type": "application/json"}
            body = dumps(status_obj(500, "InternalError", "Internal error occurred: %r" % e)).encode()
        req.code = code
        self.account(req)
        await self.send(writer, code, hdrs, body, close=not keep)
        return keep

    def authorize(self, req, user):
        if user is None or user.is_admin():
            return
        if req.resource is None:
            verb = req.method.lower()
            if not ksrbac.path_allowed(self.sim, user, verb, req.path):
                raise ApiError(403, "Forbidden", 'forbidden: User "%s" cannot %s path "%s"'
                               % (user.name, verb, req.path), {})
            return
        plural = req.resource.split(".")[0]
        name = req.name or ""
        if req.verb in ("list", "watch"):
            fs = req.query.get("fieldSelector", "")
            if fs.startswith("metadata.name=") and "," not in fs:
                name = fs[len("metadata.name="):]
        verb = req.verb or req.method.lower()
        if not ksrbac.allowed(self.sim, user, verb, req.group or "", plural, req.sub or "",
                              req.ns, name):
            raise ApiError(403, "Forbidden", ksrbac.forbidden_message(
                user, verb, req.group or "", plural, req.sub or "", req.ns, req.name or ""),
                {"name": req.name or "", "group": req.group or "", "kind": plural}
                if req.group else {"name": req.name or "", "kind": plural})

    def fault_applies(self, req):
        f = self.sim.faults
        if f.get("verbs") and req.verb not in f["verbs"]:
            return False
        if f.get("pathRegex") and not re.search(f["pathRegex"], req.path):
            return False
        return True

    def account(self, req):
        sim = self.sim
        sim.total += 1
        res = req.resource or "nonresource"
        if req.sub:
            res += "/" + req.sub
        verb = req.verb or req.method.lower()
        k = verb + " " + res
        sim.counts[k] = sim.counts.get(k, 0) + 1
        sim.codes[str(req.code)] = sim.codes.get(str(req.code), 0) + 1
        if sim.reqlog:
            line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(req.t0)) +
                    ".%06dZ" % int((req.t0 % 1) * 1e6),
                    "userAgent": req.user_agent, "method": req.method, "verb": verb,
                    "path": req.path, "code": req.code, "user": req.user or "",
                    "latencyMs": round((time.time() - req.t0) * 1000, 3)}
            if req.resource:
                line.update({"group": req.group, "resource": req.resource.split(".")[0],
                             "namespace": req.ns or "", "name": req.name or "",
                             "subresource": req.sub or ""})
            try:
                sim.reqlog.write(dumps(line) + "\n")
            except Exception:
                pass

    def route(self, req):
        """Fill req.verb/resource/ns/name/sub from path and method (no errors here)."""
        segs = [s for s in req.path.split("/") if s]
        if len(segs) >= 2 and segs[0] == "api" and segs[1] == "v1":
            gv, rest, group = "v1", segs[2:], ""
        elif len(segs) >= 3 and segs[0] == "apis":
            gv, rest, group = segs[1] + "/" + segs[2], segs[3:], segs[1]
        else:
            return
        if not rest:
            return
        ns = None
        if rest[0] == "namespaces" and len(rest) == 3 and gv == "v1" and \
                rest[2] in ("status", "finalize"):
            pass   # a namespace's own subresource
        elif rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        req.group = group
        plural = rest[0]
        req.resource = plural if not group else plural + "." + group
        req.ns = ns
        req.name = rest[1] if len(rest) > 1 else None
        req.sub = rest[2] if len(rest) > 2 else None
        m = req.method
        if m == "GET":
            if req.name is None:
                req.verb = "watch" if req.query.get("watch") in ("1", "true", "True") else "list"
            else:
                req.verb = "get"
        elif m == "POST":
            req.verb = "create"
        elif m == "PUT":
            req.verb = "update"
        elif m == "PATCH":
            req.verb = "patch"
        elif m == "DELETE":
            req.verb = "delete" if req.name else "deletecollection"
        req.gv = gv

    # -------------------------------------------------------------- serving
    def resolve(self, req):
        gv = req.gv
        if gv is None or req.resource is None:
            return None, None
        plural = req.resource.split(".")[0]
        rt = self.sim.find_type(gv, plural)
        if rt is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource",
                           {})
        if rt.namespaced:
            pass
        else:
            if req.ns is not None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource",
                               {})
        return rt, gv

    def serve(self, req):
        p = req.path
        if req.resource is None:
            return self.serve_nonresource(req)
        rt, gv = self.resolve(req)
        sim = self.sim
        q = req.query
        if req.sub == "finalize" and rt.key == ("", "namespaces") and req.method == "PUT":
            pass
        elif req.sub is not None:
            if req.sub != "status" or not rt.has_status or req.method not in ("GET", "PUT",
                                                                             "PATCH"):
                raise ApiError(404, "NotFound", "the server could not find the requested resource",
                               {})
        ns = req.ns
        if rt.namespaced and ns is None and req.verb not in ("list", "watch"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        if req.verb is None:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the "
                           "requested resource", {})
        if rt.virtual:
            if req.verb != "create" or req.name is not None:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method "
                               "on the requested resource", {})
            return self.json(201, self.access_review(rt, req, self.decode_body(req)))
        table = "as=Table" in req.headers.get("accept", "")
        sim.field_validation = q.get("fieldValidation", "Warn")
        sim.warnings = []
        if req.verb == "list":
            meta, items = sim.do_list(rt, ns, q)
            if table:
                return self.json(200, V.table_for(sim, rt, items, meta, q), TABLE_CT)
            return self.json(200, sim.list_body(rt, meta, items))
        if req.verb == "get":
            obj = sim.get_obj(rt, ns, req.name)
            if table:
                return self.json(200, V.table_for(sim, rt, [obj],
                                                  {"resourceVersion": obj["metadata"][
                                                      "resourceVersion"]}, q), TABLE_CT)
            return self.json(200, sim.out_obj(rt, obj))
        # writes
        if req.verb in ("create", "update"):
            body = self.decode_body(req)
            if req.verb == "create":
                if req.name is not None:
                    raise ApiError(405, "MethodNotAllowed", "the server does not allow this "
                                   "method on the requested resource", {})
                obj = sim.do_create(rt, ns, body, q)
                return self.json(201, sim.out_obj(rt, obj))
            obj = sim.do_update(rt, ns, req.name, body, q, req.sub)
            return self.json(200, sim.out_obj(rt, obj))
        if req.verb == "patch":
            ct = req.headers.get("content-type", "").split(";")[0].strip()
            if ct == "application/apply-patch+yaml":
                if not q.get("fieldManager"):
                    raise ApiError(400, "BadRequest", "PATCH, application/apply-patch+yaml: "
                                   "fieldManager is required for apply requests")
                try:
                    patch = json.loads(req.body)
                except ValueError:
                    raise ApiError(415, "UnsupportedMediaType", "kubesim accepts server-side "
                                   "apply bodies only in JSON form (JSON is YAML)")
                obj, created = sim.do_apply(rt, ns, req.name, patch, q, req.sub)
                return self.json(201 if created else 200, sim.out_obj(rt, obj))
            if ct not in PATCH_TYPES:
                raise unsupported_media(ct, custom=not rt.builtin)
            patch = parse_json(req.body)
            obj = sim.do_patch(rt, ns, req.name, ct, patch, q, req.sub)
            return self.json(200, sim.out_obj(rt, obj))
        if req.verb == "delete":
            opts = parse_json(req.body) if req.body.strip() else {}
            if not isinstance(opts, dict):
                opts = {}
            obj = sim.do_delete(rt, ns, req.name, opts, q)
            return self.json(200, sim.out_obj(rt, obj))
        if req.verb == "deletecollection":
            opts = parse_json(req.body) if req.body.strip() else {}
            if not isinstance(opts, dict):
                opts = {}
            meta, items = sim.do_list(rt, ns, {k: v for k, v in q.items()
                                               if k in ("labelSelector", "fieldSelector")})
            out = []
            for o in items:
                md = o["metadata"]
                try:
                    out.append(sim.do_delete(rt, md.get("namespace"), md["name"], opts, q))
                except ApiError:
                    pass
            return self.json(200, sim.list_body(rt, {"resourceVersion": str(sim.rv)}, out))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the "
                       "requested resource", {})

    def decode_body(self, req):
        ct = req.headers.get("content-type", "application/json").split(";")[0].strip()
        if ct == "application/vnd.kubernetes.protobuf":
            try:
                return ksproto.decode(req.body)
            except ksproto.ProtoError as e:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in "
                               "an unknown format - accepted media types include: "
                               "application/json (kubesim: %s)" % e)
        if ct not in ("application/json", ""):
            raise ApiError(415, "UnsupportedMediaType", 'the body of the request was in an '
                           'unknown format - accepted media types include: application/json, '
                           'application/yaml, application/vnd.kubernetes.protobuf')
        return parse_json(req.body)

    def access_review(self, rt, req, body):
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request was not a JSON object")
        spec = body.get("spec") or {}
        me = req.uobj
        out = {"kind": rt.kind, "apiVersion": rt.gv, "metadata": body.get("metadata") or {},
               "spec": spec}
        if rt.plural == "selfsubjectrulesreviews":
            out["status"] = ksrbac.rules_review(self.sim, me, spec.get("namespace") or None)
            return out
        if rt.plural in ("subjectaccessreviews", "localsubjectaccessreviews"):
            if not spec.get("user") and not spec.get("groups"):
                raise ApiError(422, "Invalid", '%s.authorization.k8s.io "" is invalid: '
                               'spec.user: Invalid value: "": at least one of user or group '
                               'must be specified' % rt.kind)
            who = ksrbac.User(spec.get("user") or "", spec.get("groups") or [])
            if rt.plural == "localsubjectaccessreviews":
                spec.setdefault("resourceAttributes", {})["namespace"] = req.ns
        else:
            who = me
        out["status"] = ksrbac.review(self.sim, who, spec)
        return out

    def json(self, code, obj, ct="application/json"):
        h = {"Content-Type": ct}
        if self.sim.warnings:
            h["Warning"] = ", ".join('299 - %s' % json.dumps(w) for w in self.sim.warnings)
            self.sim.warnings = []
        return code, h, dumps(obj).encode() + b"\n"

    def serve_nonresource(self, req):
        sim = self.sim
        p = req.path.rstrip("/") or "/"
        if req.method != "GET":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the "
                           "requested resource", {})
        if p == "/version":
            return self.json(200, VERSION_INFO)
        if p in ("/healthz", "/livez", "/readyz"):
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, b"ok"
        if p == "/api":
            return self.json(200, {"kind": "APIVersions", "versions": ["v1"],
                                   "serverAddressByClientCIDRs": [
                                       {"clientCIDR": "0.0.0.0/0",
                                        "serverAddress": "%s:%d" % (self.host, self.port)}]})
        if p == "/api/v1":
            return self.json(200, self.resource_list("v1"))
        if p == "/apis":
            return self.json(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                   "groups": [self.api_group(g) for g in self.groups()]})
        segs = p.split("/")[1:]
        if len(segs) == 2 and segs[0] == "apis" and segs[1] in self.groups():
            g = self.api_group(segs[1])
            g.update({"kind": "APIGroup", "apiVersion": "v1"})
            return self.json(200, g)
        if len(segs) == 3 and segs[0] == "apis" and (segs[1] + "/" + segs[2]) in sim.types:
            return self.json(200, self.resource_list(segs[1] + "/" + segs[2]))
        if segs and segs[0] == "openapi":
            r = V.openapi(sim, segs[1:], req.query)
            if r is not None:
                return self.json(200, r)
        raise ApiError(404, "NotFound", "the server could not find the requested resource", {})

    def groups(self):
        gs = []
        for gv in self.sim.types:
            if "/" in gv:
                g = gv.split("/")[0]
                if g not in gs:
                    gs.append(g)
        return gs   # built-in groups in registration order, then CRD groups as created

    def api_group(self, g):
        vers = [gv.split("/")[1] for gv in self.sim.types if gv.split("/")[0] == g and "/" in gv]
        vers.sort(key=version_priority, reverse=True)
        vs = [{"groupVersion": g + "/" + v, "version": v} for v in vers]
        pref = vs[0]
        for m in self.sim.types.get(g + "/" + vers[0], {}).values():
            if getattr(m, "storage_version", None):
                pref = {"groupVersion": g + "/" + m.storage_version, "version": m.storage_version}
        return {"name": g, "versions": vs, "preferredVersion": pref}

    def resource_list(self, gv):
        res = []
        for rt in self.sim.types.get(gv, {}).values():
            r = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                 "kind": rt.kind, "verbs": rt.verbs}
            if rt.short:
                r["shortNames"] = rt.short
            if rt.categories:
                r["categories"] = rt.categories
            if not rt.builtin:
                r["storageVersionHash"] = base64.b64encode(
                    (rt.gv + rt.plural).encode()).decode()[:11]
            res.append(r)
            if rt.key == ("", "namespaces"):
                res.append({"name": "namespaces/finalize", "singularName": "",
                            "namespaced": False, "kind": "Namespace", "verbs": ["update"]})
            if rt.has_status:
                res.append({"name": rt.plural + "/status", "singularName": "",
                            "namespaced": rt.namespaced, "kind": rt.kind,
                            "verbs": ["get", "patch", "update"]})
        res.sort(key=lambda r: r["name"])
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                "resources": res}

    # -------------------------------------------------------------- watch
    async def serve_watch(self, req, writer, reader=None):
        sim = self.sim
        rt, gv = self.resolve(req)
        q = req.query
        if req.sub is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        lsel = V.parse_label_selector(q.get("labelSelector", ""))
        fsel = V.parse_field_selector(q.get("fieldSelector", ""), rt)
        table = "as=Table" in req.headers.get("accept", "")
        rvq = q.get("resourceVersion", "")
        try:
            start = int(rvq) if rvq not in ("", "0") else None
        except ValueError:
            raise ApiError(400, "BadRequest", 'resourceVersion: Invalid value: "%s": strconv.'
                           'ParseUint: parsing "%s": invalid syntax' % (rvq, rvq))
        try:
            tmo = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else \
                random.uniform(1800, 3600)
        except ValueError:
            raise ApiError(400, "BadRequest", "invalid timeoutSeconds")
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true", "True")
        initial = q.get("sendInitialEvents") in ("1", "true", "True")
        if initial:
            errs = []
            if q.get("resourceVersionMatch") != "NotOlderThan":
                errs.append(("FieldValueForbidden", "resourceVersionMatch", "Forbidden: "
                             "sendInitialEvents requires setting resourceVersionMatch to "
                             "NotOlderThan"))
            if not bookmarks:
                errs.append(("FieldValueForbidden", "allowWatchBookmarks", "Forbidden: "
                             "sendInitialEvents requires setting allowWatchBookmarks to true"))
            if errs:
                raise ApiError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: ' + (
                    errs[0][1] + ": " + errs[0][2] if len(errs) == 1 else "[" + ", ".join(
                        e[1] + ": " + e[2] for e in errs) + "]"),
                    {"group": "meta.k8s.io", "kind": "ListOptions", "causes": [
                        {"reason": r, "message": m, "field": f} for r, f, m in errs]})
            if start is not None and start > sim.rv:
                sim.check_rv_param(q)
            start = None
        w = Watcher(rt, req.ns, lsel, fsel, table, self.args.watch_queue_limit)
        error = None
        if start is None:
            for o in sorted(sim.objs[rt.skey].values(),
                            key=lambda o: (o["metadata"].get("namespace") or "",
                                           o["metadata"]["name"])):
                if w.match(o):
                    w.queue.append(("ADDED", Event(int(o["metadata"]["resourceVersion"]),
                                                   rt.skey, "ADDED", o, None)))
        elif start > sim.rv:
            sim.check_rv_param(q)
        elif start < sim.compacted:
            error = status_obj(410, "Expired", "too old resource version: %d (%d)"
                               % (start, sim.compacted))
        else:
            for ev in sim.history:
                if ev.rv > start and ev.key == rt.skey:
                    w.offer(ev)
        req.code = 200
        self.account(req)
        ct = TABLE_CT if table else "application/json"
        writer.write(("HTTP/1.1 200 OK\r\nContent-Type: %s\r\nCache-Control: no-cache, private"
                      "\r\nTransfer-Encoding: chunked\r\n\r\n" % ct).encode())
        if error is not None:
            self.write_chunk(writer, dumps({"type": "ERROR", "object": error}).encode() + b"\n")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return
        if initial:
            # end of the initial state: a bookmark marked k8s.io/initial-events-end
            w.queue.append(("BOOKMARK", Event(sim.rv, rt.skey, "BOOKMARK", {
                "kind": rt.kind, "apiVersion": rt.gv, "metadata": {
                    "resourceVersion": str(sim.rv),
                    "annotations": {"k8s.io/initial-events-end": "true"}}}, None)))
        sim.watchers.setdefault(rt.skey, set()).add(w)
        loop = asyncio.get_running_loop()

        async def eof_watch():
            # the client sends nothing on a watch; EOF or data means it went away
            try:
                await reader.read(4096)
            except (ConnectionError, OSError, ssl.SSLError):
                pass
            w.close("gone")
        eof_task = loop.create_task(eof_watch()) if reader is not None else None
        deadline = loop.time() + tmo
        next_bm = loop.time() + self.bookmark_interval
        first_table = True
        try:
            while True:
                if w.queue and w.closed != "overflow":
                    lag = sim.faults.get("watchLatencyMs") or 0
                    if lag:
                        await asyncio.sleep(lag / 1000.0)   # order is kept: one batch at a time
                    batch, w.queue = w.queue, []
                    out = []
                    for typ, ev in batch:
                        if typ == "BOOKMARK":
                            out.append(dumps({"type": typ, "object": ev.obj}).encode() + b"\n")
                        elif table:
                            t = V.table_for(sim, rt, [ev.obj], {"resourceVersion": str(ev.rv)},
                                            q, with_columns=first_table)
                            first_table = False
                            out.append(dumps({"type": typ, "object": t}).encode() + b"\n")
                        else:
                            b = ev.cache.get((typ, rt.gv))
                            if b is None:
                                b = dumps({"type": typ, "object": sim.out_obj(rt, ev.obj)}
                                          ).encode() + b"\n"
                                ev.cache[(typ, rt.gv)] = b
                            out.append(b)
                    sim.watch_events += len(out)
                    for b in out:
                        self.write_chunk(writer, b)
                    await writer.drain()
                    continue
                if w.closed:
                    if w.closed in ("abort", "gone"):
                        writer.transport.abort()
                        return
                    break
                now = loop.time()
                if now >= deadline:
                    break
                if bookmarks and now >= next_bm:
                    bm = {"kind": rt.kind, "apiVersion": rt.gv,
                          "metadata": {"resourceVersion": str(sim.rv)}}
                    if table:
                        bm = {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                              "metadata": {"resourceVersion": str(sim.rv)},
                              "columnDefinitions": None, "rows": None}
                    self.write_chunk(writer, dumps({"type": "BOOKMARK", "object": bm}).encode()
                                     + b"\n")
                    await writer.drain()
                    next_bm = now + self.bookmark_interval
                    continue
                wait = deadline - now
                if bookmarks:
                    wait = min(wait, next_bm - now)
                w.wake.clear()
                if w.queue or w.closed:
                    continue
                try:
                    await asyncio.wait_for(w.wake.wait(), timeout=max(wait, 0.001))
                except asyncio.TimeoutError:
                    pass
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        finally:
            if eof_task is not None:
                eof_task.cancel()
            s = sim.watchers.get(rt.skey)
            if s is not None:
                s.discard(w)

    def write_chunk(self, writer, b):
        writer.write(b"%x\r\n%s\r\n" % (len(b), b))

    # -------------------------------------------------------------- admin
    def admin(self, req, writer):
        sim = self.sim
        p = req.path.rstrip("/")
        try:
            body = json.loads(req.body) if req.body.strip() else {}
        except ValueError:
            return 400, {"error": "body is not JSON"}
        if not isinstance(body, dict):
            return 400, {"error": "body must be a JSON object"}
        if p == "/kubesim/healthz":
            return 200, {"ok": True}
        if p == "/kubesim/stats":
            if req.method == "GET":
                return 200, self.stats()
        if p == "/kubesim/stats/reset" and req.method == "POST":
            sim.counts.clear()
            sim.codes.clear()
            sim.total = 0
            sim.watch_events = 0
            return 200, self.stats()
        if p == "/kubesim/faults":
            if req.method in ("POST", "PUT", "PATCH"):
                for k, v in body.items():
                    if k not in sim.faults:
                        return 400, {"error": "unknown fault %r" % k}
                    sim.faults[k] = v
            elif req.method == "DELETE":
                sim.faults.update({"errorRate": 0, "latencyMs": 0, "pathRegex": "", "verbs": [],
                                   "watchLatencyMs": 0})
            return 200, dict(sim.faults)
        if p == "/kubesim/close-watches" and req.method == "POST":
            n = 0
            for s in sim.watchers.values():
                for w in list(s):
                    w.close("abort" if body.get("abort") else "graceful")
                    n += 1
            return 200, {"closed": n}
        if p == "/kubesim/compact" and req.method == "POST":
            sim.compact(body.get("keep", 0))
            return 200, {"compactedResourceVersion": str(sim.compacted),
                         "historySize": len(sim.history)}
        if p == "/kubesim/history" and req.method == "POST":
            sim.hist_max = max(1, int(body.get("max", sim.hist_max)))
            sim.compact(min(len(sim.history), sim.hist_max))
            return 200, {"historyMax": sim.hist_max}
        if p == "/kubesim/outage" and req.method == "POST":
            secs = float(body.get("seconds", 5))
            asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(
                self.outage(secs)))
            return 200, {"outageSeconds": secs}
        if p == "/kubesim/save" and req.method == "POST":
            path = body.get("path") or self.args.state
            if not path:
                return 400, {"error": "no --state file and no path given"}
            sim.save_state(path)
            return 200, {"saved": path}
        return 404, {"error": "unknown admin endpoint %s %s" % (req.method, p)}

    def stats(self):
        sim = self.sim
        by_verb, by_res = {}, {}
        for k, n in sim.counts.items():
            v, r = k.split(" ", 1)
            by_verb[v] = by_verb.get(v, 0) + n
            by_res[r] = by_res.get(r, 0) + n
        return {"total": sim.total, "byVerb": by_verb, "byResource": by_res,
                "byVerbResource": dict(sim.counts), "byCode": dict(sim.codes),
                "openWatches": sum(len(s) for s in sim.watchers.values()),
                "watchEventsSent": sim.watch_events,
                "openConnections": len(self.conns),
                "resourceVersion": str(sim.rv), "compactedResourceVersion": str(sim.compacted),
                "historySize": len(sim.history), "historyMax": sim.hist_max,
                "faults": dict(sim.faults), "outage": self.sim.outage_until > time.time()}

    async def outage(self, secs):
        sim = self.sim
        sim.outage_until = time.time() + secs
        for srv in self.listeners:
            srv.close()
        self.listeners = []
        for s in sim.watchers.values():
            for w in list(s):
                w.close("abort")
        for wr in list(self.conns):
            try:
                wr.transport.abort()
            except Exception:
                pass
        await asyncio.sleep(secs)
        await self.listen()
        sim.outage_until = 0

    async def listen(self):
        last = None
        for _ in range(50):
            try:
                srv = await asyncio.start_server(self.on_conn, self.host, self.port,
                                                 ssl=self.ssl, limit=1 << 20,
                                                 reuse_address=True, backlog=1024)
                break
            except OSError as e:
                last = e
                await asyncio.sleep(0.1)
        else:
            raise last
        self.listeners.append(srv)
        if self.port == 0:
            self.port = srv.sockets[0].getsockname()[1]
        return srv


def version_priority(v):
    m = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", v)
    if not m:
        return (0, 0, 0, v)
    lvl = {"alpha": 1, "beta": 2, None: 3}[m.group(2)]
    return (lvl, int(m.group(1)), int(m.group(3) or 0), "")


def parse_qsl(qs):
    return urllib.parse.parse_qsl(qs, keep_blank_values=True)


def parse_json(b):
    try:
        return json.loads(b) if b else {}
    except ValueError as e:
        raise ApiError(400, "BadRequest", "couldn't get version/kind; json parse error: %s" % e)


# ==================================================================== TLS and kubeconfig
def ensure_tls(d, host):
    os.makedirs(d, exist_ok=True)
    ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, crt = os.path.join(d, "server.key"), os.path.join(d, "server.crt")
    sans = ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]
    try:
        ipaddress.ip_address(host)
        sans.append("IP:" + host)
    except ValueError:
        sans.append("DNS:" + host)
    sans = sorted(set(sans))
    sanfile = os.path.join(d, "server.san")

    def run(*cmd):
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    if not (os.path.exists(ca_key) and os.path.exists(ca_crt)):
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", ca_key, "-out", ca_crt, "-days", "3650", "-subj",
            "/CN=kubesim-ca", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    have = open(sanfile).read().strip() if os.path.exists(sanfile) else ""
    if not (os.path.exists(key) and os.path.exists(crt)) or have != ",".join(sans):
        csr = os.path.join(d, "server.csr")
        ext = os.path.join(d, "server.ext")
        run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=kubesim")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n" % ",".join(sans))
        run("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
            "-CAcreateserial", "-out", crt, "-days", "3650", "-extfile", ext)
        with open(sanfile, "w") as f:
            f.write(",".join(sans) + "\n")
        for p in (csr, ext):
            os.unlink(p)
    return ca_crt, crt, key


def write_kubeconfig(path, url, ca_crt, token):
    lines = ["apiVersion: v1", "kind: Config", "clusters:", "- name: kubesim", "  cluster:",
             "    server: %s" % url]
    if ca_crt:
        with open(ca_crt, "rb") as f:
            lines.append("    certificate-authority-data: %s" % base64.b64encode(f.read()).decode())
    lines += ["contexts:", "- name: kubesim", "  context:", "    cluster: kubesim",
              "    user: kubesim", "    namespace: default", "current-context: kubesim",
              "preferences: {}", "users:", "- name: kubesim", "  user:"]
    # without --token any bearer token is accepted; write one anyway, because kubectl
    # prompts for a user name over HTTPS when the kubeconfig user has no credentials
    lines.append("    token: %s" % json.dumps(token or "kubesim-no-auth"))
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_token_file(path):
    """kube-apiserver --token-auth-file format: token,user,uid[,"group1,group2"]."""
    import csv
    out = {}
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if not row or row[0].startswith("#"):
                continue
            if len(row) < 2:
                raise SystemExit("kubesim: %s: a line needs at least token,user" % path)
            groups = [g.strip() for g in row[3].split(",") if g.strip()] if len(row) > 3 else []
            out[row[0].strip()] = ksrbac.User(row[1].strip(), groups)
    return out


def parse_listen(s):
    m = re.match(r"^\[([^\]]+)\]:(\d+)$", s) or re.match(r"^([^:]+):(\d+)$", s)
    if not m:
        raise SystemExit("kubesim: --listen wants HOST:PORT or [V6]:PORT, got %r" % s)
    return m.group(1), int(m.group(2))


def raise_nofile():
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass


def main(argv=None):
    raise_nofile()
    ap = argparse.ArgumentParser(prog="kubesim", description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--tls-dir")
    ap.add_argument("--plain-http", action="store_true")
    ap.add_argument("--token")
    ap.add_argument("--token-file", help="token,user[,uid,groups] lines (static token file)")
    ap.add_argument("--authorize", action="store_true",
                    help="enforce RBAC from the stored roles and bindings (users from tokens)")
    ap.add_argument("--state")
    ap.add_argument("--kubeconfig-out")
    ap.add_argument("--request-log")
    ap.add_argument("--admin", help="extra plain-HTTP listener for /kubesim/ (HOST:PORT)")
    ap.add_argument("--service-cidr", default="198.19.0.0/16,2001:db8:ffff::/112")
    ap.add_argument("--node-port-range", default="30000-32767")
    ap.add_argument("--history", type=int, default=10000)
    ap.add_argument("--bookmark-interval", type=float, default=5.0)
    ap.add_argument("--watch-queue-limit", type=int, default=100000)
    ap.add_argument("--fault-error-rate", type=float, default=0.0)
    ap.add_argument("--fault-error-code", type=int, default=500, choices=[429, 500, 503])
    ap.add_argument("--fault-retry-after", type=int, default=1)
    ap.add_argument("--fault-latency-ms", type=float, default=0.0)
    ap.add_argument("--fault-watch-latency-ms", type=float, default=0.0)
    ap.add_argument("--ready-file", help="also write the base URL to this file when ready")
    ap.add_argument("--pid-file", help="write the process id to this file when ready")
    ap.add_argument("--seed", type=int, help="seed for cluster IP, node port and generateName "
                    "choices (default: random, as a real server)")
    args = ap.parse_args(argv)
    host, port = parse_listen(args.listen)
    try:
        V.ServiceAlloc.check_cidrs(args.service_cidr)
        lo, hi = (int(x) for x in args.node_port_range.split("-"))
    except ValueError as e:
        raise SystemExit("kubesim: %s" % e)
    args.node_ports = (lo, hi)
    if args.seed is not None:
        random.seed(args.seed)
    sim = Sim(args)
    if args.state and os.path.exists(args.state):
        sim.load_state(args.state)
    sim.bootstrap()
    srv = Server(sim, args)
    srv.host, srv.port = host, port
    tmpdir = None
    ca_crt = None
    if not args.plain_http:
        d = args.tls_dir
        if not d:
            tmpdir = tempfile.mkdtemp(prefix="kubesim-tls-")
            d = tmpdir
        ca_crt, crt, key = ensure_tls(d, host)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(crt, key)
        ctx.set_alpn_protocols(["http/1.1"])
        srv.ssl = ctx
    asyncio.run(run(sim, srv, args, ca_crt, tmpdir))


async def run(sim, srv, args, ca_crt, tmpdir):
    loop = asyncio.get_running_loop()
    await srv.listen()
    admin_srv = None
    if args.admin:
        ah, apt = parse_listen(args.admin)
        admin_srv = await asyncio.start_server(srv.on_admin_conn, ah, apt, reuse_address=True)
        args.admin_port = admin_srv.sockets[0].getsockname()[1]
    scheme = "http" if args.plain_http else "https"
    hostpart = "[%s]" % srv.host if ":" in srv.host else srv.host
    url = "%s://%s:%d" % (scheme, hostpart, srv.port)
    sim.base_url = url
    if args.kubeconfig_out:
        write_kubeconfig(args.kubeconfig_out, url, ca_crt, args.token)
    stop = asyncio.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    line = "kubesim ready " + url
    if admin_srv:
        line += " admin http://%s:%d" % (parse_listen(args.admin)[0], args.admin_port)
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(url + "\n")
        os.replace(args.ready_file + ".tmp", args.ready_file)
    if args.pid_file:
        with open(args.pid_file + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(args.pid_file + ".tmp", args.pid_file)
    print(line, flush=True)
    await stop.wait()
    for l in srv.listeners:
        l.close()
    if args.state:
        sim.save_state(args.state)
    for wr in list(srv.conns):
        try:
            wr.transport.abort()
        except Exception:
            pass
    if tmpdir:
        import shutil
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
