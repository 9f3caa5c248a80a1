"""kubesim helpers: validation, defaulting, selectors, patches, tables, OpenAPI.

Pure functions over JSON-like dicts; the server in kubesim.py calls them.
Messages follow the real kube-apiserver's wording where we know it.
"""

import copy
import ipaddress
import json
import random
import re
import time

class ApiError(Exception):
    """An error answered as a meta/v1 Status."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or {}

    def status(self):
        return status_obj(self.code, self.reason, self.message, self.details)


def status_obj(code, reason, message, details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason, "code": code}
    if details is not None:
        s["details"] = details
    return s



# ==================================================================== names and labels
DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUB = DNS1123_LABEL + r"(\." + DNS1123_LABEL + r")*"
DNS1035_LABEL = r"[a-z]([-a-z0-9]*[a-z0-9])?"
QNAME_PART = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_re_label = re.compile("^" + DNS1123_LABEL + "$")
_re_sub = re.compile("^" + DNS1123_SUB + "$")
_re_1035 = re.compile("^" + DNS1035_LABEL + "$")
_re_qpart = re.compile("^" + QNAME_PART + "$")
_re_lval = re.compile("^" + LABEL_VALUE + "$")

MSG_SUB = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
           "'-' or '.', and must start and end with an alphanumeric character (e.g. "
           "'example.com', regex used for validation is '%s')" % DNS1123_SUB)
MSG_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '%s')" % DNS1123_LABEL)
MSG_1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
            "with an alphabetic character, and end with an alphanumeric character (e.g. "
            "'my-name',  or 'abc-123', regex used for validation is '%s')" % DNS1035_LABEL)
MSG_QPART = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
             "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
             "'123-abc', regex used for validation is '%s')" % QNAME_PART)
MSG_LVAL = ("a valid label must be an empty string or consist of alphanumeric characters, '-', "
            "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  "
            "or 'my_value',  or '12345', regex used for validation is '%s')" % LABEL_VALUE)


def q(v):
    """Render a value the way Go's %q / errors do in field error messages."""
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return json.dumps(v, separators=(",", ":"))


def e_invalid(field, value, detail):
    return ("FieldValueInvalid", field, "Invalid value: %s: %s" % (q(value), detail))


def e_required(field, detail=""):
    return ("FieldValueRequired", field, "Required value" + (": " + detail if detail else ""))


def e_unsupported(field, value, allowed):
    return ("FieldValueNotSupported", field, "Unsupported value: %s: supported values: %s"
            % (q(value), ", ".join(q(a) for a in allowed)))


def e_forbidden(field, detail):
    return ("FieldValueForbidden", field, "Forbidden: " + detail)


def e_duplicate(field, value):
    return ("FieldValueDuplicate", field, "Duplicate value: %s" % q(value))


def e_toomany(field, n, mx):
    return ("FieldValueTooMany", field, "Too many: %d: must have at most %d items" % (n, mx))


def check_subdomain(v):
    out = []
    if len(v) > 253:
        out.append("must be no more than 253 characters")
    if not _re_sub.match(v):
        out.append(MSG_SUB)
    return out


def check_label(v):
    out = []
    if len(v) > 63:
        out.append("must be no more than 63 characters")
    if not _re_label.match(v):
        out.append(MSG_LABEL)
    return out


def check_1035(v):
    out = []
    if len(v) > 63:
        out.append("must be no more than 63 characters")
    if not _re_1035.match(v):
        out.append(MSG_1035)
    return out


def check_path_segment(v):
    if v in (".", ".."):
        return ["may not be '%s'" % v]
    for c in ("/", "%"):
        if c in v:
            return ["may not contain '%s'" % c]
    return []


def check_qualified_name(v):
    out = []
    parts = v.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            out.append("prefix part must be non-empty")
        else:
            out += ["prefix part " + m for m in check_subdomain(prefix)]
    else:
        return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and "
                "must start and end with an alphanumeric character (e.g. 'MyName',  or "
                "'my.name',  or '123-abc', regex used for validation is '%s') with an optional "
                "DNS subdomain prefix and '/' (e.g. 'example.com/MyName')" % QNAME_PART]
    if not name:
        out.append("name part must be non-empty")
    elif len(name) > 63:
        out.append("name part must be no more than 63 characters")
    elif not _re_qpart.match(name):
        out.append(MSG_QPART)
    return out


def validate_labels(labels, field, errs):
    if labels is None:
        return
    if not isinstance(labels, dict):
        errs.append(e_invalid(field, labels, "must be a map of strings"))
        return
    for k, v in labels.items():
        for m in check_qualified_name(k):
            errs.append(e_invalid(field, k, m))
        if not isinstance(v, str):
            errs.append(e_invalid(field, v, "must be a string"))
            continue
        if len(v) > 63:
            errs.append(e_invalid(field, v, "must be no more than 63 characters"))
        if not _re_lval.match(v):
            errs.append(e_invalid(field, v, MSG_LVAL))


def validate_annotations(ann, field, errs):
    if ann is None:
        return
    if not isinstance(ann, dict):
        errs.append(e_invalid(field, ann, "must be a map of strings"))
        return
    total = 0
    for k, v in ann.items():
        for m in check_qualified_name(k.lower()):
            errs.append(e_invalid(field, k, m))
        if not isinstance(v, str):
            errs.append(e_invalid(field, v, "must be a string"))
            continue
        total += len(k) + len(v)
    if total > 256 * 1024:
        errs.append(("FieldValueTooLong", field, "Too long: must have at most 262144 bytes"))


NAME_RULES = {
    ("", "namespaces"): check_label,
    ("", "services"): check_1035,
    ("rbac.authorization.k8s.io", "roles"): check_path_segment,
    ("rbac.authorization.k8s.io", "clusterroles"): check_path_segment,
    ("rbac.authorization.k8s.io", "rolebindings"): check_path_segment,
    ("rbac.authorization.k8s.io", "clusterrolebindings"): check_path_segment,
}


def validate_meta(rt, obj):
    errs = []
    md = obj["metadata"]
    name = md.get("name")
    if not name:
        if md.get("generateName"):
            return errs
        errs.append(e_required("metadata.name", "name or generateName is required"))
        return errs
    if not isinstance(name, str):
        errs.append(e_invalid("metadata.name", name, "must be a string"))
        return errs
    for m in NAME_RULES.get(rt.key, check_subdomain)(name):
        errs.append(e_invalid("metadata.name", name, m))
    validate_labels(md.get("labels"), "metadata.labels", errs)
    validate_annotations(md.get("annotations"), "metadata.annotations", errs)
    fins = md.get("finalizers")
    if fins is not None:
        if not isinstance(fins, list):
            errs.append(e_invalid("metadata.finalizers", fins, "must be a list of strings"))
        else:
            for i, f in enumerate(fins):
                for m in check_qualified_name(f) if isinstance(f, str) else ["must be a string"]:
                    errs.append(e_invalid("metadata.finalizers[%d]" % i, f, m))
    return errs


# ==================================================================== selectors
def _bad(msg):
    return ApiError(400, "BadRequest", msg)


def parse_label_selector(s):
    """Returns a list of (key, op, values); raises ApiError 400 on a syntax error."""
    s = s.strip()
    if not s:
        return []
    parts, depth, cur = [], 0, ""
    for c in s:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    parts.append(cur)
    reqs = []
    for p in parts:
        p = p.strip()
        m = re.match(r"^(\S+)\s+(in|notin)\s*\(([^)]*)\)$", p)
        if m:
            vals = [v.strip() for v in m.group(3).split(",") if v.strip()]
            reqs.append((m.group(1), m.group(2), vals))
        elif re.match(r"^!\s*[^=!\s]+$", p):
            reqs.append((p[1:].strip(), "!", []))
        else:
            m = re.match(r"^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$", p)
            if m:
                op = {"=": "=", "==": "=", "!=": "!="}[m.group(2)]
                reqs.append((m.group(1), op, [m.group(3)]))
            elif re.match(r"^[^=!\s(),]+$", p):
                reqs.append((p, "exists", []))
            else:
                raise _bad("unable to parse requirement: found '%s', expected: identifier" % p)
        k = reqs[-1][0]
        if check_qualified_name(k):
            raise _bad("unable to parse requirement: invalid label key \"%s\": %s"
                       % (k, "; ".join(check_qualified_name(k))))
        for v in reqs[-1][2]:
            if len(v) > 63 or not _re_lval.match(v):
                raise _bad("unable to parse requirement: invalid label value: \"%s\": at key: "
                           "\"%s\": %s" % (v, k, MSG_LVAL))
    return reqs


def labels_match(reqs, labels):
    for k, op, vals in reqs:
        has = k in labels
        v = labels.get(k)
        if op == "=":
            if not has or v != vals[0]:
                return False
        elif op == "!=":
            if has and v == vals[0]:
                return False
        elif op == "in":
            if not has or v not in vals:
                return False
        elif op == "notin":
            if has and v in vals:
                return False
        elif op == "exists":
            if not has:
                return False
        elif op == "!":
            if has:
                return False
    return True


FIELDS = {
    ("", "pods"): ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                   "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
                   "status.nominatedNodeName"],
    ("", "events"): ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                     "involvedObject.uid", "involvedObject.apiVersion",
                     "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                     "reportingComponent", "source", "type"],
    ("", "secrets"): ["type"],
    ("", "nodes"): ["spec.unschedulable"],
    ("", "namespaces"): ["status.phase"],
    ("", "services"): ["spec.clusterIP", "spec.type"],
    ("events.k8s.io", "events"): ["reason", "type", "regarding.kind", "regarding.name",
                                  "regarding.namespace", "regarding.uid", "reportingController"],
}


def parse_field_selector(s, rt):
    s = s.strip()
    if not s:
        return []
    out = []
    allowed = ["metadata.name", "metadata.namespace"] + FIELDS.get(rt.key, [])
    for p in s.split(","):
        p = p.strip()
        m = re.match(r"^([^=!]+)(==|=|!=)(.*)$", p)
        if not m:
            raise _bad("invalid selector: '%s'; can't understand '%s'" % (s, p))
        f, op, v = m.group(1).strip(), m.group(2), m.group(3).strip()
        if f not in allowed:
            raise _bad('field label not supported: %s' % f)
        if rt.conv:   # events.k8s.io fields live under their core/v1 names
            f = {"reportingController": "reportingComponent"}.get(f, f)
            if f.startswith("regarding."):
                f = "involvedObject." + f[len("regarding."):]
        out.append((f, "!=" if op == "!=" else "=", v))
    return out


def field_value(obj, path):
    if path == "source":
        path = "source.component"
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def fields_match(reqs, obj):
    for f, op, v in reqs:
        val = field_value(obj, f)
        if f == "spec.unschedulable" and val == "":
            val = "false"
        if (val == v) != (op == "="):
            return False
    return True


# ==================================================================== patches
class PatchError(Exception):
    pass


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# merge key for lists of objects, keyed by field name (and parent context where needed)
SMP_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name",
            "env": "name", "volumes": "name", "volumeMounts": "mountPath",
            "volumeDevices": "devicePath", "imagePullSecrets": "name", "conditions": "type",
            "ownerReferences": "uid", "taints": "key", "hostAliases": "ip",
            "topologySpreadConstraints": "topologyKey", "addresses": "type",
            "subsets": None, "ingress": None, "podIPs": "ip", "hostIPs": "ip",
            "clusterIPs": None, "externalIPs": None, "ipFamilies": None}
SMP_PRIMITIVE_MERGE = {"finalizers"}


def smp_key(path, field):
    if field == "ports":
        if "containers" in path or "initContainers" in path or "ephemeralContainers" in path:
            return "containerPort"
        if path and path[-1] == "spec":
            return "port"
        return None
    if field == "addresses" and not (len(path) >= 1 and path[-1] == "status"):
        return None
    if field == "conditions" and "status" not in path:
        return None
    return SMP_KEYS.get(field)


def strategic_merge(orig, patch, path):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out = dict(orig) if isinstance(orig, dict) else {}
    retain = patch.get("$retainKeys")
    orders = {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            f = k.split("/", 1)[1]
            if isinstance(out.get(f), list):
                out[f] = [x for x in out[f] if x not in (v or [])]
            continue
        if k.startswith("$"):
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            r = strategic_merge(out.get(k), v, path + (k,))
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        elif isinstance(v, list):
            key = smp_key(path, k)
            cur = out.get(k) if isinstance(out.get(k), list) else []
            if k in SMP_PRIMITIVE_MERGE:
                out[k] = cur + [x for x in v if x not in cur]
            elif key and all(isinstance(x, dict) for x in v):
                res = [copy.deepcopy(x) for x in cur]
                for item in v:
                    if item.get("$patch") == "replace":
                        item = {a: b for a, b in item.items() if a != "$patch"}
                    idx = next((i for i, x in enumerate(res) if isinstance(x, dict) and
                                x.get(key) == item.get(key)), None)
                    if item.get("$patch") == "delete":
                        if idx is not None:
                            del res[idx]
                        continue
                    if idx is None:
                        res.append(strategic_merge({}, item, path + (k,)))
                    else:
                        res[idx] = strategic_merge(res[idx], item, path + (k,))
                out[k] = res
            else:
                out[k] = copy.deepcopy(v)
        else:
            out[k] = v
    for f, order in orders.items():
        lst = out.get(f)
        if not isinstance(lst, list) or not isinstance(order, list):
            continue
        key = smp_key(path, f)

        def ident(x):
            return x.get(key) if (key and isinstance(x, dict)) else x
        want = [ident(o) if isinstance(o, dict) else o for o in order]
        ranked = sorted(lst, key=lambda x: (want.index(ident(x)) if ident(x) in want
                                             else len(want)))
        out[f] = ranked
    if isinstance(retain, list):
        for k in list(out):
            if k not in retain:
                del out[k]
    return out


def _ptr(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, dict):
            if p not in cur:
                raise PatchError("doc is missing path: %s" % "/" + "/".join(parts))
            cur = cur[p]
        elif isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                raise PatchError("doc is missing path: /%s" % "/".join(parts))
        else:
            raise PatchError("doc is missing path: /%s" % "/".join(parts))
    return cur


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise PatchError("json patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError("invalid json patch operation: %s" % q(op))
        kind, parts = op["op"], _ptr(op["path"])
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError("missing value for %s operation" % kind)
        if kind == "test":
            if _walk(doc, parts) != op["value"]:
                raise PatchError("testing value %s failed" % op["path"])
            continue
        if kind in ("move", "copy"):
            src = _ptr(op.get("from", ""))
            val = copy.deepcopy(_walk(doc, src))
            if kind == "move":
                doc = _remove(doc, src)
            doc = _add(doc, parts, val, False)
            continue
        if kind == "remove":
            doc = _remove(doc, parts)
        elif kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op["value"]), False)
        elif kind == "replace":
            _walk(doc, parts)
            doc = _add(doc, parts, copy.deepcopy(op["value"]), True)
        else:
            raise PatchError("Unexpected kind: %s" % kind)
    return doc


def _add(doc, parts, val, replace):
    if not parts:
        return val
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = val
    elif isinstance(parent, list):
        if last == "-":
            parent.append(val)
        else:
            try:
                i = int(last)
            except ValueError:
                raise PatchError("invalid array index %s" % last)
            if replace:
                if not 0 <= i < len(parent):
                    raise PatchError("replace operation does not apply: index out of range")
                parent[i] = val
            else:
                if not 0 <= i <= len(parent):
                    raise PatchError("add operation does not apply: index out of range")
                parent.insert(i, val)
    else:
        raise PatchError("add operation does not apply: doc is missing path: /%s"
                         % "/".join(parts))
    return doc


def _remove(doc, parts):
    if not parts:
        raise PatchError("cannot remove the whole document")
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list):
        try:
            del parent[int(last)]
        except (ValueError, IndexError):
            raise PatchError("remove operation does not apply: doc is missing path: /%s"
                             % "/".join(parts))
    else:
        raise PatchError("remove operation does not apply: doc is missing path: /%s"
                         % "/".join(parts))
    return doc


# ==================================================================== services (issue 12)
class ServiceAlloc:
    """Cluster IP and node port bookkeeping."""

    def __init__(self, cidrs, ports=(30000, 32767)):
        self.nets = self.check_cidrs(cidrs)
        self.families = ["IPv4" if n.version == 4 else "IPv6" for n in self.nets]
        self.ips = {}     # ip string -> owner "ns/name"
        self.ports = {}   # node port -> owner
        self.port_range = ports

    @staticmethod
    def check_cidrs(cidrs):
        nets = [ipaddress.ip_network(c.strip(), strict=True) for c in cidrs.split(",") if
                c.strip()]
        if not 1 <= len(nets) <= 2 or (len(nets) == 2 and nets[0].version == nets[1].version):
            raise ValueError("--service-cidr wants one CIDR or one IPv4 and one IPv6 CIDR")
        for n in nets:
            if n.num_addresses < 8:
                raise ValueError("service CIDR %s is too small" % n)
        return nets

    def net_for(self, fam):
        for n in self.nets:
            if (n.version == 4) == (fam == "IPv4"):
                return n
        return None

    def first_ip(self, fam):
        return str(self.net_for(fam).network_address + 1)

    def alloc_ip(self, fam, owner):
        n = self.net_for(fam)
        size = n.num_addresses
        lo, hi = 1, size - 2 if n.version == 4 else size - 1
        for _ in range(200):
            ip = str(n.network_address + random.randint(lo, hi))
            if ip not in self.ips:
                self.ips[ip] = owner
                return ip
        for i in range(lo, hi + 1):
            ip = str(n.network_address + i)
            if ip not in self.ips:
                self.ips[ip] = owner
                return ip
        return None

    def alloc_port(self, owner):
        lo, hi = self.port_range
        for _ in range(200):
            p = random.randint(lo, hi)
            if p not in self.ports:
                self.ports[p] = owner
                return p
        for p in range(lo, hi + 1):
            if p not in self.ports:
                self.ports[p] = owner
                return p
        return None

    def reserve(self, svc):
        owner = svc_owner(svc)
        for ip in svc_ips(svc):
            self.ips[ip] = owner
        for p in svc_ports(svc):
            self.ports[p] = owner

    def release(self, ips, ports, owner):
        for ip in ips:
            if self.ips.get(ip) == owner:
                del self.ips[ip]
        for p in ports:
            if self.ports.get(p) == owner:
                del self.ports[p]


def svc_owner(svc):
    return "%s/%s" % (svc["metadata"].get("namespace"), svc["metadata"].get("name"))


def svc_ips(svc):
    spec = svc.get("spec") or {}
    return [ip for ip in (spec.get("clusterIPs") or []) if ip and ip != "None"]


def svc_ports(svc):
    spec = svc.get("spec") or {}
    out = [p.get("nodePort") for p in spec.get("ports") or [] if isinstance(p, dict) and
           p.get("nodePort")]
    if spec.get("healthCheckNodePort"):
        out.append(spec["healthCheckNodePort"])
    return out


def valid_ip(s):
    try:
        ipaddress.ip_address(s)
        return isinstance(s, str) and "%" not in s
    except (ValueError, TypeError):
        return False


def ip_family(s):
    return "IPv4" if ipaddress.ip_address(s).version == 4 else "IPv6"


SVC_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_IANA = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def service_prepare(sim, rt, new, old, errs, op, dry):
    if op == "status":
        return service_status(new, old, errs)
    alloc = sim.svc
    spec = new.get("spec")
    if not isinstance(spec, dict):
        spec = {}
        new["spec"] = spec
    ospec = (old or {}).get("spec") or {}
    if op == "create" or "status" not in new:
        new.setdefault("status", {"loadBalancer": {}})
    typ = spec.setdefault("type", "ClusterIP")
    if typ not in SVC_TYPES:
        errs.append(e_unsupported("spec.type", typ, SVC_TYPES))
        return
    ext = typ == "ExternalName"
    needs_np = typ == "NodePort" or typ == "LoadBalancer"
    # ---- update: keep allocated values the user left out; drop type-dependent fields
    if old is not None:
        otyp = ospec.get("type", "ClusterIP")
        if otyp != "ExternalName" and not ext:
            if not spec.get("clusterIP") and ospec.get("clusterIP"):
                spec["clusterIP"] = ospec["clusterIP"]
            if not spec.get("clusterIPs") and ospec.get("clusterIPs"):
                spec["clusterIPs"] = list(ospec["clusterIPs"])
            if not spec.get("ipFamilies") and ospec.get("ipFamilies"):
                spec["ipFamilies"] = list(ospec["ipFamilies"])
            if not spec.get("ipFamilyPolicy") and ospec.get("ipFamilyPolicy"):
                spec["ipFamilyPolicy"] = ospec["ipFamilyPolicy"]
        if ext and otyp != "ExternalName":
            for f in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                if spec.get(f) == ospec.get(f):
                    spec.pop(f, None)
        if needs_np and otyp in ("NodePort", "LoadBalancer"):
            byname = {p.get("name", ""): p.get("nodePort") for p in ospec.get("ports") or []
                      if isinstance(p, dict)}
            used = {p.get("nodePort") for p in spec.get("ports") or [] if isinstance(p, dict)}
            for p in spec.get("ports") or []:
                if isinstance(p, dict) and not p.get("nodePort"):
                    v = byname.get(p.get("name", ""))
                    if v and v not in used:
                        p["nodePort"] = v
        if not needs_np:
            for i, p in enumerate(spec.get("ports") or []):
                if isinstance(p, dict) and p.get("nodePort"):
                    op_ = (ospec.get("ports") or [])
                    if i < len(op_) and op_[i].get("nodePort") == p["nodePort"]:
                        del p["nodePort"]
        if typ != "LoadBalancer":
            for f in ("allocateLoadBalancerNodePorts", "loadBalancerClass"):
                if f in spec and spec.get(f) == ospec.get(f):
                    del spec[f]
        if not spec.get("healthCheckNodePort") and ospec.get("healthCheckNodePort") and \
                typ == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local":
            spec["healthCheckNodePort"] = ospec["healthCheckNodePort"]
        if spec.get("healthCheckNodePort") and not (
                typ == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local") and \
                spec.get("healthCheckNodePort") == ospec.get("healthCheckNodePort"):
            del spec["healthCheckNodePort"]
        if needs_np and spec.get("externalTrafficPolicy") is None and \
                ospec.get("externalTrafficPolicy"):
            spec["externalTrafficPolicy"] = ospec["externalTrafficPolicy"]
        if not needs_np and spec.get("externalTrafficPolicy") == ospec.get(
                "externalTrafficPolicy"):
            spec.pop("externalTrafficPolicy", None)
    # ---- defaults
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        sac = spec.setdefault("sessionAffinityConfig", {})
        sac.setdefault("clientIP", {}).setdefault("timeoutSeconds", 10800)
    if not ext:
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if needs_np:
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if typ == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    ports = spec.get("ports")
    if ports is None:
        ports = []
    if not isinstance(ports, list):
        errs.append(e_invalid("spec.ports", ports, "must be a list"))
        return
    for p in ports:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
            if "targetPort" not in p and isinstance(p.get("port"), int):
                p["targetPort"] = p["port"]
    # ---- validation
    headless = spec.get("clusterIP") == "None"
    if not ports and not headless and not ext:
        errs.append(e_required("spec.ports"))
    names = set()
    for i, p in enumerate(ports):
        f = "spec.ports[%d]" % i
        if not isinstance(p, dict):
            errs.append(e_invalid(f, p, "must be an object"))
            continue
        nm = p.get("name", "")
        if len(ports) > 1 and not nm:
            errs.append(e_required(f + ".name"))
        elif nm:
            for m in check_label(nm):
                errs.append(e_invalid(f + ".name", nm, m))
            if nm in names:
                errs.append(e_duplicate(f + ".name", nm))
            names.add(nm)
        port = p.get("port")
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            errs.append(e_invalid(f + ".port", port, "must be between 1 and 65535, inclusive"))
        if p.get("protocol") not in ("SCTP", "TCP", "UDP"):
            errs.append(e_unsupported(f + ".protocol", p.get("protocol"), ["SCTP", "TCP", "UDP"]))
        tp = p.get("targetPort")
        if isinstance(tp, int) and not isinstance(tp, bool):
            if not 1 <= tp <= 65535:
                errs.append(e_invalid(f + ".targetPort", tp,
                                      "must be between 1 and 65535, inclusive"))
        elif isinstance(tp, str):
            if len(tp) > 15 or not _IANA.match(tp) or "--" in tp or \
                    not re.search(r"[a-z]", tp):
                errs.append(e_invalid(f + ".targetPort", tp, "must contain only alpha-numeric "
                                      "characters (a-z, 0-9), and hyphens (-)"))
        np_ = p.get("nodePort")
        if np_ and not needs_np:
            errs.append(e_forbidden(f + ".nodePort", "may not be used when `type` is '%s'" % typ))
    seen_pp, seen_np = {}, {}
    for i, p in enumerate(ports):
        if not isinstance(p, dict):
            continue
        pp = (p.get("port"), p.get("protocol"))
        if pp in seen_pp:
            errs.append(("FieldValueDuplicate", "spec.ports[%d]" % i, "Duplicate value: "
                         "core.ServicePort{Name:%s, Protocol:%s, Port:%s}"
                         % (q(p.get("name", "")), q(p.get("protocol")), p.get("port"))))
        seen_pp[pp] = i
        npp = (p.get("nodePort"), p.get("protocol"))
        if p.get("nodePort"):
            if npp in seen_np:
                errs.append(e_duplicate("spec.ports[%d].nodePort" % i, p["nodePort"]))
            seen_np[npp] = i
    for i, r in enumerate(spec.get("loadBalancerSourceRanges") or []):
        try:
            ipaddress.ip_network(r.strip(), strict=False)
            assert "/" in r
        except (ValueError, AssertionError, AttributeError):
            errs.append(e_invalid("spec.loadBalancerSourceRanges[%d]" % i, r,
                                  "must be a list of IP ranges. For example, "
                                  "10.240.0.0/24,10.250.0.0/24 "))
    if ext:
        en = spec.get("externalName")
        if not en:
            errs.append(e_required("spec.externalName"))
        else:
            for m in check_subdomain(en.rstrip(".")):
                errs.append(e_invalid("spec.externalName", en, m))
        if spec.get("clusterIP") not in (None, ""):
            errs.append(e_forbidden("spec.clusterIP", "may not be set for ExternalName services"))
    if "externalTrafficPolicy" in spec:
        etp = spec["externalTrafficPolicy"]
        if not needs_np:
            errs.append(e_invalid("spec.externalTrafficPolicy", etp,
                                  "may only be set when `type` is 'NodePort' or 'LoadBalancer'"))
        elif etp not in ("Cluster", "Local"):
            errs.append(e_unsupported("spec.externalTrafficPolicy", etp, ["Cluster", "Local"]))
    itp = spec.get("internalTrafficPolicy")
    if itp is not None and itp not in ("Cluster", "Local"):
        errs.append(e_unsupported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))
    if spec["sessionAffinity"] not in ("ClientIP", "None"):
        errs.append(e_unsupported("spec.sessionAffinity", spec["sessionAffinity"],
                                  ["ClientIP", "None"]))
    if "allocateLoadBalancerNodePorts" in spec and typ != "LoadBalancer":
        errs.append(e_forbidden("spec.allocateLoadBalancerNodePorts",
                                "may only be used when `type` is 'LoadBalancer'"))
    lbip = spec.get("loadBalancerIP")
    if lbip:
        if typ != "LoadBalancer":
            errs.append(e_forbidden("spec.loadBalancerIP",
                                    "may only be used when `type` is 'LoadBalancer'"))
        elif not valid_ip(lbip):
            errs.append(e_invalid("spec.loadBalancerIP", lbip, "must be a valid IP address"))
    lbc = spec.get("loadBalancerClass")
    if lbc is not None:
        if typ != "LoadBalancer":
            errs.append(e_forbidden("spec.loadBalancerClass",
                                    "may only be used when `type` is 'LoadBalancer'"))
        else:
            for m in check_qualified_name(lbc):
                errs.append(e_invalid("spec.loadBalancerClass", lbc, m))
    if old is not None and ospec.get("loadBalancerClass") and \
            ospec.get("type") == "LoadBalancer" and typ == "LoadBalancer" and \
            lbc != ospec.get("loadBalancerClass"):
        errs.append(e_invalid("spec.loadBalancerClass", lbc, "may not change once set"))
    hc = spec.get("healthCheckNodePort")
    if hc and not (typ == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"):
        errs.append(e_invalid("spec.healthCheckNodePort", hc, "may only be set when `type` is "
                              "'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
    for i, ip in enumerate(spec.get("externalIPs") or []):
        if not valid_ip(ip):
            errs.append(e_invalid("spec.externalIPs[%d]" % i, ip, "must be a valid IP address"))
    validate_labels(spec.get("selector"), "spec.selector", errs)
    if errs:
        return
    if ext:
        for f in ("clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            spec.pop(f, None)
        spec.pop("clusterIP", None)
    else:
        _families(sim, spec, ospec if old is not None else None, errs, headless)
    if errs:
        return
    # ---- allocation (only when everything else is valid)
    _allocate(sim, new, old, errs, ext, needs_np, headless)


def _families(sim, spec, ospec, errs, headless):
    alloc = sim.svc
    cfams = alloc.families
    cip = spec.get("clusterIP")
    cips = spec.get("clusterIPs")
    if cips is not None and not isinstance(cips, list):
        errs.append(e_invalid("spec.clusterIPs", cips, "must be a list"))
        return
    if cip and not cips:
        cips = [cip]
    elif cips and not cip:
        cip = cips[0]
    elif cip and cips and cips[0] != cip:
        errs.append(e_invalid("spec.clusterIPs[0]", cips[0], "must be same as clusterIP"))
        return
    cips = cips or []
    if len(cips) > 2:
        errs.append(e_invalid("spec.clusterIPs", cips, "may only hold up to 2 values"))
        return
    if headless and len(cips) > 1:
        errs.append(e_invalid("spec.clusterIPs[1]", cips[1],
                              "must be empty when the first element is 'None'"))
        return
    for i, ip in enumerate(cips):
        if ip == "None" and i == 0:
            continue
        if not valid_ip(ip):
            errs.append(e_invalid("spec.clusterIPs[%d]" % i, ip, "must be a valid IP address, "
                                  "(e.g. 10.9.8.7 or 2001:db8::ffff)"))
    if errs:
        return
    fams = spec.get("ipFamilies")
    pol = spec.get("ipFamilyPolicy")
    if pol is not None and pol not in ("SingleStack", "PreferDualStack", "RequireDualStack"):
        errs.append(e_unsupported("spec.ipFamilyPolicy", pol,
                                  ["PreferDualStack", "RequireDualStack", "SingleStack"]))
        return
    if fams is not None:
        if not isinstance(fams, list):
            errs.append(e_invalid("spec.ipFamilies", fams, "must be a list"))
            return
        for i, f in enumerate(fams):
            if f not in ("IPv4", "IPv6"):
                errs.append(e_unsupported("spec.ipFamilies[%d]" % i, f, ["IPv4", "IPv6"]))
            elif f in fams[:i]:
                errs.append(e_duplicate("spec.ipFamilies[%d]" % i, f))
        if len(fams) > 2:
            errs.append(e_invalid("spec.ipFamilies", fams, "may only hold up to 2 values"))
        if errs:
            return
    else:
        fams = []
    real_ips = [ip for ip in cips if ip != "None"]
    for i, ip in enumerate(real_ips):
        f = ip_family(ip)
        if i < len(fams) and fams[i] != f:
            errs.append(e_invalid("spec.clusterIPs[%d]" % i, ip, "expected an %s value as "
                                  "indicated by `ipFamilies[%d]`" % (fams[i], i)))
            return
    if len(real_ips) == 2 and ip_family(real_ips[0]) == ip_family(real_ips[1]):
        errs.append(e_invalid("spec.clusterIPs", cips, "may specify no more than one IP for "
                              "each IP family"))
        return
    if not fams:
        fams = [ip_family(ip) for ip in real_ips]
    many = len(fams) == 2 or len(real_ips) == 2
    if pol is None:
        if many:
            pol = "RequireDualStack"
        elif headless and not spec.get("selector"):
            pol = "RequireDualStack" if len(cfams) == 2 else "SingleStack"
        else:
            pol = "SingleStack"
    if pol == "SingleStack" and many:
        errs.append(e_invalid("spec.ipFamilyPolicy", pol, "must be RequireDualStack or "
                              "PreferDualStack when multiple IP families are specified"))
        return
    if pol == "RequireDualStack" and len(cfams) < 2:
        errs.append(e_invalid("spec.ipFamilyPolicy", pol,
                              "this cluster is not configured for dual-stack services"))
        return
    for i, f in enumerate(fams):
        if f not in cfams:
            errs.append(e_invalid("spec.ipFamilies[%d]" % i, f,
                                  "not configured on this cluster"))
            return
    if not fams:
        fams = [cfams[0]]
    if pol in ("PreferDualStack", "RequireDualStack") and len(cfams) == 2 and len(fams) == 1:
        fams.append([f for f in cfams if f != fams[0]][0])
    spec["ipFamilies"] = fams
    spec["ipFamilyPolicy"] = pol
    if headless:
        spec["clusterIP"] = "None"
        spec["clusterIPs"] = ["None"]
    else:
        if cip:
            spec["clusterIP"] = cip
        spec["clusterIPs"] = list(cips) if cips else []
    if ospec is not None and ospec.get("type", "ClusterIP") != "ExternalName":
        ocips = ospec.get("clusterIPs") or []
        ncips = spec.get("clusterIPs") or []
        if ocips and ncips[:1] != ocips[:1]:
            errs.append(e_invalid("spec.clusterIPs[0]", ncips, "may not change once set"))
        elif len(ocips) == 2 and len(ncips) == 2 and ocips[1] != ncips[1]:
            errs.append(e_invalid("spec.clusterIPs[1]", ncips, "may not change once set"))
        ofams = ospec.get("ipFamilies") or []
        if ofams and fams[:1] != ofams[:1]:
            errs.append(e_invalid("spec.ipFamilies[0]", fams[0], "may not change once set"))


def _allocate(sim, new, old, errs, ext, needs_np, headless):
    alloc = sim.svc
    spec = new["spec"]
    owner = svc_owner(new)
    got_ips, got_ports = [], []
    oips = set(svc_ips(old)) if old is not None else set()
    oports = set(svc_ports(old)) if old is not None else set()

    def fail():
        alloc.release(got_ips, got_ports, owner)

    if not ext and not headless:
        cips = list(spec.get("clusterIPs") or [])
        for i, fam in enumerate(spec["ipFamilies"]):
            if i < len(cips):
                ip = cips[i]
                if ip in oips:
                    continue
                net = alloc.net_for(fam)
                if ipaddress.ip_address(ip) not in net or ipaddress.ip_address(ip) in (
                        net.network_address, net.broadcast_address if net.version == 4 else None):
                    errs.append(e_invalid("spec.clusterIPs", cips, "failed to allocate IP %s: the "
                                          "provided IP (%s) is not in the valid range. The range "
                                          "of valid IPs is %s" % (ip, ip, net)))
                    return fail()
                if ip in alloc.ips:
                    errs.append(e_invalid("spec.clusterIPs", cips, "failed to allocate IP %s: "
                                          "provided IP is already allocated" % ip))
                    return fail()
                alloc.ips[ip] = owner
                got_ips.append(ip)
            else:
                ip = alloc.alloc_ip(fam, owner)
                if ip is None:
                    errs.append(e_invalid("spec.clusterIPs", cips, "failed to allocate IP: range "
                                          "is full"))
                    return fail()
                got_ips.append(ip)
                cips.append(ip)
        spec["clusterIPs"] = cips
        spec["clusterIP"] = cips[0]
    want_np = needs_np and not (spec.get("type") == "LoadBalancer" and
                                spec.get("allocateLoadBalancerNodePorts") is False)
    lo, hi = alloc.port_range
    mine = {}
    for i, p in enumerate(spec.get("ports") or []):
        np_ = p.get("nodePort")
        f = "spec.ports[%d].nodePort" % i
        if np_:
            if np_ in oports or np_ in got_ports:
                continue
            if not lo <= np_ <= hi:
                errs.append(e_invalid(f, np_, "provided port is not in the valid range. The range "
                                      "of valid ports is %d-%d" % (lo, hi)))
                return fail()
            if np_ in alloc.ports:
                errs.append(e_invalid(f, np_, "provided port is already allocated"))
                return fail()
            alloc.ports[np_] = owner
            got_ports.append(np_)
        elif want_np:
            key = p.get("port")
            if key in mine:
                p["nodePort"] = mine[key]
                continue
            v = alloc.alloc_port(owner)
            if v is None:
                errs.append(e_invalid(f, 0, "range is full"))
                return fail()
            got_ports.append(v)
            p["nodePort"] = v
            mine[key] = v
    if spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local":
        hc = spec.get("healthCheckNodePort")
        if hc:
            if hc not in oports and hc not in got_ports:
                if not lo <= hc <= hi:
                    errs.append(e_invalid("spec.healthCheckNodePort", hc, "provided port is not "
                                          "in the valid range. The range of valid ports is %d-%d"
                                          % (lo, hi)))
                    return fail()
                if hc in alloc.ports:
                    errs.append(e_invalid("spec.healthCheckNodePort", hc,
                                          "provided port is already allocated"))
                    return fail()
                alloc.ports[hc] = owner
                got_ports.append(hc)
        else:
            v = alloc.alloc_port(owner)
            if v is None:
                errs.append(e_invalid("spec.healthCheckNodePort", 0, "range is full"))
                return fail()
            got_ports.append(v)
            spec["healthCheckNodePort"] = v


def service_status(new, old, errs):
    st = new.get("status") or {}
    validate_conditions(st.get("conditions"), "status.conditions", errs)
    lb = st.get("loadBalancer") or {}
    ing = lb.get("ingress")
    typ = ((new.get("spec") or {}).get("type")) or "ClusterIP"
    if ing:
        if not isinstance(ing, list):
            errs.append(e_invalid("status.loadBalancer.ingress", ing, "must be a list"))
            return
        if typ != "LoadBalancer":
            errs.append(e_forbidden("status.loadBalancer.ingress",
                                    "may only be used when `spec.type` is 'LoadBalancer'"))
            return
        for i, e in enumerate(ing):
            f = "status.loadBalancer.ingress[%d]" % i
            if not isinstance(e, dict):
                errs.append(e_invalid(f, e, "must be an object"))
                continue
            ip = e.get("ip")
            if ip:
                if not valid_ip(ip):
                    errs.append(e_invalid(f + ".ip", ip, "must be a valid IP address"))
                e.setdefault("ipMode", "VIP")
            hn = e.get("hostname")
            if hn:
                for m in check_subdomain(hn):
                    errs.append(e_invalid(f + ".hostname", hn, m))
                if valid_ip(hn):
                    errs.append(e_invalid(f + ".hostname", hn, "must be a DNS name, not an IP "
                                          "address"))
            if "ipMode" in e:
                if not ip:
                    errs.append(e_forbidden(f + ".ipMode",
                                            "may not be specified when `ip` is not set"))
                elif e["ipMode"] not in ("Proxy", "VIP"):
                    errs.append(e_unsupported(f + ".ipMode", e["ipMode"], ["Proxy", "VIP"]))
            for j, pst in enumerate(e.get("ports") or []):
                if isinstance(pst, dict) and pst.get("protocol") not in ("SCTP", "TCP", "UDP"):
                    errs.append(e_unsupported("%s.ports[%d].protocol" % (f, j),
                                              pst.get("protocol"), ["SCTP", "TCP", "UDP"]))


_re_reason = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
MSG_REASON = ("a condition reason must start with alphabetic character, optionally followed by "
              "a string of alphanumeric characters or '_,:', and must end with an alphanumeric "
              "character or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName',  or "
              "'ReasonA,ReasonB',  or 'ReasonA:ReasonB', regex used for validation is "
              "'[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?')")


def validate_conditions(conds, field, errs):
    """metav1.Condition lists (Service status), as ValidateConditions checks them."""
    if not isinstance(conds, list):
        return
    seen = set()
    for i, c in enumerate(conds):
        f = "%s[%d]" % (field, i)
        if not isinstance(c, dict):
            errs.append(e_invalid(f, c, "must be an object"))
            continue
        t = c.get("type") or ""
        if not t:
            errs.append(e_required(f + ".type"))
        else:
            for m in check_qualified_name(t):
                errs.append(e_invalid(f + ".type", t, m))
            if t in seen:
                errs.append(e_duplicate(f + ".type", t))
            seen.add(t)
        if c.get("status") not in ("False", "True", "Unknown"):
            errs.append(e_unsupported(f + ".status", c.get("status", ""),
                                      ["False", "True", "Unknown"]))
        if c.get("observedGeneration", 0) < 0:
            errs.append(e_invalid(f + ".observedGeneration", c["observedGeneration"],
                                  "must be greater than or equal to zero"))
        if not c.get("lastTransitionTime"):
            errs.append(e_required(f + ".lastTransitionTime", "must be set"))
        r = c.get("reason") or ""
        if not r:
            errs.append(e_required(f + ".reason"))
        else:
            if not _re_reason.match(r):
                errs.append(e_invalid(f + ".reason", r, MSG_REASON))
            if len(r) > 1024:
                errs.append(("FieldValueTooLong", f + ".reason",
                             "Too long: may not be more than 1024 bytes"))
        if len(c.get("message") or "") > 32768:
            errs.append(("FieldValueTooLong", f + ".message",
                         "Too long: may not be more than 32768 bytes"))


def service_commit(sim, new, old):
    if old is not None:
        owner = svc_owner(old)
        sim.svc.release(set(svc_ips(old)) - set(svc_ips(new)),
                        set(svc_ports(old)) - set(svc_ports(new)), owner)


def service_abort(sim, new, old):
    owner = svc_owner(new)
    oips = set(svc_ips(old)) if old is not None else set()
    oports = set(svc_ports(old)) if old is not None else set()
    sim.svc.release(set(svc_ips(new)) - oips, set(svc_ports(new)) - oports, owner)


def service_deleted(sim, obj):
    sim.svc.release(svc_ips(obj), svc_ports(obj), svc_owner(obj))


# ==================================================================== other built-in rules
def endpointslice_prepare(sim, rt, new, old, errs, op, dry):
    at = new.get("addressType")
    if not at:
        errs.append(e_required("addressType"))
    elif at not in ("FQDN", "IPv4", "IPv6"):
        errs.append(e_unsupported("addressType", at, ["FQDN", "IPv4", "IPv6"]))
    if old is not None and at != old.get("addressType"):
        errs.append(e_invalid("addressType", at, "field is immutable"))
    eps = new.get("endpoints")
    if eps is None:
        eps = []
    if not isinstance(eps, list):
        errs.append(e_invalid("endpoints", eps, "must be a list"))
        eps = []
    if len(eps) > 1000:
        errs.append(e_toomany("endpoints", len(eps), 1000))
    for i, ep in enumerate(eps[:1001]):
        f = "endpoints[%d]" % i
        if not isinstance(ep, dict):
            errs.append(e_invalid(f, ep, "must be an object"))
            continue
        addrs = ep.get("addresses") or []
        if not addrs:
            errs.append(e_required(f + ".addresses", "must contain at least 1 address"))
        elif len(addrs) > 100:
            errs.append(e_toomany(f + ".addresses", len(addrs), 100))
        for j, a in enumerate(addrs[:100]):
            af = "%s.addresses[%d]" % (f, j)
            if at == "IPv4":
                if not (valid_ip(a) and ipaddress.ip_address(a).version == 4):
                    errs.append(e_invalid(af, a, "must be a valid IPv4 address"))
            elif at == "IPv6":
                if not (valid_ip(a) and ipaddress.ip_address(a).version == 6):
                    errs.append(e_invalid(af, a, "must be a valid IPv6 address"))
            elif at == "FQDN":
                for m in check_subdomain(str(a)):
                    errs.append(e_invalid(af, a, m))
        if ep.get("nodeName"):
            for m in check_subdomain(ep["nodeName"]):
                errs.append(e_invalid(f + ".nodeName", ep["nodeName"], m))
        cond = ep.get("conditions")
        if cond is not None and not isinstance(cond, dict):
            errs.append(e_invalid(f + ".conditions", cond, "must be an object"))
    ports = new.get("ports") or []
    if len(ports) > 100:
        errs.append(e_toomany("ports", len(ports), 100))
    names = set()
    for i, p in enumerate(ports[:101]):
        f = "ports[%d]" % i
        if not isinstance(p, dict):
            errs.append(e_invalid(f, p, "must be an object"))
            continue
        nm = p.get("name", "")
        if nm:
            for m in check_label(nm):
                errs.append(e_invalid(f + ".name", nm, m))
        if nm in names:
            errs.append(e_duplicate(f + ".name", nm))
        names.add(nm)
        if p.get("protocol") is not None and p["protocol"] not in ("SCTP", "TCP", "UDP"):
            errs.append(e_unsupported(f + ".protocol", p["protocol"], ["SCTP", "TCP", "UDP"]))
        pt = p.get("port")
        if pt is not None and (not isinstance(pt, int) or not 0 <= pt <= 65535):
            errs.append(e_invalid(f + ".port", pt, "must be between 0 and 65535, inclusive"))
    validate_labels((new.get("metadata") or {}).get("labels"), "metadata.labels", [])


def namespace_prepare(sim, rt, new, old, errs, op, dry):
    md = new["metadata"]
    if md.get("name"):
        md.setdefault("labels", {})
        md["labels"]["kubernetes.io/metadata.name"] = md["name"]
    if op == "create":
        new.setdefault("spec", {})["finalizers"] = ["kubernetes"]
        new["status"] = {"phase": "Active"}


def node_prepare(sim, rt, new, old, errs, op, dry):
    spec = new.get("spec")
    if spec is not None and not isinstance(spec, dict):
        errs.append(e_invalid("spec", spec, "must be an object"))
        return
    spec = spec or {}
    if "unschedulable" in spec and not isinstance(spec["unschedulable"], bool):
        errs.append(e_invalid("spec.unschedulable", spec["unschedulable"], "must be a boolean"))
    for i, t in enumerate(spec.get("taints") or []):
        if t.get("effect") not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.append(e_unsupported("spec.taints[%d].effect" % i, t.get("effect"),
                                      ["NoExecute", "NoSchedule", "PreferNoSchedule"]))
    for i, a in enumerate(((new.get("status") or {}).get("addresses")) or []):
        if not isinstance(a, dict) or not a.get("type"):
            errs.append(e_required("status.addresses[%d].type" % i))


def pod_prepare(sim, rt, new, old, errs, op, dry):
    if op == "create":
        new["status"] = {"phase": "Pending"}


def crd_prepare(sim, rt, new, old, errs, op, dry):
    spec = new.get("spec")
    if not isinstance(spec, dict):
        errs.append(e_required("spec"))
        return
    if op == "status":
        return
    group = spec.get("group") or ""
    names = spec.get("names") or {}
    if not group:
        errs.append(e_required("spec.group"))
    elif "." not in group:
        errs.append(e_invalid("spec.group", group, "should be a domain with at least one dot"))
    if not names.get("plural"):
        errs.append(e_required("spec.names.plural"))
    if not names.get("kind"):
        errs.append(e_required("spec.names.kind"))
    if errs:
        return
    for m in check_label(names["plural"]):
        errs.append(e_invalid("spec.names.plural", names["plural"], m))
    want = names["plural"] + "." + group
    if new["metadata"].get("name") != want:
        errs.append(e_invalid("metadata.name", new["metadata"].get("name"),
                              'must be spec.names.plural+"."+spec.group'))
    scope = spec.get("scope")
    if scope not in ("Cluster", "Namespaced"):
        errs.append(e_unsupported("spec.scope", scope, ["Cluster", "Namespaced"]))
    vers = spec.get("versions") or []
    if not vers:
        errs.append(e_invalid("spec.versions", vers, "must have exactly one version marked as "
                              "storage version"))
    elif sum(1 for v in vers if v.get("storage")) != 1:
        errs.append(e_invalid("spec.versions", vers, "must have exactly one version marked as "
                              "storage version"))
    for i, v in enumerate(vers):
        if not v.get("name"):
            errs.append(e_required("spec.versions[%d].name" % i))
        if "served" not in v:
            errs.append(e_required("spec.versions[%d].served" % i))
        if "storage" not in v:
            errs.append(e_required("spec.versions[%d].storage" % i))
        sch = (v.get("schema") or {}).get("openAPIV3Schema")
        if not sch:
            errs.append(e_required("spec.versions[%d].schema.openAPIV3Schema" % i,
                                   "schemas are required"))
        elif sch.get("type") != "object":
            errs.append(e_unsupported("spec.versions[%d].schema.openAPIV3Schema.type" % i,
                                      sch.get("type"), ["object"]))
    if old is not None:
        if group != old["spec"].get("group"):
            errs.append(e_invalid("spec.group", group, "field is immutable"))
        if names.get("plural") != old["spec"]["names"].get("plural"):
            errs.append(e_invalid("spec.names.plural", names["plural"], "field is immutable"))
        if scope != old["spec"].get("scope"):
            errs.append(e_invalid("spec.scope", scope, "field is immutable"))
    if errs:
        return
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", names["kind"] + "List")
    spec.setdefault("conversion", {"strategy": "None"})
    for v in vers:
        v.setdefault("served", True)
    if old is None:
        for gv, m in sim.types.items():
            if gv.split("/")[0] == group and names["plural"] in m:
                errs.append(e_invalid("spec.names.plural", names["plural"], "already in use"))
                return
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    storage = [v["name"] for v in vers if v.get("storage")][0]
    st = new.get("status") or {}
    if old is not None and old.get("status"):
        st = copy.deepcopy(old["status"])
    new["status"] = {
        "acceptedNames": {k: v for k, v in names.items()},
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now}],
        "storedVersions": sorted(set((st.get("storedVersions") or []) + [storage])),
    }
    if old is not None and old.get("status", {}).get("conditions"):
        new["status"]["conditions"] = old["status"]["conditions"]


def crd_commit(sim, new, old):
    sim.crd_sync(new, old)


HOOKS = {
    ("", "services"): {"prepare": service_prepare, "commit": service_commit,
                       "abort": service_abort, "deleted": service_deleted},
    ("discovery.k8s.io", "endpointslices"): {"prepare": endpointslice_prepare},
    ("", "namespaces"): {"prepare": namespace_prepare},
    ("", "nodes"): {"prepare": node_prepare},
    ("", "pods"): {"prepare": pod_prepare},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"prepare": crd_prepare,
                                                            "commit": crd_commit},
}


# ==================================================================== custom resources
def validate_custom(rt, obj, errs, op, unknown, old=None):
    """Prune unknown fields (their paths go to `unknown`), apply defaults, validate."""
    sch = rt.schema
    if not sch:
        return
    props = sch.get("properties") or {}
    if op == "status":
        if "status" in obj and "status" in props:
            obj["status"] = prune_default(obj["status"], props["status"], "status", unknown)
        schema_validate(obj.get("status"), props.get("status") or {}, "status", errs,
                        present="status" in obj)
        if old is not None and "status" in obj and "status" in (old or {}):
            transition_rules(obj["status"], old["status"], props.get("status") or {}, "status",
                             errs)
        return
    for k in list(obj):
        if k in ("apiVersion", "kind", "metadata"):
            continue
        if k not in props and not sch.get("x-kubernetes-preserve-unknown-fields"):
            unknown.append(k)
            del obj[k]
    for k, s in props.items():
        if k in ("apiVersion", "kind", "metadata"):
            continue
        if k not in obj and "default" in s:
            obj[k] = copy.deepcopy(s["default"])
        if k in obj:
            obj[k] = prune_default(obj[k], s, k, unknown)
    for k, s in props.items():
        if k in ("apiVersion", "kind", "metadata"):
            continue
        if k in obj:
            schema_validate(obj[k], s, k, errs)
    for r in sch.get("required") or []:
        if r not in obj and r not in ("apiVersion", "kind", "metadata"):
            errs.append(e_required(r))
    if old is not None:
        for k, s in props.items():
            if k not in ("apiVersion", "kind", "metadata", "status") and k in obj and k in old:
                transition_rules(obj[k], old[k], s, k, errs)


_SELF_EQ_OLD = {"self == oldSelf", "oldSelf == self", "self==oldSelf", "oldSelf==self"}


def transition_rules(new, old, s, path, errs):
    """The one CEL rule kubesim evaluates: `self == oldSelf` (immutability), on update.
    Other x-kubernetes-validations rules are not evaluated."""
    for rule in s.get("x-kubernetes-validations") or []:
        if (rule.get("rule") or "").strip() in _SELF_EQ_OLD and new != old:
            msg = rule.get("message") or "failed rule: %s" % rule["rule"].strip()
            errs.append(("FieldValueInvalid", path, "Invalid value: %s: %s"
                         % (q(_typename(new)), msg)))
    if isinstance(new, dict) and isinstance(old, dict):
        props = s.get("properties") or {}
        for k, x in new.items():
            if k in old:
                sub = props.get(k) if k in props else s.get("additionalProperties")
                if isinstance(sub, dict):
                    transition_rules(x, old[k], sub, path + "." + k, errs)


def prune_default(v, s, path, unknown):
    if s.get("x-kubernetes-preserve-unknown-fields") and not s.get("properties") and \
            not s.get("additionalProperties"):
        return v
    if s.get("x-kubernetes-embedded-resource"):
        return v
    if isinstance(v, dict) and (s.get("type") == "object" or "properties" in s or
                                "additionalProperties" in s):
        props = s.get("properties")
        addl = s.get("additionalProperties")
        out = {}
        for k, x in v.items():
            if props and k in props:
                out[k] = prune_default(x, props[k], path + "." + k, unknown)
            elif isinstance(addl, dict):
                out[k] = prune_default(x, addl, path + "." + k, unknown)
            elif addl is True or s.get("x-kubernetes-preserve-unknown-fields"):
                out[k] = x
            else:
                unknown.append(path + "." + k)
        for k, ps in (props or {}).items():
            if k not in out and "default" in ps:
                out[k] = prune_default(copy.deepcopy(ps["default"]), ps, path + "." + k, [])
        return out
    if isinstance(v, list) and isinstance(s.get("items"), dict):
        return [prune_default(x, s["items"], "%s[%d]" % (path, i), unknown)
                for i, x in enumerate(v)]
    return v


def _typename(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def schema_validate(v, s, path, errs, present=True):
    if not present:
        return
    if v is None:
        if s.get("nullable"):
            return
        if s.get("type"):
            errs.append(e_invalid(path, None, "%s in body must be of type %s: \"null\""
                                  % (path, s["type"])))
        return
    if s.get("x-kubernetes-int-or-string"):
        if not (isinstance(v, (int, str)) and not isinstance(v, bool)):
            errs.append(e_invalid(path, v, "%s in body must be of type integer,string: %s"
                                  % (path, q(_typename(v)))))
            return
    t = s.get("type")
    tn = _typename(v)
    if t:
        ok = (tn == t) or (t == "number" and tn == "integer") or \
            (t == "integer" and isinstance(v, float) and v.is_integer())
        if not ok:
            errs.append(e_invalid(path, tn, "%s in body must be of type %s: %s"
                                  % (path, t, q(tn))))
            return
    if "enum" in s and v not in s["enum"]:
        errs.append(e_unsupported(path, v, s["enum"]))
    if isinstance(v, str):
        if "maxLength" in s and len(v) > s["maxLength"]:
            errs.append(("FieldValueTooLong", path, "Too long: may not be more than %d bytes"
                         % s["maxLength"]))
        if "minLength" in s and len(v) < s["minLength"]:
            errs.append(e_invalid(path, v, "%s in body should be at least %d chars long"
                                  % (path, s["minLength"])))
        if "pattern" in s:
            try:
                if not re.search(s["pattern"], v):
                    errs.append(e_invalid(path, v, "%s in body should match '%s'"
                                          % (path, s["pattern"])))
            except re.error:
                pass
        fmt = s.get("format")
        if fmt and not check_format(fmt, v):
            errs.append(e_invalid(path, v, "%s in body must be of type %s: %s"
                                  % (path, fmt, q(v))))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        fmt = s.get("format")
        if fmt == "int32" and not -2**31 <= v < 2**31:
            errs.append(e_invalid(path, v, "%s in body must be of type int32" % path))
        if "minimum" in s:
            if s.get("exclusiveMinimum") and v <= s["minimum"]:
                errs.append(e_invalid(path, v, "%s in body should be greater than %s"
                                      % (path, q(s["minimum"]))))
            elif v < s["minimum"]:
                errs.append(e_invalid(path, v, "%s in body should be greater than or equal to %s"
                                      % (path, q(s["minimum"]))))
        if "maximum" in s:
            if s.get("exclusiveMaximum") and v >= s["maximum"]:
                errs.append(e_invalid(path, v, "%s in body should be less than %s"
                                      % (path, q(s["maximum"]))))
            elif v > s["maximum"]:
                errs.append(e_invalid(path, v, "%s in body should be less than or equal to %s"
                                      % (path, q(s["maximum"]))))
    if isinstance(v, list):
        if "maxItems" in s and len(v) > s["maxItems"]:
            errs.append(e_toomany(path, len(v), s["maxItems"]))
        if "minItems" in s and len(v) < s["minItems"]:
            errs.append(e_invalid(path, len(v), "%s in body should have at least %d items"
                                  % (path, s["minItems"])))
        if isinstance(s.get("items"), dict):
            for i, x in enumerate(v):
                schema_validate(x, s["items"], "%s[%d]" % (path, i), errs)
        if s.get("x-kubernetes-list-type") == "set":
            for i, x in enumerate(v):
                if x in v[:i]:
                    errs.append(e_duplicate("%s[%d]" % (path, i), x))
    if isinstance(v, dict):
        props = s.get("properties") or {}
        for r in s.get("required") or []:
            if r not in v:
                errs.append(e_required(path + "." + r))
        for k, x in v.items():
            if k in props:
                schema_validate(x, props[k], path + "." + k, errs)
            elif isinstance(s.get("additionalProperties"), dict):
                schema_validate(x, s["additionalProperties"], path + "." + k, errs)
        if "maxProperties" in s and len(v) > s["maxProperties"]:
            errs.append(e_toomany(path, len(v), s["maxProperties"]))
        if "minProperties" in s and len(v) < s["minProperties"]:
            errs.append(e_invalid(path, len(v), "%s in body should have at least %d properties"
                                  % (path, s["minProperties"])))


def check_format(fmt, v):
    if fmt in ("ipv4",):
        return valid_ip(v) and ipaddress.ip_address(v).version == 4
    if fmt in ("ipv6",):
        return valid_ip(v) and ipaddress.ip_address(v).version == 6
    if fmt == "ip":
        return valid_ip(v)
    if fmt == "cidr":
        try:
            ipaddress.ip_network(v, strict=False)
            return "/" in v
        except ValueError:
            return False
    if fmt == "date-time":
        return bool(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", v))
    if fmt == "date":
        return bool(re.match(r"^\d{4}-\d\d-\d\d$", v))
    if fmt == "hostname":
        return not check_subdomain(v)
    if fmt == "uuid":
        return bool(re.match(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", v))
    return True


# ==================================================================== tables
def human_age(ts):
    try:
        t = time.mktime(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    except (ValueError, TypeError):
        return "<unknown>"
    return human_duration(time.time() - t)


def human_duration(d):
    if d < -1:
        return "<invalid>"
    if d < 0:
        d = 0
    s = int(d)
    if s < 60 * 2:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 60 * 3:
        return "%dm" % m
    h = s // 3600
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        return "%dd%dh" % (h // 24, h % 24) if h % 24 else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    if h < 24 * 365 * 8:
        y = h // (24 * 365)
        dd = (h // 24) % 365
        return "%dy%dd" % (y, dd) if dd else "%dy" % y
    return "%dy" % (h // (24 * 365))


def col(name, typ="string", fmt="", desc="", prio=0):
    return {"name": name, "type": typ, "format": fmt, "description": desc or name,
            "priority": prio}


NAME_COL = col("Name", fmt="name", desc="Name must be unique within a namespace. Is required "
               "when creating resources, although some resources may allow a client to request "
               "the generation of an appropriate name automatically.")


def svc_cells(o):
    spec = o.get("spec") or {}
    typ = spec.get("type", "ClusterIP")
    cip = spec.get("clusterIP") or "<none>"
    ext = list(spec.get("externalIPs") or [])
    if typ == "LoadBalancer":
        ing = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        lbs = [i.get("ip") or i.get("hostname") for i in ing if i.get("ip") or i.get("hostname")]
        ext = lbs + ext
        exts = ",".join(ext) if ext else "<pending>"
    elif typ == "ExternalName":
        exts = spec.get("externalName") or "<none>"
    else:
        exts = ",".join(ext) if ext else "<none>"
    ports = []
    for p in spec.get("ports") or []:
        s = "%s/%s" % (p.get("port"), p.get("protocol", "TCP"))
        if p.get("nodePort"):
            s = "%s:%s/%s" % (p.get("port"), p["nodePort"], p.get("protocol", "TCP"))
        ports.append(s)
    sel = spec.get("selector") or {}
    sels = ",".join("%s=%s" % kv for kv in sorted(sel.items())) if sel else "<none>"
    return [typ, cip, exts, ",".join(ports) if ports else "<none>",
            human_age(o["metadata"].get("creationTimestamp")), sels]


def node_cells(o):
    st = o.get("status") or {}
    md = o["metadata"]
    ready = "Unknown"
    for c in st.get("conditions") or []:
        if c.get("type") == "Ready":
            ready = "Ready" if c.get("status") == "True" else "NotReady"
    if (o.get("spec") or {}).get("unschedulable"):
        ready += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in (md.get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/") and k.split("/", 1)[1])
    info = st.get("nodeInfo") or {}
    addrs = st.get("addresses") or []

    def addr(t):
        v = [a.get("address") for a in addrs if a.get("type") == t]
        return v[0] if v else "<none>"
    return [ready, ",".join(roles) if roles else "<none>",
            human_age(md.get("creationTimestamp")), info.get("kubeletVersion", ""),
            addr("InternalIP"), addr("ExternalIP"), info.get("osImage", "<unknown>"),
            info.get("kernelVersion", "<unknown>"), info.get("containerRuntimeVersion",
                                                               "<unknown>")]


def age_of(o):
    return human_age(o["metadata"].get("creationTimestamp"))


BUILTIN_TABLES = {
    ("", "services"): ([col("Type"), col("Cluster-IP"), col("External-IP"), col("Port(s)"),
                        col("Age"), col("Selector", prio=1)], svc_cells),
    ("", "nodes"): ([col("Status"), col("Roles"), col("Age"), col("Version"),
                     col("Internal-IP", prio=1), col("External-IP", prio=1),
                     col("OS-Image", prio=1), col("Kernel-Version", prio=1),
                     col("Container-Runtime", prio=1)], node_cells),
    ("coordination.k8s.io", "leases"): (
        [col("Holder"), col("Age")],
        lambda o: [(o.get("spec") or {}).get("holderIdentity", ""), age_of(o)]),
    ("", "namespaces"): ([col("Status"), col("Age")],
                         lambda o: [(o.get("status") or {}).get("phase", ""), age_of(o)]),
    ("", "configmaps"): ([col("Data", "integer"), col("Age")],
                         lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {}),
                                    age_of(o)]),
    ("", "secrets"): ([col("Type"), col("Data", "integer"), col("Age")],
                      lambda o: [o.get("type", "Opaque"), len(o.get("data") or {}),
                                 age_of(o)]),
    ("", "endpoints"): ([col("Endpoints"), col("Age")], lambda o: [",".join(
        "%s:%s" % (a.get("ip"), p.get("port")) for s in o.get("subsets") or []
        for a in s.get("addresses") or [] for p in (s.get("ports") or [{}])) or "<none>",
        age_of(o)]),
    ("discovery.k8s.io", "endpointslices"): (
        [col("AddressType"), col("Ports"), col("Endpoints"), col("Age")],
        lambda o: [o.get("addressType", ""),
                   ",".join(str(p.get("port", "")) for p in o.get("ports") or []) or "<unset>",
                   ",".join(a for e in o.get("endpoints") or []
                            for a in e.get("addresses") or []) or "<unset>", age_of(o)]),
    ("", "pods"): ([col("Ready"), col("Status"), col("Restarts", "string"), col("Age")],
                   lambda o: ["0/%d" % len((o.get("spec") or {}).get("containers") or []),
                              (o.get("status") or {}).get("phase", ""), "0", age_of(o)]),
    ("", "serviceaccounts"): ([col("Secrets", "integer"), col("Age")],
                              lambda o: [len(o.get("secrets") or []), age_of(o)]),
    ("apps", "deployments"): ([col("Ready"), col("Up-to-date", "integer"),
                               col("Available", "integer"), col("Age")],
                              lambda o: ["%d/%d" % ((o.get("status") or {}).get("readyReplicas", 0),
                                                    (o.get("spec") or {}).get("replicas", 1)),
                                         (o.get("status") or {}).get("updatedReplicas", 0),
                                         (o.get("status") or {}).get("availableReplicas", 0),
                                         age_of(o)]),
}


def _event_cells(o):
    v1 = "regarding" in o or "note" in o or "reportingController" in o
    io = o.get("regarding" if v1 else "involvedObject") or {}
    last = (o.get("deprecatedLastTimestamp") if v1 else o.get("lastTimestamp")) or \
        (o.get("series") or {}).get("lastObservedTime") or o.get("eventTime")
    first = (o.get("deprecatedFirstTimestamp") if v1 else o.get("firstTimestamp")) or \
        o.get("eventTime")
    src = (o.get("deprecatedSource") if v1 else o.get("source")) or {}
    srcs = src.get("component") or o.get("reportingController") or \
        o.get("reportingComponent") or ""
    if src.get("host"):
        srcs += ", " + src["host"]
    obj = "%s/%s" % ((io.get("kind") or "").lower(), io.get("name") or "")
    count = (o.get("deprecatedCount") if v1 else o.get("count")) or \
        (o.get("series") or {}).get("count") or 1
    return [human_age(last[:19] + "Z") if last else "<unknown>", o.get("type", ""),
            o.get("reason", ""), obj, io.get("fieldPath", ""), srcs,
            (o.get("note") if v1 else o.get("message")) or "",
            human_age(first[:19] + "Z") if first else "<unknown>", count,
            o["metadata"]["name"]]


# tables whose first column is not the name
FULL_TABLES = {
    key: ([col("Last Seen"), col("Type"), col("Reason"), col("Object"),
           col("Subobject", prio=1), col("Source", prio=1), col("Message"),
           col("First Seen", prio=1), col("Count", "integer", prio=1),
           col("Name", prio=1)], _event_cells)
    for key in (("", "events"), ("events.k8s.io", "events"))}


def jsonpath_find(obj, path):
    """A small JSONPath subset: .a.b, [n], [*], [?(@.k=="v")]. Returns a list of values."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    if path.startswith("$"):
        path = path[1:]
    toks = re.findall(r"\.([^.\[]+)|\[([^\]]*)\]", path)
    cur = [obj]
    for name, br in toks:
        nxt = []
        for c in cur:
            if name:
                if isinstance(c, dict) and name in c:
                    nxt.append(c[name])
            elif br == "*":
                if isinstance(c, list):
                    nxt.extend(c)
                elif isinstance(c, dict):
                    nxt.extend(c.values())
            elif br.startswith("?("):
                m = re.match(r"^\?\(@\.([\w.-]+)\s*==\s*['\"]?([^'\"]*)['\"]?\)$", br)
                if m and isinstance(c, list):
                    for x in c:
                        if isinstance(x, dict) and str(field_value(x, m.group(1))) == m.group(2):
                            nxt.append(x)
            else:
                try:
                    i = int(br)
                    if isinstance(c, list) and -len(c) <= i < len(c):
                        nxt.append(c[i])
                except ValueError:
                    if isinstance(c, dict) and br.strip("'\"") in c:
                        nxt.append(c[br.strip("'\"")])
        cur = nxt
    return cur


def crd_cell(o, c):
    vals = jsonpath_find(o, c.get("jsonPath", ""))
    if not vals:
        return None
    v = vals[0]
    t = c.get("type", "string")
    if t == "date":
        return human_age(v) if isinstance(v, str) else None
    if t == "string":
        if len(vals) > 1:
            return " ".join(x if isinstance(x, str) else json.dumps(x, separators=(",", ":"))
                            for x in vals)
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        return json.dumps(v, separators=(",", ":"))
    if t == "integer":
        return v if isinstance(v, int) else None
    if t == "number":
        return v if isinstance(v, (int, float)) else None
    if t == "boolean":
        return v if isinstance(v, bool) else None
    return v


def table_for(sim, rt, objs, meta, qp, with_columns=True):
    include = qp.get("includeObject", "Metadata")
    if not rt.builtin:
        cols = rt.columns
        if cols:
            defs = [NAME_COL] + [col(c["name"], c.get("type", "string"), c.get("format", ""),
                                     c.get("description", ""), c.get("priority", 0))
                                 for c in cols]
            cellf = (lambda o: [crd_cell(o, c) for c in cols])
        else:
            defs = [NAME_COL, col("Age", "date")]
            cellf = (lambda o: [age_of(o)])
    elif rt.key in FULL_TABLES:
        defs, cellf = FULL_TABLES[rt.key]
    elif rt.key in BUILTIN_TABLES:
        extra, cellf = BUILTIN_TABLES[rt.key]
        defs = [NAME_COL] + extra
    elif rt.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
        defs = [NAME_COL, col("Created At", "date")]
        cellf = (lambda o: [o["metadata"].get("creationTimestamp")])
    else:
        defs = [NAME_COL, col("Age")]
        cellf = (lambda o: [age_of(o)])
    rows = []
    for o in objs:
        row = {"cells": (cellf(o) if rt.key in FULL_TABLES and rt.builtin
                         else [o["metadata"]["name"]] + cellf(o))}
        if include == "Object":
            row["object"] = sim.out_obj(rt, o)
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": defs if with_columns else None, "rows": rows}


# ==================================================================== OpenAPI v3 (kubectl)
def gv_path(gv):
    return "api/v1" if gv == "v1" else "apis/" + gv


def gv_hash(sim, gv):
    h = 0
    for rt in sim.types.get(gv, {}).values():
        h = (h * 31 + hash((rt.plural, rt.kind, json.dumps(rt.schema, sort_keys=True)))) \
            & 0xffffffffffff
    return "%012X" % h


def schema_name(rt):
    g = rt.group or "core"
    rev = ".".join(reversed(g.split("."))) if rt.group else "io.k8s.api.core"
    return "%s.%s.%s" % (rev, rt.version, rt.kind)


OBJECT_META = {
    "description": "ObjectMeta is metadata that all persisted resources must have, which "
                   "includes all objects users must create.",
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "Name must be unique within a namespace."},
        "generateName": {"type": "string", "description": "An optional prefix used by the server "
                         "to generate a unique name."},
        "namespace": {"type": "string", "description": "Namespace defines the space within which "
                      "each name must be unique."},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "default": ""},
                   "description": "Map of string keys and values that can be used to organize "
                   "and categorize objects."},
        "annotations": {"type": "object", "additionalProperties": {"type": "string",
                                                                    "default": ""},
                        "description": "Annotations is an unstructured key value map."},
        "uid": {"type": "string", "description": "UID is the unique in time and space value for "
                "this object."},
        "resourceVersion": {"type": "string", "description": "An opaque value that represents "
                            "the internal version of this object."},
        "generation": {"type": "integer", "format": "int64", "description": "A sequence number "
                       "representing a specific generation of the desired state."},
        "creationTimestamp": {"type": "string", "format": "date-time", "description":
                              "CreationTimestamp is a timestamp representing the server time "
                              "when this object was created."},
        "deletionTimestamp": {"type": "string", "format": "date-time", "description":
                              "DeletionTimestamp is RFC 3339 date and time at which this "
                              "resource will be deleted."},
        "finalizers": {"type": "array", "items": {"type": "string", "default": ""},
                       "description": "Must be empty before the object is deleted from the "
                       "registry."},
    },
}
META_REF = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def openapi(sim, segs, qp):
    if segs == ["v3"]:
        paths = {}
        for gv in sim.types:
            paths[gv_path(gv)] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s"
                                  % (gv_path(gv), gv_hash(sim, gv))}
        return {"paths": paths}
    if not segs or segs[0] != "v3":
        return None
    gvp = "/".join(segs[1:])
    gv = gvp[len("api/"):] if gvp.startswith("api/") else gvp[len("apis/"):]
    if gv not in sim.types or gv_path(gv) != gvp:
        return None
    schemas = {META_REF: OBJECT_META}
    paths = {}
    for rt in sim.types[gv].values():
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        if rt.schema:
            sch = copy.deepcopy(rt.schema)
        else:
            sch = {"type": "object", "description": "%s (kubesim has no schema for built-in "
                   "types; fields are not described)" % rt.kind,
                   "x-kubernetes-preserve-unknown-fields": True, "properties": {}}
        props = sch.setdefault("properties", {})
        props["apiVersion"] = {"type": "string", "description": "APIVersion defines the "
                               "versioned schema of this representation of an object."}
        props["kind"] = {"type": "string", "description": "Kind is a string value representing "
                         "the REST resource this object represents."}
        props["metadata"] = {"allOf": [{"$ref": "#/components/schemas/" + META_REF}],
                             "default": {}, "description": "Standard object's metadata."}
        sch["x-kubernetes-group-version-kind"] = [gvk]
        name = schema_name(rt)
        schemas[name] = sch
        base = "/" + gvp + ("/namespaces/{namespace}" if rt.namespaced else "")
        params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                  for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
        op = {"operationId": "patch" + rt.kind, "parameters": params,
              "x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "patch",
              "requestBody": {"content": {"application/merge-patch+json": {"schema": {
                  "type": "object"}}}},
              "responses": {"200": {"description": "OK", "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/" + name}}}}}}
        post = dict(op, operationId="create" + rt.kind, **{"x-kubernetes-action": "post"})
        paths[base + "/" + rt.plural + "/{name}"] = {"patch": op}
        paths[base + "/" + rt.plural] = {"post": post}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (kubesim)",
                                         "version": "v1.32.0-kubesim"},
            "paths": paths, "components": {"schemas": schemas}}


# ==================================================================== decoding (Go types)
# A compact description of the Go types behind the built-in kinds l2lb uses, so that a body
# with a wrong JSON type is refused at decode time (400 BadRequest, as the real server's JSON
# decoder does) and time fields are parsed and re-encoded as the real server does.
# Leaves: "str", "int32", "int64", "bool", "ios" (int or string), "time" (metav1.Time),
# "micro" (metav1.MicroTime), "any"; containers: ("map", leaf), ("list", schema), dict.
_COND = {"type": "str", "status": "str", "observedGeneration": "int64",
         "lastTransitionTime": "time", "lastHeartbeatTime": "time", "lastProbeTime": "time",
         "reason": "str", "message": "str"}
_OBJREF = {"kind": "str", "namespace": "str", "name": "str", "uid": "str", "apiVersion": "str",
           "resourceVersion": "str", "fieldPath": "str"}
GO_META = {"name": "str", "generateName": "str", "namespace": "str", "selfLink": "str",
           "uid": "str", "resourceVersion": "str", "generation": "int64",
           "creationTimestamp": "time", "deletionTimestamp": "time",
           "deletionGracePeriodSeconds": "int64", "labels": ("map", "str"),
           "annotations": ("map", "str"), "finalizers": ("list", "str"),
           "ownerReferences": ("list", {"apiVersion": "str", "kind": "str", "name": "str",
                                        "uid": "str", "controller": "bool",
                                        "blockOwnerDeletion": "bool"}),
           "managedFields": "any"}
GO_TYPES = {
    ("", "services"): {
        "spec": {"ports": ("list", {"name": "str", "protocol": "str", "appProtocol": "str",
                                    "port": "int32", "targetPort": "ios", "nodePort": "int32"}),
                 "selector": ("map", "str"), "clusterIP": "str", "clusterIPs": ("list", "str"),
                 "type": "str", "externalIPs": ("list", "str"), "sessionAffinity": "str",
                 "loadBalancerIP": "str", "loadBalancerSourceRanges": ("list", "str"),
                 "externalName": "str", "externalTrafficPolicy": "str",
                 "healthCheckNodePort": "int32", "publishNotReadyAddresses": "bool",
                 "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": "int32"}},
                 "ipFamilies": ("list", "str"), "ipFamilyPolicy": "str",
                 "allocateLoadBalancerNodePorts": "bool", "loadBalancerClass": "str",
                 "internalTrafficPolicy": "str", "trafficDistribution": "str"},
        "status": {"loadBalancer": {"ingress": ("list", {
            "ip": "str", "hostname": "str", "ipMode": "str",
            "ports": ("list", {"port": "int32", "protocol": "str", "error": "str"})})},
                   "conditions": ("list", _COND)}},
    ("coordination.k8s.io", "leases"): {
        "spec": {"holderIdentity": "str", "leaseDurationSeconds": "int32",
                 "acquireTime": "micro", "renewTime": "micro", "leaseTransitions": "int32",
                 "strategy": "str", "preferredHolder": "str"}},
    ("discovery.k8s.io", "endpointslices"): {
        "addressType": "str",
        "endpoints": ("list", {"addresses": ("list", "str"),
                               "conditions": {"ready": "bool", "serving": "bool",
                                              "terminating": "bool"},
                               "hostname": "str", "targetRef": _OBJREF, "nodeName": "str",
                               "zone": "str", "deprecatedTopology": ("map", "str"),
                               "hints": "any"}),
        "ports": ("list", {"name": "str", "protocol": "str", "port": "int32",
                           "appProtocol": "str"})},
    ("", "nodes"): {
        "spec": {"podCIDR": "str", "podCIDRs": ("list", "str"), "providerID": "str",
                 "unschedulable": "bool", "taints": ("list", {"key": "str", "value": "str",
                                                              "effect": "str",
                                                              "timeAdded": "time"}),
                 "configSource": "any", "externalID": "str"},
        "status": {"conditions": ("list", _COND),
                   "addresses": ("list", {"type": "str", "address": "str"}),
                   "capacity": ("map", "any"), "allocatable": ("map", "any"), "phase": "str",
                   "daemonEndpoints": "any", "nodeInfo": ("map", "str"), "images": "any",
                   "volumesInUse": "any", "volumesAttached": "any", "config": "any",
                   "runtimeHandlers": "any", "features": "any"}},
    ("", "events"): {
        "involvedObject": _OBJREF, "reason": "str", "message": "str",
        "source": {"component": "str", "host": "str"}, "firstTimestamp": "time",
        "lastTimestamp": "time", "count": "int32", "type": "str", "eventTime": "micro",
        "series": {"count": "int32", "lastObservedTime": "micro"}, "action": "str",
        "related": _OBJREF, "reportingComponent": "str", "reportingInstance": "str"},
    ("events.k8s.io", "events"): {
        "eventTime": "micro", "series": {"count": "int32", "lastObservedTime": "micro"},
        "reportingController": "str", "reportingInstance": "str", "action": "str",
        "reason": "str", "regarding": _OBJREF, "related": _OBJREF, "note": "str",
        "type": "str", "deprecatedSource": {"component": "str", "host": "str"},
        "deprecatedFirstTimestamp": "time", "deprecatedLastTimestamp": "time",
        "deprecatedCount": "int32"},
    ("", "configmaps"): {"data": ("map", "str"), "binaryData": ("map", "str"),
                         "immutable": "bool"},
    ("", "secrets"): {"data": ("map", "str"), "stringData": ("map", "str"), "type": "str",
                      "immutable": "bool"},
}
_RULE = {"verbs": ("list", "str"), "apiGroups": ("list", "str"), "resources": ("list", "str"),
         "resourceNames": ("list", "str"), "nonResourceURLs": ("list", "str")}
_BINDING = {"subjects": ("list", {"kind": "str", "apiGroup": "str", "name": "str",
                                  "namespace": "str"}),
            "roleRef": {"apiGroup": "str", "kind": "str", "name": "str"}}
_LABEL_SELECTOR = {"matchLabels": ("map", "str"),
                   "matchExpressions": ("list", {"key": "str", "operator": "str",
                                                 "values": ("list", "str")})}
_WORKLOAD = {"spec": {"replicas": "int32", "selector": _LABEL_SELECTOR,
                      "template": {"metadata": GO_META, "spec": {
                          "containers": ("list", {"name": "str", "image": "str",
                                                  "ports": ("list", {"containerPort": "int32",
                                                                     "hostPort": "int32",
                                                                     "protocol": "str",
                                                                     "name": "str"})}),
                          "hostNetwork": "bool", "restartPolicy": "str"}},
                      "revisionHistoryLimit": "int32", "progressDeadlineSeconds": "int32",
                      "minReadySeconds": "int32", "paused": "bool"}}
for _k in ("roles", "clusterroles"):
    GO_TYPES[("rbac.authorization.k8s.io", _k)] = {"rules": ("list", _RULE)}
for _k in ("rolebindings", "clusterrolebindings"):
    GO_TYPES[("rbac.authorization.k8s.io", _k)] = _BINDING
GO_TYPES[("apps", "deployments")] = _WORKLOAD
GO_TYPES[("apps", "daemonsets")] = _WORKLOAD
GO_TYPES[("", "namespaces")] = {"spec": {"finalizers": ("list", "str")},
                                "status": {"phase": "str", "conditions": ("list", _COND)}}
GO_TYPES[("apiextensions.k8s.io", "customresourcedefinitions")] = {"spec": {
    "group": "str", "scope": "str", "preserveUnknownFields": "bool",
    "names": {"plural": "str", "singular": "str", "kind": "str", "listKind": "str",
              "shortNames": ("list", "str"), "categories": ("list", "str")},
    "versions": ("list", {"name": "str", "served": "bool", "storage": "bool",
                          "deprecated": "bool", "deprecationWarning": "str",
                          "schema": {"openAPIV3Schema": ("map", "any")},
                          "subresources": {"status": ("map", "any"), "scale": "any"},
                          "additionalPrinterColumns": ("list", {
                              "name": "str", "type": "str", "format": "str",
                              "description": "str", "priority": "int32", "jsonPath": "str"}),
                          "selectableFields": "any"}),
    "conversion": "any"}}
GO_TYPES[("", "pods")] = {"spec": {"containers": ("list", {"name": "str", "image": "str"}),
                                   "nodeName": "str", "hostNetwork": "bool"},
                          "status": {"phase": "str", "podIP": "str",
                                     "conditions": ("list", _COND)}}
_re_time = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")
_re_micro = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{6})(Z|[+-]\d\d:\d\d)$")


class DecodeError(Exception):
    pass


def _jtype(v):
    return {"str": "string", "bool": "bool", "int": "number", "float": "number",
            "list": "array", "dict": "object"}.get(type(v).__name__, "value")


def _norm_time(v, micro, path):
    import datetime
    layout = "2006-01-02T15:04:05.000000Z07:00" if micro else "2006-01-02T15:04:05Z07:00"
    m = (_re_micro if micro else _re_time).match(v)
    if not m:
        raise DecodeError('parsing time "%s" as "%s": cannot parse "%s" as "%s"'
                          % (v, layout, v, layout))
    frac = m.group(7) or ""
    tz = m.group(8).upper()
    try:
        dt = datetime.datetime(*(int(m.group(i)) for i in range(1, 7)),
                               tzinfo=datetime.timezone.utc if tz == "Z" else
                               datetime.timezone(datetime.timedelta(
                                   hours=int(tz[1:3]), minutes=int(tz[4:6])) *
                                   (1 if tz[0] == "+" else -1)))
    except ValueError as e:
        raise DecodeError('parsing time "%s": %s' % (v, e))
    dt = dt.astimezone(datetime.timezone.utc)
    if micro:
        us = int((frac[1:] + "000000")[:6])
        return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % us
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def go_decode(v, t, path, unknown=None, jpath=""):
    """Check v against Go type t; return v with times normalised. Raises DecodeError.
    With a list in `unknown`, fields the Go type lacks are dropped and their JSON paths
    appended there (for kinds whose type table is complete)."""
    if v is None:
        return None
    if t == "any":
        return v
    if isinstance(t, dict):
        if not isinstance(v, dict):
            raise DecodeError("json: cannot unmarshal %s into Go struct field %s of type object"
                              % (_jtype(v), path))
        out = {}
        for k, x in v.items():
            jp = jpath + "." + k if jpath else k
            if k in t:
                out[k] = go_decode(x, t[k], path + "." + k, unknown, jp)
            elif unknown is not None:
                unknown.append(jp)
            else:
                out[k] = x
        return out
    if isinstance(t, tuple):
        kind, sub = t
        if kind == "map":
            if not isinstance(v, dict):
                raise DecodeError("json: cannot unmarshal %s into Go struct field %s of type "
                                  "map[string]%s" % (_jtype(v), path,
                                                     "string" if sub == "str" else "any"))
            return {k: go_decode(x, sub, path, unknown, jpath + "." + k)
                    for k, x in v.items()}
        if not isinstance(v, list):
            raise DecodeError("json: cannot unmarshal %s into Go struct field %s of type []%s"
                              % (_jtype(v), path, "string" if sub == "str" else "object"))
        return [go_decode(x, sub, path, unknown, "%s[%d]" % (jpath, i))
                for i, x in enumerate(v)]
    if t == "str":
        if not isinstance(v, str):
            raise DecodeError("json: cannot unmarshal %s into Go struct field %s of type string"
                              % (_jtype(v), path))
        return v
    if t == "bool":
        if not isinstance(v, bool):
            raise DecodeError("json: cannot unmarshal %s into Go struct field %s of type bool"
                              % (_jtype(v), path))
        return v
    if t in ("int32", "int64"):
        bits = 32 if t == "int32" else 64
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise DecodeError("json: cannot unmarshal %s into Go struct field %s of type %s"
                              % (_jtype(v), path, t))
        if isinstance(v, float):
            if not v.is_integer():
                raise DecodeError("json: cannot unmarshal number %s into Go struct field %s of "
                                  "type %s" % (json.dumps(v), path, t))
            v = int(v)
        if not -(1 << (bits - 1)) <= v < (1 << (bits - 1)):
            raise DecodeError("json: cannot unmarshal number %d into Go struct field %s of "
                              "type %s" % (v, path, t))
        return v
    if t == "ios":
        if isinstance(v, bool) or not isinstance(v, (int, str)):
            raise DecodeError("json: cannot unmarshal %s into Go struct field %s of type "
                              "intstr.IntOrString" % (_jtype(v), path))
        return v
    if t in ("time", "micro"):
        if not isinstance(v, str):
            raise DecodeError("json: cannot unmarshal %s into Go struct field %s of type "
                              "string" % (_jtype(v), path))
        return _norm_time(v, t == "micro", path)
    return v


# kinds whose GO_TYPES entry lists every field: unknown fields are dropped (or refused with
# fieldValidation=Strict), as the real decoder does for every built-in kind
CLOSED_TYPES = {("", "services"), ("coordination.k8s.io", "leases"),
                ("discovery.k8s.io", "endpointslices")}


def decode_builtin(rt, obj, unknown=None):
    """Type-check and normalise obj as the real server's decoder would (raises ApiError).
    Unknown fields of metadata (every kind) and of CLOSED_TYPES are dropped and listed in
    `unknown`."""
    if unknown is None:
        unknown = []
    try:
        if "metadata" in obj:
            obj["metadata"] = go_decode(obj["metadata"], GO_META, rt.kind + ".metadata",
                                        unknown, "metadata")
        t = GO_TYPES.get(rt.key) if rt.builtin else None
        if t:
            closed = rt.key in CLOSED_TYPES
            for k in list(obj):
                if k in t:
                    obj[k] = go_decode(obj[k], t[k], rt.kind + "." + k,
                                       unknown if closed else None, k)
                elif closed and k not in ("apiVersion", "kind", "metadata"):
                    unknown.append(k)
                    del obj[k]
    except DecodeError as e:
        raise ApiError(400, "BadRequest", '%s in version "%s" cannot be handled as a %s: %s'
                       % (rt.kind, rt.version, rt.kind, e))
    return obj


# ==================================================================== leases and events
def lease_prepare(sim, rt, new, old, errs, op, dry):
    spec = new.get("spec") or {}
    d = spec.get("leaseDurationSeconds")
    if d is not None and d <= 0:
        errs.append(e_invalid("spec.leaseDurationSeconds", d, "must be greater than 0"))
    t = spec.get("leaseTransitions")
    if t is not None and t < 0:
        errs.append(e_invalid("spec.leaseTransitions", t, "must be greater than or equal to 0"))
    if spec.get("preferredHolder") and not spec.get("strategy"):
        errs.append(e_forbidden("spec.preferredHolder",
                                "preferredHolder is only allowed if strategy is set"))


def events_v1_prepare(sim, rt, new, old, errs, op, dry):
    if not new.get("eventTime"):
        errs.append(e_required("eventTime"))
    if new.get("type") not in ("Normal", "Warning"):
        errs.append(e_invalid("type", "", "has invalid value: %s" % (new.get("type") or "")))
    for f in ("deprecatedFirstTimestamp", "deprecatedLastTimestamp"):
        if new.get(f):
            errs.append(e_invalid(f, "", "needs to be unset"))
    if new.get("deprecatedCount"):
        errs.append(e_invalid("deprecatedCount", "", "needs to be unset"))
    rc = new.get("reportingController") or ""
    if not rc:
        errs.append(e_required("reportingController"))
    else:
        for m in check_qualified_name(rc):
            errs.append(e_invalid("reportingController", rc, m))
    for f in ("reportingInstance", "action", "reason"):
        v = new.get(f) or ""
        if not v:
            errs.append(e_required(f))
        elif len(v) > 128:
            errs.append(e_invalid(f, "", "can have at most 128 characters"))
    if len(new.get("note") or "") > 1024:
        errs.append(e_invalid("note", "", "can have at most 1024 characters"))
    reg = new.get("regarding") or {}
    if reg.get("namespace") and reg.get("namespace") != new["metadata"].get("namespace"):
        errs.append(e_invalid("regarding.namespace", reg["namespace"],
                              "does not match event.namespace"))


def events_core_prepare(sim, rt, new, old, errs, op, dry):
    io = new.get("involvedObject") or {}
    ns = new["metadata"].get("namespace")
    if io.get("namespace") and io["namespace"] != ns:
        errs.append(e_invalid("involvedObject.namespace", io["namespace"],
                              "does not match event.namespace"))
    t = new.get("type")
    if t and t not in ("Normal", "Warning"):
        errs.append(e_invalid("type", "", "has invalid value: %s" % t))


HOOKS[("coordination.k8s.io", "leases")] = {"prepare": lease_prepare}
HOOKS[("events.k8s.io", "events")] = {"prepare": events_v1_prepare}
HOOKS[("", "events")] = {"prepare": events_core_prepare}


# ==================================================================== RBAC objects
RBAC_GROUP = "rbac.authorization.k8s.io"


def _validate_rules(rules, namespaced, errs):
    if rules is None:
        return
    if not isinstance(rules, list):
        errs.append(e_invalid("rules", rules, "must be a list"))
        return
    for i, r in enumerate(rules):
        f = "rules[%d]" % i
        if not isinstance(r, dict):
            errs.append(e_invalid(f, r, "must be an object"))
            continue
        if not r.get("verbs"):
            errs.append(e_required(f + ".verbs", "verbs must contain at least one value"))
        nru = r.get("nonResourceURLs") or []
        if nru:
            if namespaced:
                errs.append(e_invalid(f + ".nonResourceURLs", nru,
                                      "namespaced rules cannot apply to non-resource URLs"))
            if r.get("apiGroups") or r.get("resources") or r.get("resourceNames"):
                errs.append(e_invalid(f + ".nonResourceURLs", nru, "rules cannot apply to both "
                                      "regular resources and non-resource URLs"))
            continue
        if not r.get("apiGroups"):
            errs.append(e_required(f + ".apiGroups",
                                   "resource rules must supply at least one api group"))
        if not r.get("resources"):
            errs.append(e_required(f + ".resources",
                                   "resource rules must supply at least one resource"))


def role_prepare(sim, rt, new, old, errs, op, dry):
    _validate_rules(new.get("rules"), rt.namespaced, errs)


def binding_prepare(sim, rt, new, old, errs, op, dry):
    # rbac/v1 defaulting: roleRef.apiGroup, and apiGroup of User and Group subjects
    ref = new.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = RBAC_GROUP
    for s in new.get("subjects") or []:
        if isinstance(s, dict) and not s.get("apiGroup") and s.get("kind") in ("User", "Group"):
            s["apiGroup"] = RBAC_GROUP
    ref = new.get("roleRef") or {}
    kinds = ["Role", "ClusterRole"] if rt.namespaced else ["ClusterRole"]
    if ref.get("apiGroup") != RBAC_GROUP:
        errs.append(e_unsupported("roleRef.apiGroup", ref.get("apiGroup", ""), [RBAC_GROUP]))
    if ref.get("kind") not in kinds:
        errs.append(e_unsupported("roleRef.kind", ref.get("kind", ""), kinds))
    if not ref.get("name"):
        errs.append(e_required("roleRef.name"))
    else:
        for m in check_path_segment(ref["name"]):
            errs.append(e_invalid("roleRef.name", ref["name"], m))
    if old is not None and (old.get("roleRef") or {}) != ref:
        errs.append(e_invalid("roleRef", ref, "cannot change roleRef"))
    for i, s in enumerate(new.get("subjects") or []):
        f = "subjects[%d]" % i
        if not isinstance(s, dict):
            errs.append(e_invalid(f, s, "must be an object"))
            continue
        if not s.get("name"):
            errs.append(e_required(f + ".name"))
        kind = s.get("kind")
        if kind == "ServiceAccount":
            if s.get("apiGroup"):
                errs.append(e_unsupported(f + ".apiGroup", s["apiGroup"], [""]))
            if s.get("name"):
                for m in check_subdomain(s["name"]):
                    errs.append(e_invalid(f + ".name", s["name"], m))
            if not rt.namespaced and not s.get("namespace"):
                errs.append(e_required(f + ".namespace"))
        elif kind in ("User", "Group"):
            if s.get("apiGroup") != RBAC_GROUP:
                errs.append(e_unsupported(f + ".apiGroup", s.get("apiGroup", ""), [RBAC_GROUP]))
        else:
            errs.append(e_unsupported(f + ".kind", kind or "", ["ServiceAccount", "User",
                                                                 "Group"]))


for _k in ("roles", "clusterroles"):
    HOOKS[(RBAC_GROUP, _k)] = {"prepare": role_prepare}
for _k in ("rolebindings", "clusterrolebindings"):
    HOOKS[(RBAC_GROUP, _k)] = {"prepare": binding_prepare}


# ==================================================================== Deployments, DaemonSets
def selector_matches(sel, labels):
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def default_pod_spec(ps):
    ps.setdefault("restartPolicy", "Always")
    ps.setdefault("dnsPolicy", "ClusterFirst")
    ps.setdefault("terminationGracePeriodSeconds", 30)
    ps.setdefault("securityContext", {})
    ps.setdefault("schedulerName", "default-scheduler")
    for c in (ps.get("containers") or []) + (ps.get("initContainers") or []):
        if not isinstance(c, dict):
            continue
        img = c.get("image") or ""
        tagless = ":" not in img.rsplit("/", 1)[-1] and "@" not in img
        c.setdefault("imagePullPolicy", "Always" if tagless or img.endswith(":latest")
                     else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for p in c.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                if ps.get("hostNetwork") and "containerPort" in p:
                    p.setdefault("hostPort", p["containerPort"])


def workload_prepare(sim, rt, new, old, errs, op, dry):
    if op == "status":
        return
    spec = new.get("spec")
    if not isinstance(spec, dict):
        spec = new["spec"] = {}
    kind = rt.kind.lower()
    if rt.plural == "deployments":
        spec.setdefault("replicas", 1)
        st = spec.setdefault("strategy", {})
        st.setdefault("type", "RollingUpdate")
        if st["type"] == "RollingUpdate":
            ru = st.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
        spec.setdefault("progressDeadlineSeconds", 600)
    else:
        us = spec.setdefault("updateStrategy", {})
        us.setdefault("type", "RollingUpdate")
        if us["type"] == "RollingUpdate":
            ru = us.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", 1)
            ru.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    tmpl = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    ps = tmpl.get("spec") if isinstance(tmpl.get("spec"), dict) else None
    if ps is not None:
        default_pod_spec(ps)
    sel = spec.get("selector")
    if not sel:
        errs.append(e_required("spec.selector"))
    elif not isinstance(sel, dict) or not (sel.get("matchLabels") or
                                           sel.get("matchExpressions")):
        errs.append(e_invalid("spec.selector", sel, "empty selector is invalid for %s" % kind))
    else:
        labels = ((tmpl.get("metadata") or {}).get("labels")) or {}
        if not selector_matches(sel, labels):
            errs.append(e_invalid("spec.template.metadata.labels", labels,
                                  "`selector` does not match template `labels`"))
        validate_labels(sel.get("matchLabels"), "spec.selector.matchLabels", errs)
    r = spec.get("replicas")
    if isinstance(r, int) and r < 0:
        errs.append(e_invalid("spec.replicas", r, "must be greater than or equal to 0"))
    if ps is None:
        errs.append(e_required("spec.template.spec.containers"))
    else:
        cs = ps.get("containers") or []
        if not cs:
            errs.append(e_required("spec.template.spec.containers"))
        names = set()
        for i, c in enumerate(cs):
            f = "spec.template.spec.containers[%d]" % i
            if not isinstance(c, dict):
                errs.append(e_invalid(f, c, "must be an object"))
                continue
            if not c.get("name"):
                errs.append(e_required(f + ".name"))
            else:
                for m in check_label(c["name"]):
                    errs.append(e_invalid(f + ".name", c["name"], m))
                if c["name"] in names:
                    errs.append(e_duplicate(f + ".name", c["name"]))
                names.add(c["name"])
            if not c.get("image"):
                errs.append(e_required(f + ".image"))
        if ps.get("restartPolicy") != "Always":
            errs.append(e_unsupported("spec.template.spec.restartPolicy",
                                      ps.get("restartPolicy"), ["Always"]))
    if old is not None and (old.get("spec") or {}).get("selector") != sel:
        errs.append(e_invalid("spec.selector", sel, "field is immutable"))


HOOKS[("apps", "deployments")] = {"prepare": workload_prepare}
HOOKS[("apps", "daemonsets")] = {"prepare": workload_prepare}


# ==================================================================== ConfigMaps and Secrets
_re_config_key = re.compile(r"^[-._a-zA-Z0-9]+$")
MSG_CONFIG_KEY = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                  "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation "
                  "is '[-._a-zA-Z0-9]+')")


def _check_keys(d, field, errs):
    for k in (d or {}):
        if len(k) > 253:
            errs.append(e_invalid("%s[%s]" % (field, k), k, "must be no more than 253 "
                                  "characters"))
        if not _re_config_key.match(k) or k in (".", ".."):
            errs.append(e_invalid("%s[%s]" % (field, k), k, MSG_CONFIG_KEY))


def _immutable_data(new, old, fields, errs):
    if old is not None and old.get("immutable") is True:
        for f in fields:
            if (new.get(f) or {}) != (old.get(f) or {}):
                errs.append(e_forbidden(f, "field is immutable when `immutable` is set"))
        if new.get("immutable") is not True:
            errs.append(e_forbidden("immutable", "field is immutable when `immutable` is set"))


def configmap_prepare(sim, rt, new, old, errs, op, dry):
    _check_keys(new.get("data"), "data", errs)
    _check_keys(new.get("binaryData"), "binaryData", errs)
    for k in set(new.get("data") or {}) & set(new.get("binaryData") or {}):
        errs.append(e_invalid("data[%s]" % k, k, "duplicate of key present in binaryData"))
    _immutable_data(new, old, ("data", "binaryData"), errs)


def secret_prepare(sim, rt, new, old, errs, op, dry):
    import base64 as _b64
    import binascii
    for k, v in (new.get("data") or {}).items():
        try:
            _b64.b64decode(v.encode(), validate=True)
        except (binascii.Error, ValueError) as e:
            raise ApiError(400, "BadRequest", 'Secret in version "v1" cannot be handled as a '
                           'Secret: illegal base64 data at input byte 0 (%s)' % e)
    # stringData is write-only: merged into data, base64-encoded, as the real server does
    sd = new.pop("stringData", None)
    if sd:
        data = new.setdefault("data", {})
        for k, v in sd.items():
            data[k] = _b64.b64encode(v.encode()).decode()
    new.setdefault("type", "Opaque")
    _check_keys(new.get("data"), "data", errs)
    if old is not None and new.get("type") != old.get("type"):
        errs.append(e_invalid("type", new.get("type"), "field is immutable"))
    _immutable_data(new, old, ("data",), errs)


HOOKS[("", "configmaps")] = {"prepare": configmap_prepare}
HOOKS[("", "secrets")] = {"prepare": secret_prepare}


# ==================================================================== Endpoints
def endpoints_prepare(sim, rt, new, old, errs, op, dry):
    for i, ss in enumerate(new.get("subsets") or []):
        f = "subsets[%d]" % i
        if not isinstance(ss, dict):
            errs.append(e_invalid(f, ss, "must be an object"))
            continue
        for fld in ("addresses", "notReadyAddresses"):
            for j, a in enumerate(ss.get(fld) or []):
                af = "%s.%s[%d].ip" % (f, fld, j)
                ip = a.get("ip") if isinstance(a, dict) else None
                if not valid_ip(ip):
                    errs.append(e_invalid(af, ip, "must be a valid IP address"))
                elif ipaddress.ip_address(ip).is_loopback:
                    errs.append(e_invalid(af, ip, "may not be in the loopback range "
                                          "(127.0.0.0/8, ::1/128)"))
                elif ipaddress.ip_address(ip).is_link_local:
                    errs.append(e_invalid(af, ip, "may not be in the link-local range "
                                          "(169.254.0.0/16, fe80::/10)"))
        ports = ss.get("ports") or []
        for j, p in enumerate(ports):
            pf = "%s.ports[%d]" % (f, j)
            if not isinstance(p, dict):
                errs.append(e_invalid(pf, p, "must be an object"))
                continue
            if len(ports) > 1 and not p.get("name"):
                errs.append(e_required(pf + ".name"))
            pt = p.get("port")
            if not isinstance(pt, int) or isinstance(pt, bool) or not 1 <= pt <= 65535:
                errs.append(e_invalid(pf + ".port", pt, "must be between 1 and 65535, "
                                      "inclusive"))
            if p.get("protocol", "TCP") not in ("SCTP", "TCP", "UDP"):
                errs.append(e_unsupported(pf + ".protocol", p.get("protocol"),
                                          ["SCTP", "TCP", "UDP"]))
            else:
                p.setdefault("protocol", "TCP")


HOOKS[("", "endpoints")] = {"prepare": endpoints_prepare}
GO_TYPES[("", "endpoints")] = {"subsets": ("list", {
    "addresses": ("list", {"ip": "str", "hostname": "str", "nodeName": "str",
                           "targetRef": _OBJREF}),
    "notReadyAddresses": ("list", {"ip": "str", "hostname": "str", "nodeName": "str",
                                   "targetRef": _OBJREF}),
    "ports": ("list", {"name": "str", "port": "int32", "protocol": "str",
                       "appProtocol": "str"})})}
