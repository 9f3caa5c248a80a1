#!/usr/bin/env python3
"""Checks the pod specs the API server stored for the speaker DaemonSet and the controller
Deployment against what the README promises. Prints `ok|name|` or `fail|name|why` per check."""
import json
import sys


def checks(ds, dep):
    s = ds["spec"]["template"]["spec"]
    sc = s["containers"][0]
    c = dep["spec"]["template"]["spec"]
    cc = c["containers"][0]
    env = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in sc.get("env", [])}
    caps = sc.get("securityContext", {}).get("capabilities", {})
    yield "speaker uses the host network", s.get("hostNetwork") is True, s.get("hostNetwork")
    yield "speaker adds only NET_RAW and drops ALL", (caps.get("add") == ["NET_RAW"] and caps.get("drop") == ["ALL"]), caps
    yield "speaker runs as non-root", s.get("securityContext", {}).get("runAsNonRoot") is True, s.get("securityContext")
    yield "speaker root filesystem is read-only", sc.get("securityContext", {}).get("readOnlyRootFilesystem") is True, sc.get("securityContext")
    yield "speaker gets NODE_NAME from the downward API", env.get("NODE_NAME") == "spec.nodeName", env
    yield "speaker tolerates control-plane taints", any(t.get("key") == "node-role.kubernetes.io/control-plane" for t in s.get("tolerations", [])), s.get("tolerations")
    yield "speaker is system-node-critical", s.get("priorityClassName") == "system-node-critical", s.get("priorityClassName")
    yield "speaker has no CPU limit", "cpu" not in sc.get("resources", {}).get("limits", {}), sc.get("resources")
    grace = s.get("terminationGracePeriodSeconds", 30)
    yield "speaker grace period leaves time to release leases", 5 <= grace <= 60, grace
    yield "speaker has liveness and readiness probes", "livenessProbe" in sc and "readinessProbe" in sc, list(sc)
    ccap = cc.get("securityContext", {}).get("capabilities", {})
    yield "controller runs 2 replicas", dep["spec"].get("replicas") == 2, dep["spec"].get("replicas")
    yield "controller has no capabilities", ccap.get("drop") == ["ALL"] and not ccap.get("add"), ccap
    yield "controller is non-root with seccomp RuntimeDefault", (c.get("securityContext", {}).get("runAsNonRoot") is True and c.get("securityContext", {}).get("seccompProfile", {}).get("type") == "RuntimeDefault"), c.get("securityContext")
    yield "controller root filesystem is read-only", cc.get("securityContext", {}).get("readOnlyRootFilesystem") is True, cc.get("securityContext")
    yield "controller has probes on the health endpoint", (cc.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz" and cc.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz"), cc.get("livenessProbe")
    yield "controller has requests and no CPU limit", ("cpu" in cc.get("resources", {}).get("requests", {}) and "cpu" not in cc.get("resources", {}).get("limits", {})), cc.get("resources")


def main():
    try:
        with open(sys.argv[1]) as f:
            ds = json.load(f)
        with open(sys.argv[2]) as f:
            dep = json.load(f)
    except (OSError, ValueError) as e:
        print(f"fail|pod specs readable from the API server|{e}")
        return
    for name, good, seen in checks(ds, dep):
        print(f"ok|{name}|" if good else f"fail|{name}|saw {json.dumps(seen)}")


main()
