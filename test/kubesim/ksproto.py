"""Decode the Kubernetes protobuf request encoding for the few kinds kubectl's typed
generators send (`kubectl create namespace|configmap|secret|service`).

Only decoding: kubesim always answers JSON, which every client accepts. A kind or field
not in the tables below is reported so the request fails loudly instead of losing data.
"""

import base64

MAGIC = b"k8s\x00"


class ProtoError(Exception):
    pass


def _varint(b, i):
    shift = result = 0
    while True:
        if i >= len(b):
            raise ProtoError("truncated varint")
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        if not c & 0x80:
            return result, i
        shift += 7
        if shift > 70:
            raise ProtoError("varint too long")


def fields(b):
    """Yield (field number, wire type, value) with value an int or bytes."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            if i + n > len(b):
                raise ProtoError("truncated field %d" % num)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = int.from_bytes(b[i:i + 8], "little"), i + 8
        elif wt == 5:
            v, i = int.from_bytes(b[i:i + 4], "little"), i + 4
        else:
            raise ProtoError("unsupported wire type %d" % wt)
        yield num, wt, v


def _signed(v, bits=64):
    return v - (1 << bits) if v >= 1 << (bits - 1) else v


# schema: {field number: (json name, kind, sub)}; kind one of
# str, int, bool, pbool (*bool), bytes (base64 in JSON), msg (sub schema), map (map<string,string>),
# mapb (map<string,bytes>), rstr (repeated string), rmsg (repeated message), ios (IntOrString),
# time (meta Time -> RFC 3339)
TIME = "time"
OWNER_REF = {1: ("kind", "str"), 3: ("name", "str"), 4: ("uid", "str"),
             5: ("apiVersion", "str"), 6: ("controller", "pbool"),
             7: ("blockOwnerDeletion", "pbool")}
OBJECT_META = {1: ("name", "str"), 2: ("generateName", "str"), 3: ("namespace", "str"),
               4: ("selfLink", "str"), 5: ("uid", "str"), 6: ("resourceVersion", "str"),
               7: ("generation", "int"), 8: ("creationTimestamp", TIME),
               9: ("deletionTimestamp", TIME), 10: ("deletionGracePeriodSeconds", "int"),
               11: ("labels", "map"), 12: ("annotations", "map"),
               13: ("ownerReferences", "rmsg", OWNER_REF), 14: ("finalizers", "rstr"),
               17: ("managedFields", "skip")}
SERVICE_PORT = {1: ("name", "str"), 2: ("protocol", "str"), 3: ("port", "int"),
                4: ("targetPort", "ios"), 5: ("nodePort", "int"), 6: ("appProtocol", "str")}
SESSION_AFFINITY_CONFIG = {1: ("clientIP", "msg", {1: ("timeoutSeconds", "int")})}
SERVICE_SPEC = {1: ("ports", "rmsg", SERVICE_PORT), 2: ("selector", "map"),
                3: ("clusterIP", "str"), 4: ("type", "str"), 5: ("externalIPs", "rstr"),
                7: ("sessionAffinity", "str"), 8: ("loadBalancerIP", "str"),
                9: ("loadBalancerSourceRanges", "rstr"), 10: ("externalName", "str"),
                11: ("externalTrafficPolicy", "str"), 12: ("healthCheckNodePort", "int"),
                13: ("publishNotReadyAddresses", "bool"),
                14: ("sessionAffinityConfig", "msg", SESSION_AFFINITY_CONFIG),
                17: ("ipFamilyPolicy", "str"), 18: ("clusterIPs", "rstr"),
                19: ("ipFamilies", "rstr"), 20: ("allocateLoadBalancerNodePorts", "pbool"),
                21: ("loadBalancerClass", "str"), 22: ("internalTrafficPolicy", "str"),
                23: ("trafficDistribution", "str")}
RESOURCE_ATTRS = {1: ("namespace", "str"), 2: ("verb", "str"), 3: ("group", "str"),
                  4: ("version", "str"), 5: ("resource", "str"), 6: ("subresource", "str"),
                  7: ("name", "str"), 8: ("fieldSelector", "skip"), 9: ("labelSelector", "skip")}
NONRESOURCE_ATTRS = {1: ("path", "str"), 2: ("verb", "str")}
POLICY_RULE = {1: ("verbs", "rstr"), 2: ("apiGroups", "rstr"), 3: ("resources", "rstr"),
               4: ("resourceNames", "rstr"), 5: ("nonResourceURLs", "rstr")}
SUBJECT = {1: ("kind", "str"), 2: ("apiGroup", "str"), 3: ("name", "str"),
           4: ("namespace", "str")}
ROLE_REF = {1: ("apiGroup", "str"), 2: ("kind", "str"), 3: ("name", "str")}
RBAC_GV = "rbac.authorization.k8s.io/v1"
KINDS = {
    (RBAC_GV, "ClusterRole"): {1: ("metadata", "msg", OBJECT_META),
                               2: ("rules", "rmsg", POLICY_RULE),
                               3: ("aggregationRule", "skip")},
    (RBAC_GV, "Role"): {1: ("metadata", "msg", OBJECT_META), 2: ("rules", "rmsg", POLICY_RULE)},
    (RBAC_GV, "ClusterRoleBinding"): {1: ("metadata", "msg", OBJECT_META),
                                      2: ("subjects", "rmsg", SUBJECT),
                                      3: ("roleRef", "msg", ROLE_REF)},
    (RBAC_GV, "RoleBinding"): {1: ("metadata", "msg", OBJECT_META),
                               2: ("subjects", "rmsg", SUBJECT),
                               3: ("roleRef", "msg", ROLE_REF)},
    ("v1", "ServiceAccount"): {1: ("metadata", "msg", OBJECT_META),
                               2: ("secrets", "rmsg", {1: ("kind", "str"),
                                                       2: ("namespace", "str"),
                                                       3: ("name", "str")}),
                               3: ("imagePullSecrets", "rmsg", {1: ("name", "str")}),
                               4: ("automountServiceAccountToken", "pbool")},
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): {
        1: ("metadata", "msg", OBJECT_META),
        2: ("spec", "msg", {1: ("resourceAttributes", "msg", RESOURCE_ATTRS),
                            2: ("nonResourceAttributes", "msg", NONRESOURCE_ATTRS)}),
        3: ("status", "skip")},
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): {
        1: ("metadata", "msg", OBJECT_META), 2: ("spec", "msg", {1: ("namespace", "str")}),
        3: ("status", "skip")},
    ("authorization.k8s.io/v1", "SubjectAccessReview"): {
        1: ("metadata", "msg", OBJECT_META),
        2: ("spec", "msg", {1: ("resourceAttributes", "msg", RESOURCE_ATTRS),
                            2: ("nonResourceAttributes", "msg", NONRESOURCE_ATTRS),
                            3: ("user", "str"), 4: ("groups", "rstr"), 5: ("extra", "skip"),
                            6: ("uid", "str")}),
        3: ("status", "skip")},
    ("v1", "Namespace"): {1: ("metadata", "msg", OBJECT_META),
                          2: ("spec", "msg", {1: ("finalizers", "rstr")}),
                          3: ("status", "skip")},
    ("v1", "ConfigMap"): {1: ("metadata", "msg", OBJECT_META), 2: ("data", "map"),
                          3: ("binaryData", "mapb"), 4: ("immutable", "pbool")},
    ("v1", "Secret"): {1: ("metadata", "msg", OBJECT_META), 2: ("data", "mapb"),
                       3: ("type", "str"), 4: ("stringData", "map"), 5: ("immutable", "pbool")},
    ("v1", "Service"): {1: ("metadata", "msg", OBJECT_META),
                        2: ("spec", "msg", SERVICE_SPEC), 3: ("status", "skip")},
}


def _msg(b, schema, path):
    out = {}
    for num, wt, v in fields(b):
        ent = schema.get(num)
        if ent is None:
            raise ProtoError("field %d of %s is not known to kubesim's protobuf decoder"
                             % (num, path or "object"))
        name, kind = ent[0], ent[1]
        p = path + "." + name if path else name
        if kind == "skip":
            continue
        if kind == "str":
            if v:  # Go zero values are "unset" in JSON (omitempty)
                out[name] = v.decode("utf-8")
        elif kind == "bytes":
            out[name] = base64.b64encode(v).decode()
        elif kind == "int":
            if v:
                out[name] = _signed(v)
        elif kind == "bool":
            if v:
                out[name] = True
        elif kind == "pbool":  # *bool: sent only when set
            out[name] = bool(v)
        elif kind == "msg":
            out[name] = _msg(v, ent[2], p)
        elif kind == "rmsg":
            out.setdefault(name, []).append(_msg(v, ent[2], p))
        elif kind == "rstr":
            out.setdefault(name, []).append(v.decode("utf-8"))
        elif kind in ("map", "mapb"):
            k = val = None
            for n2, _, v2 in fields(v):
                if n2 == 1:
                    k = v2.decode("utf-8")
                elif n2 == 2:
                    val = v2
            val = val or b""
            out.setdefault(name, {})[k or ""] = (val.decode("utf-8") if kind == "map"
                                                 else base64.b64encode(val).decode())
        elif kind == "ios":
            d = {}
            for n2, _, v2 in fields(v):
                d[n2] = v2
            out[name] = d.get(3, b"").decode() if d.get(1) == 1 else _signed(d.get(2, 0), 32)
        elif kind == TIME:
            import time as _t
            secs = 0
            for n2, _, v2 in fields(v):
                if n2 == 1:
                    secs = _signed(v2)
            out[name] = _t.strftime("%Y-%m-%dT%H:%M:%SZ", _t.gmtime(secs))
    return out


def decode(body):
    """Return the JSON-shaped object for a protobuf-encoded request body."""
    if not body.startswith(MAGIC):
        raise ProtoError("missing the k8s protobuf magic prefix")
    api_version = kind = ""
    raw = b""
    for num, _, v in fields(body[len(MAGIC):]):
        if num == 1:
            for n2, _, v2 in fields(v):
                if n2 == 1:
                    api_version = v2.decode()
                elif n2 == 2:
                    kind = v2.decode()
        elif num == 2:
            raw = v
    schema = KINDS.get((api_version, kind))
    if schema is None:
        raise ProtoError("kubesim cannot decode protobuf for %s %s; send JSON"
                         % (api_version, kind))
    obj = _msg(raw, schema, "")
    obj["apiVersion"], obj["kind"] = api_version, kind
    return obj
