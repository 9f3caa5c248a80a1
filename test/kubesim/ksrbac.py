"""RBAC for kubesim (`--authorize`): users from tokens, rules from the stored (Cluster)Roles
and (Cluster)RoleBindings, evaluated as the real RBAC authorizer does, plus the access-review
APIs kubectl uses (`kubectl auth can-i`, `--as`)."""

RBAC = "rbac.authorization.k8s.io"

# what every authenticated user may do on a real cluster (system:discovery,
# system:public-info-viewer, system:basic-user)
DISCOVERY_PATHS = ["/api", "/api/*", "/apis", "/apis/*", "/version", "/healthz", "/livez",
                   "/readyz", "/openapi", "/openapi/*", "/version/"]
BASIC_RULES = [
    {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
     "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
]


class User:
    def __init__(self, name, groups=()):
        self.name = name
        groups = list(groups)
        if name.startswith("system:serviceaccount:"):
            parts = name.split(":")
            if len(parts) == 4:
                groups += ["system:serviceaccounts", "system:serviceaccounts:" + parts[2]]
        if "system:authenticated" not in groups:
            groups.append("system:authenticated")
        self.groups = groups

    def is_admin(self):
        return "system:masters" in self.groups


def subject_matches(subj, user, binding_ns):
    kind = subj.get("kind")
    if kind == "User":
        return subj.get("name") == user.name
    if kind == "Group":
        return subj.get("name") in user.groups
    if kind == "ServiceAccount":
        ns = subj.get("namespace") or binding_ns
        return user.name == "system:serviceaccount:%s:%s" % (ns, subj.get("name"))
    return False


def _has(lst, v):
    return "*" in (lst or []) or v in (lst or [])


def rule_allows(rule, verb, group, resource, sub, name):
    if not _has(rule.get("verbs"), verb):
        return False
    if not _has(rule.get("apiGroups"), group):
        return False
    res = resource + ("/" + sub if sub else "")
    rs = rule.get("resources") or []
    if not ("*" in rs or res in rs or (sub and resource + "/*" in rs) or
            (sub and "*/" + sub in rs)):
        return False
    names = rule.get("resourceNames")
    if names:
        return bool(name) and name in names
    return True


def path_allows(rule, verb, path):
    if not _has(rule.get("verbs"), verb):
        return False
    for p in rule.get("nonResourceURLs") or []:
        if p == "*" or p == path or (p.endswith("*") and path.startswith(p[:-1])):
            return True
    return False


def rules_for(sim, user, ns):
    """All rules that apply to user in namespace ns (None: cluster scope only)."""
    objs = sim.objs
    croles = objs.get((RBAC, "clusterroles"), {})
    roles = objs.get((RBAC, "roles"), {})
    out = list(BASIC_RULES)
    for b in objs.get((RBAC, "clusterrolebindings"), {}).values():
        if any(subject_matches(s, user, None) for s in b.get("subjects") or []):
            r = croles.get((None, (b.get("roleRef") or {}).get("name")))
            if r:
                out += r.get("rules") or []
    if ns:
        for (bns, _), b in objs.get((RBAC, "rolebindings"), {}).items():
            if bns != ns:
                continue
            if not any(subject_matches(s, user, bns) for s in b.get("subjects") or []):
                continue
            ref = b.get("roleRef") or {}
            r = croles.get((None, ref.get("name"))) if ref.get("kind") == "ClusterRole" else \
                roles.get((ns, ref.get("name")))
            if r:
                out += r.get("rules") or []
    return out


def allowed(sim, user, verb, group, resource, sub, ns, name):
    if user is None or user.is_admin():
        return True
    for rule in rules_for(sim, user, ns):
        if rule_allows(rule, verb, group, resource, sub, name):
            return True
    return False


def path_allowed(sim, user, verb, path):
    if user is None or user.is_admin():
        return True
    if verb == "get":
        for p in DISCOVERY_PATHS:
            if p == path or (p.endswith("*") and path.startswith(p[:-1])):
                return True
    for rule in rules_for(sim, user, None):
        if path_allows(rule, verb, path):
            return True
    return False


def forbidden_message(user, verb, group, resource, sub, ns, name):
    res = resource + ("/" + sub if sub else "")
    where = ('in the namespace "%s"' % ns) if ns else "at the cluster scope"
    qual = resource if not group else resource + "." + group
    head = '%s "%s" is forbidden' % (qual, name) if name else "%s is forbidden" % qual
    return '%s: User "%s" cannot %s resource "%s" in API group "%s" %s' % (
        head, user.name, verb, res, group, where)


def review(sim, user, spec):
    """Evaluate a (Self)SubjectAccessReview spec for user; returns the status."""
    ra = spec.get("resourceAttributes")
    nra = spec.get("nonResourceAttributes")
    if ra:
        ok = allowed(sim, user, ra.get("verb", ""), ra.get("group", ""),
                     ra.get("resource", ""), ra.get("subresource", ""),
                     ra.get("namespace") or None, ra.get("name", ""))
    elif nra:
        ok = path_allowed(sim, user, nra.get("verb", ""), nra.get("path", ""))
    else:
        ok = False
    st = {"allowed": ok}
    if ok:
        st["reason"] = "kubesim RBAC: allowed"
    return st


def rules_review(sim, user, ns):
    if user is None or user.is_admin():
        return {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": False}
    rr, nr = [], [{"verbs": ["get"], "nonResourceURLs": list(DISCOVERY_PATHS)}]
    for rule in rules_for(sim, user, ns):
        if rule.get("nonResourceURLs"):
            nr.append({"verbs": rule.get("verbs", []),
                       "nonResourceURLs": rule["nonResourceURLs"]})
        else:
            r = {"verbs": rule.get("verbs", []), "apiGroups": rule.get("apiGroups", []),
                 "resources": rule.get("resources", [])}
            if rule.get("resourceNames"):
                r["resourceNames"] = rule["resourceNames"]
            rr.append(r)
    return {"resourceRules": rr, "nonResourceRules": nr, "incomplete": False}
