#!/usr/bin/env python3
"""Compares what each daemon asked the API server for (kubesim's request log) with what the RBAC
objects in deploy/l2lb.yaml grant it.

usage: rbac.py OBJECTS.json REQUESTS.log USER=SA_NAMESPACE/SA_NAME... [--rare "VERB RESOURCE,..."]

OBJECTS.json is deploy/l2lb.yaml as a JSON List (kubectl converts it; no YAML parser in the
standard library). Each USER=SERVICEACCOUNT pairs a request-log user with the ServiceAccount
(namespace/name) whose bindings apply. Prints one `ok|name|` or `fail|name|why` line per check:
  - every request the user made is allowed by a rule bound to the service account, and none was
    refused (403);
  - every (verb, resource) a bound rule grants was used at least once by that user;
  - each --rare grant (one an unusual event needs, e.g. "get services" after a 409) is listed
    as provoked when the user made such a request.
Rules are evaluated as the RBAC authorizer does, for what deploy/ uses: apiGroups, resources
with subresources, verbs, resourceNames, ClusterRoles bound cluster-wide or in a namespace,
Roles in their namespace.
"""
import json
import sys


def load_rules(objs, sa_ns, sa_name):
    """The rules bound to the service account: [(namespace or None, rule, role name)]."""
    roles = {}
    for o in objs:
        k, md = o.get("kind"), o.get("metadata", {})
        if k in ("ClusterRole", "Role"):
            roles[(k, md.get("namespace") if k == "Role" else None, md["name"])] = o
    out = []
    for o in objs:
        k, md = o.get("kind"), o.get("metadata", {})
        if k not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        bns = md.get("namespace") if k == "RoleBinding" else None
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == sa_name and
                   (s.get("namespace") or bns) == sa_ns for s in o.get("subjects", [])):
            continue
        ref = o["roleRef"]
        key = (ref["kind"], bns if ref["kind"] == "Role" else None, ref["name"])
        role = roles.get(key)
        if role is None:
            out.append((bns, None, "%s %s (missing)" % key[::2]))
            continue
        for r in role.get("rules", []):
            out.append((bns, r, "%s %s" % (ref["kind"], ref["name"])))
    return out


def res_name(resource, sub):
    return resource + ("/" + sub if sub else "")


def rule_allows(rule, verb, group, resource, sub, name):
    if rule is None or "resources" not in rule:
        return False
    if not ({verb, "*"} & set(rule.get("verbs", []))):
        return False
    if not ({group, "*"} & set(rule.get("apiGroups", []))):
        return False
    if res_name(resource, sub) not in rule["resources"] and "*" not in rule["resources"]:
        return False
    names = rule.get("resourceNames")
    return not names or name in names


def allowed(rules, req):
    for ns, rule, _ in rules:
        if ns is not None and req.get("namespace", "") != ns:
            continue
        if rule_allows(rule, req["verb"], req.get("group", ""), req["resource"],
                       req.get("subresource", ""), req.get("name", "")):
            return True
    return False


def key(verb, group, resource):
    return "%s %s%s" % (verb, resource, "." + group if group else "")


def load_objects(path):
    """Objects from a JSON List, or from JSON documents one after another (kubectl -o json)."""
    with open(path) as f:
        text = f.read()
    dec, pos, out = json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            return out
        doc, pos = dec.raw_decode(text, pos)
        out += doc["items"] if doc.get("kind") == "List" else [doc]


def mutate(src, dst, how):
    """Writes src's objects to dst with the speaker Role's servicel2statuses rule granting fewer
    verbs than used (how "less") or one more (how "more"): the comparison's own test."""
    objs = load_objects(src)
    for o in objs:
        if o["kind"] == "Role" and o["metadata"]["name"] == "l2lb-speaker":
            for r in o["rules"]:
                if r["resources"] == ["servicel2statuses"]:
                    r["verbs"] = ["create", "delete"] if how == "less" else r["verbs"] + ["get"]
    with open(dst, "w") as f:
        json.dump({"kind": "List", "items": objs}, f)
    return 0


def main(argv):
    if len(argv) == 5 and argv[1] == "--mutate":
        return mutate(argv[2], argv[3], argv[4])
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    objs = load_objects(argv[1])
    pairs, rare, i = [], set(), 3
    while i < len(argv):
        if argv[i] == "--rare":
            rare.update(argv[i + 1].split(","))
            i += 2
            continue
        user, sa = argv[i].split("=", 1)
        pairs.append((user, sa))
        i += 1
    reqs = []
    with open(argv[2]) as f:
        for line in f:
            line = line.strip()
            if line:
                reqs.append(json.loads(line))
    for user, sa in pairs:
        sa_ns, sa_name = sa.split("/", 1)
        rules = load_rules(objs, sa_ns, sa_name)
        mine = [r for r in reqs if r.get("user") == user]
        who = sa_name
        if not mine:
            print("fail|%s made requests|none in the log for user %s" % (who, user))
            continue
        denied, used = {}, set()
        for r in mine:
            if "resource" not in r:
                continue  # discovery and /version: open to every authenticated user
            k = key(r["verb"], r.get("group", ""), res_name(r["resource"], r.get("subresource", "")))
            where = r.get("namespace") or "(cluster)"
            if r.get("code") == 403 or not allowed(rules, r):
                denied.setdefault(k + " in " + where, r.get("code"))
            used.add((r["verb"], r.get("group", ""), r["resource"], r.get("subresource", ""),
                      r.get("namespace", "")))
        verbs = sorted({key(r["verb"], r.get("group", ""),
                            res_name(r["resource"], r.get("subresource", "")))
                        for r in mine if "resource" in r})
        print("ok|%s: %d requests seen, %d kinds|%s" % (who, len(mine), len(verbs), "; ".join(verbs)))
        if denied:
            print("fail|every request of %s is allowed by its RBAC|not granted (code seen): %s" %
                  (who, "; ".join("%s (%s)" % kv for kv in sorted(denied.items()))))
        else:
            print("ok|every request of %s is allowed by its RBAC|" % who)
        unused = []
        for ns, rule, role in rules:
            if rule is None:
                unused.append(role)
                continue
            for g in rule.get("apiGroups", []):
                for res in rule.get("resources", []):
                    resource, _, sub = res.partition("/")
                    for v in rule.get("verbs", []):
                        hit = any(u[0] == v and u[1] == g and u[2] == resource and u[3] == sub and
                                  (ns is None or u[4] == ns) for u in used)
                        if not hit:
                            unused.append("%s (%s)" % (key(v, g, res), role))
        if unused:
            print("fail|every rule of %s is used|granted but never used: %s" %
                  (who, "; ".join(unused)))
        else:
            print("ok|every rule of %s is used|" % who)
        # Grants only an unusual event needs (a conflict, a repeat, a deleted service): the
        # scenario provokes each, and says so here, so none can pass as "used" by accident.
        for k in sorted(rare):
            if any(key(u[0], u[1], res_name(u[2], u[3])) == k for u in used):
                print("ok|%s: the rare %s was provoked and allowed|" % (who, k))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
