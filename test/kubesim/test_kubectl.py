#!/usr/bin/env python3
"""Drive kubesim with the real kubectl through the kubeconfig kubesim writes."""

import json
import os
import select
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simharness import Sim  # noqa: E402

KUBECTL = os.environ.get("KUBECTL") or shutil.which("kubectl") or "/usr/bin/kubectl"
HAVE_KUBECTL = os.path.exists(KUBECTL) and os.access(KUBECTL, os.X_OK)

POOL_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: testpools.test.l2lb.io
spec:
  group: test.l2lb.io
  names: {kind: TestPool, listKind: TestPoolList, plural: testpools, singular: testpool}
  scope: Namespaced
  versions:
  - name: v1beta1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {jsonPath: .spec.autoAssign, name: Auto Assign, type: boolean}
    - {jsonPath: .spec.addresses, name: Addresses, type: string}
    schema:
      openAPIV3Schema:
        description: TestPool is a pool of addresses for the kubectl tests.
        type: object
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            description: TestPoolSpec says which addresses the pool holds.
            type: object
            required: [addresses]
            properties:
              addresses:
                description: Address ranges or CIDRs.
                type: array
                items: {type: string}
              autoAssign:
                description: Whether addresses are handed out automatically.
                type: boolean
                default: true
          status: {type: object}
"""


@unittest.skipUnless(HAVE_KUBECTL, "kubectl not found (looked for %s); skipping the kubectl "
                     "suite" % KUBECTL)
class KubectlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim()
        cls.addClassCleanup(cls.sim.stop)
        cls.cache = os.path.join(cls.sim.tmp, "kcache")

    def kubectl(self, *args, check=True, stdin=None, timeout=60):
        cmd = [KUBECTL, "--kubeconfig", self.sim.kubeconfig, "--cache-dir", self.cache,
               "--request-timeout", "30s"] + list(args)
        env = dict(os.environ, HOME=self.sim.tmp)
        r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                           env=env)
        if check and r.returncode != 0:
            self.fail("%s failed (%d):\nstdout: %s\nstderr: %s" % (" ".join(args), r.returncode,
                                                                  r.stdout, r.stderr))
        return r

    def write(self, name, text):
        p = os.path.join(self.sim.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_create_get_patch_delete(self):
        self.kubectl("create", "namespace", "kc-crud")
        f = self.write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n"
                       "  namespace: kc-crud\ndata:\n  a: b\n")
        r = self.kubectl("create", "-f", f)
        self.assertIn("configmap/one created", r.stdout)
        r = self.kubectl("create", "-f", f, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("AlreadyExists", r.stderr)
        o = json.loads(self.kubectl("get", "-n", "kc-crud", "configmap", "one", "-o",
                                    "json").stdout)
        self.assertEqual(o["data"], {"a": "b"})
        self.kubectl("patch", "-n", "kc-crud", "configmap", "one", "-p", '{"data":{"a":"c"}}')
        self.kubectl("patch", "-n", "kc-crud", "configmap", "one", "--type", "json", "-p",
                     '[{"op":"add","path":"/data/x","value":"y"}]')
        o = json.loads(self.kubectl("get", "-n", "kc-crud", "cm", "one", "-o", "json").stdout)
        self.assertEqual(o["data"], {"a": "c", "x": "y"})
        self.kubectl("label", "-n", "kc-crud", "cm", "one", "tier=fe")
        r = self.kubectl("get", "-n", "kc-crud", "cm", "-l", "tier=fe", "-o", "name")
        self.assertEqual(r.stdout.strip(), "configmap/one")
        r = self.kubectl("delete", "-n", "kc-crud", "configmap", "one")
        self.assertIn('configmap "one" deleted', r.stdout)
        r = self.kubectl("get", "-n", "kc-crud", "configmap", "one", check=False)
        self.assertIn("NotFound", r.stderr)

    def test_apply_twice(self):
        self.kubectl("create", "namespace", "kc-apply")
        svc = ("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: kc-apply\n"
               "spec:\n  type: LoadBalancer\n  selector: {app: web}\n  ports:\n"
               "  - name: http\n    port: %d\n")
        r = self.kubectl("apply", "-f", self.write("svc.yaml", svc % 80))
        self.assertIn("service/web created", r.stdout)
        r = self.kubectl("apply", "-f", self.write("svc.yaml", svc % 8080))
        self.assertIn("service/web configured", r.stdout)
        r = self.kubectl("apply", "-f", self.write("svc.yaml", svc % 8080))
        self.assertIn("service/web unchanged", r.stdout)
        o = json.loads(self.kubectl("get", "-n", "kc-apply", "svc", "web", "-o", "json").stdout)
        self.assertEqual([p["port"] for p in o["spec"]["ports"]], [8080])
        self.assertIn("kubectl.kubernetes.io/last-applied-configuration",
                      o["metadata"]["annotations"])

    def test_get_svc_shows_external_ip(self):
        self.kubectl("create", "namespace", "kc-svc")
        self.kubectl("apply", "-f", self.write("lb.yaml", (
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: lb\n  namespace: kc-svc\n"
            "spec:\n  type: LoadBalancer\n  ports:\n  - port: 80\n")))
        out = self.kubectl("get", "-n", "kc-svc", "svc").stdout
        self.assertEqual(out.splitlines()[0].split(), ["NAME", "TYPE", "CLUSTER-IP",
                                                       "EXTERNAL-IP", "PORT(S)", "AGE"])
        self.assertIn("<pending>", out)
        self.kubectl("patch", "-n", "kc-svc", "svc", "lb", "--subresource=status", "--type=merge",
                     "-p", '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.201"}]}}}')
        row = [ln.split() for ln in self.kubectl("get", "-n", "kc-svc", "svc").stdout.splitlines()
               if ln.startswith("lb ")][0]
        self.assertEqual(row[1], "LoadBalancer")
        self.assertEqual(row[3], "192.0.2.201")
        self.assertRegex(row[4], r"^80:3\d{4}/TCP$")

    def test_get_watch_sees_later_change(self):
        self.kubectl("create", "namespace", "kc-watch")
        self.kubectl("create", "configmap", "-n", "kc-watch", "early", "--from-literal=a=b")
        cmd = [KUBECTL, "--kubeconfig", self.sim.kubeconfig, "--cache-dir", self.cache,
               "get", "-n", "kc-watch", "configmaps", "-w"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=dict(os.environ, HOME=self.sim.tmp))
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait(10),
                                 p.stdout.close(), p.stderr.close()))
        out = err = b""
        created = False
        deadline = time.monotonic() + 30
        while b"later" not in out and time.monotonic() < deadline:
            # once the initial list ("early") is printed, anything new comes from the watch
            if not created and b"early" in out:
                self.kubectl("create", "configmap", "-n", "kc-watch", "later",
                             "--from-literal=a=b")
                created = True
            r, _, _ = select.select([p.stdout, p.stderr], [], [], 0.5)
            for f in r:
                chunk = os.read(f.fileno(), 4096)
                if f is p.stdout:
                    out += chunk
                else:
                    err += chunk
            if p.poll() is not None and not r:
                break
        self.assertTrue(created, out + err)
        self.assertIn(b"later", out, out + err)

    def test_crd_then_custom_object(self):
        r = self.kubectl("apply", "-f", self.write("crd.yaml", POOL_CRD))
        self.assertIn("customresourcedefinition.apiextensions.k8s.io/testpools.test.l2lb.io "
                      "created", r.stdout)
        r = self.kubectl("apply", "-f", self.write("pool.yaml", (
            "apiVersion: test.l2lb.io/v1beta1\nkind: TestPool\nmetadata:\n  name: lan\n"
            "  namespace: default\nspec:\n  addresses: [192.0.2.200-192.0.2.210]\n")))
        self.assertIn("testpool.test.l2lb.io/lan created", r.stdout)
        out = self.kubectl("get", "testpools").stdout.splitlines()
        self.assertEqual(out[0].split(), ["NAME", "AUTO", "ASSIGN", "ADDRESSES"])
        self.assertEqual(out[1].split(), ["lan", "true", '["192.0.2.200-192.0.2.210"]'])
        o = json.loads(self.kubectl("get", "testpool", "lan", "-o", "json").stdout)
        self.assertTrue(o["spec"]["autoAssign"])
        r = self.kubectl("explain", "testpool.spec")
        self.assertIn("TestPoolSpec says which addresses the pool holds.", r.stdout)
        self.assertIn("addresses", r.stdout)
        r = self.kubectl("apply", "-f", self.write("bad.yaml", (
            "apiVersion: test.l2lb.io/v1beta1\nkind: TestPool\nmetadata:\n  name: bad\n"
            "  namespace: default\nspec:\n  autoAssign: true\n")), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("spec.addresses: Required value", r.stderr)

    def test_create_service_shows_defaults(self):
        # kubectl's typed generators send protobuf; kubesim decodes it
        self.kubectl("create", "namespace", "kc-defaults")
        self.kubectl("create", "service", "loadbalancer", "-n", "kc-defaults", "lb1",
                     "--tcp=80:8080")
        y = self.kubectl("get", "svc", "-n", "kc-defaults", "lb1", "-o", "yaml").stdout
        for line in ("allocateLoadBalancerNodePorts: true", "externalTrafficPolicy: Cluster",
                     "internalTrafficPolicy: Cluster", "ipFamilyPolicy: SingleStack",
                     "- IPv4", "sessionAffinity: None", "protocol: TCP", "targetPort: 8080",
                     "type: LoadBalancer", "loadBalancer: {}"):
            self.assertIn(line, y)
        self.assertRegex(y, r"clusterIP: 198\.19\.\d+\.\d+")
        self.assertRegex(y, r"nodePort: 3\d{4}")
        self.kubectl("create", "configmap", "-n", "kc-defaults", "cm", "--from-literal=k=v")
        self.kubectl("create", "secret", "generic", "-n", "kc-defaults", "s",
                     "--from-literal=k=v")
        o = json.loads(self.kubectl("get", "secret", "-n", "kc-defaults", "s", "-o",
                                    "json").stdout)
        self.assertEqual(o["data"], {"k": "dg=="})
        self.kubectl("create", "clusterrole", "kc-cr", "--verb=get,list",
                     "--resource=services,leases.coordination.k8s.io")
        self.kubectl("create", "clusterrolebinding", "kc-crb", "--clusterrole=kc-cr",
                     "--serviceaccount=kc-defaults:sa1")
        self.kubectl("create", "serviceaccount", "-n", "kc-defaults", "sa1")
        o = json.loads(self.kubectl("get", "clusterrole", "kc-cr", "-o", "json").stdout)
        self.assertEqual(o["rules"], [
            {"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
             "verbs": ["get", "list"]}])
        o = json.loads(self.kubectl("get", "clusterrolebinding", "kc-crb", "-o", "json").stdout)
        self.assertEqual(o["subjects"], [{"kind": "ServiceAccount", "name": "sa1",
                                          "namespace": "kc-defaults"}])
        self.assertEqual(o["roleRef"]["name"], "kc-cr")

    def test_server_side_apply(self):
        self.kubectl("create", "namespace", "kc-ssa")
        f = self.write("ssa.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\n"
                       "  namespace: kc-ssa\ndata:\n  a: b\n")
        r = self.kubectl("apply", "--server-side", "-f", f)
        self.assertIn("configmap/s serverside-applied", r.stdout)
        self.write("ssa.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\n"
                   "  namespace: kc-ssa\ndata:\n  a: c\n")
        self.kubectl("apply", "--server-side", "-f", f)
        o = json.loads(self.kubectl("get", "-n", "kc-ssa", "cm", "s", "-o", "json").stdout)
        self.assertEqual(o["data"], {"a": "c"})

    def test_auth_can_i_as_service_account(self):
        self.kubectl("apply", "-f", self.write("rbac.yaml", """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "kc:speaker"}
rules:
- apiGroups: [""]
  resources: [services, nodes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "kc:speaker"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "kc:speaker"}
subjects:
- {kind: ServiceAccount, name: speaker, namespace: l2lb}
"""))
        sa = "--as=system:serviceaccount:l2lb:speaker"
        r = self.kubectl("auth", "can-i", "list", "services", sa)
        self.assertEqual(r.stdout.strip(), "yes")
        r = self.kubectl("auth", "can-i", "create", "services", sa, check=False)
        self.assertEqual(r.stdout.strip(), "no")
        r = self.kubectl("auth", "can-i", "--list", sa)
        self.assertRegex(r.stdout, r"services\s+\[\]\s+\[\]\s+\[get list watch\]")

    def test_api_resources_and_version(self):
        out = self.kubectl("api-resources").stdout
        for name in ("services", "leases", "endpointslices", "customresourcedefinitions"):
            self.assertIn(name, out)
        out = self.kubectl("version", "-o", "json").stdout
        self.assertIn("serverVersion", out)


if __name__ == "__main__":
    unittest.main()
