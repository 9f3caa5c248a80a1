"""Test harness: start kubesim on 127.0.0.1:0, talk to it over real HTTP(S).

Used by test_kubesim.py, test_kubectl.py and bench.py. Standard library only.
"""

import http.client
import json
import os
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
KUBESIM = os.path.join(HERE, "kubesim.py")
PYTHON = sys.executable or "/usr/bin/python3"


class Sim:
    """A kubesim process. Always call stop() (tests use addClassCleanup/addCleanup)."""

    def __init__(self, *extra, token="s3cret", plain=False, tmp=None, start_timeout=30):
        self.tmp = tmp or tempfile.mkdtemp(prefix="kubesim-test-")
        self.own_tmp = tmp is None
        self.token = token
        self.plain = plain
        self.kubeconfig = os.path.join(self.tmp, "kubeconfig")
        self.reqlog = os.path.join(self.tmp, "requests.log")
        self.tlsdir = os.path.join(self.tmp, "tls")
        args = [PYTHON, KUBESIM, "--listen", "127.0.0.1:0", "--kubeconfig-out", self.kubeconfig,
                "--request-log", self.reqlog]
        if plain:
            args.append("--plain-http")
        else:
            args += ["--tls-dir", self.tlsdir]
        if token:
            args += ["--token", token]
        args += list(extra)
        self.stderr = open(os.path.join(self.tmp, "stderr.log"), "w")
        self._conn = None
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr)
        self.url = self.admin_url = None
        deadline = time.monotonic() + start_timeout
        buf = b""
        while time.monotonic() < deadline and b"\n" not in buf:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
        line = buf.decode().strip()
        if not line.startswith("kubesim ready "):
            self.stop()
            raise RuntimeError("kubesim did not start: %r; stderr: %s" % (line, self.read_stderr()))
        parts = line.split()
        self.url = parts[2]
        if "admin" in parts:
            self.admin_url = parts[parts.index("admin") + 1]
        u = urllib.parse.urlparse(self.url)
        self.host, self.port = u.hostname, u.port
        self.ctx = None
        if not plain:
            self.ctx = ssl.create_default_context(cafile=os.path.join(self.tlsdir, "ca.crt"))
        self._conn = None

    def read_stderr(self):
        try:
            with open(os.path.join(self.tmp, "stderr.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.stderr.close()
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -------------------------------------------------------------- HTTP
    def connect(self, timeout=10):
        if self.plain:
            return http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                           timeout=timeout)

    def request(self, method, path, body=None, ctype=None, headers=None, token=True,
                conn=None, raw=False):
        """Returns (code, headers dict (lowercase keys), parsed JSON or bytes)."""
        h = {"Accept": "application/json", "User-Agent": "kubesim-test/1"}
        if isinstance(token, str):
            h["Authorization"] = "Bearer " + token
        elif token and self.token:
            h["Authorization"] = "Bearer " + self.token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            ctype = ctype or "application/json"
        if ctype:
            h["Content-Type"] = ctype
        h.update(headers or {})
        own = conn is None
        for attempt in range(2):
            c = conn or self._conn or self.connect()
            try:
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                c.close()
                if own:
                    self._conn = None
                if not own or attempt == 1:
                    raise
        if own:
            self._conn = c
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if raw:
            return r.status, hdrs, data
        try:
            return r.status, hdrs, json.loads(data) if data else None
        except ValueError:
            return r.status, hdrs, data

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, ctype="application/merge-patch+json", **kw):
        return self.request("PATCH", path, body, ctype=ctype, **kw)

    def delete(self, path, body=None, **kw):
        return self.request("DELETE", path, body, **kw)

    def admin(self, method, what, body=None):
        return self.request(method, "/kubesim/" + what, body)

    # -------------------------------------------------------------- watch
    def watch(self, path, timeout=10, headers=None):
        return Watch(self, path, timeout, headers)


class Watch:
    """A streaming watch; next(timeout) returns one decoded event or None at end of stream."""

    def __init__(self, sim, path, timeout, headers):
        self.conn = sim.connect(timeout=timeout)
        h = {"Accept": "application/json"}
        if sim.token:
            h["Authorization"] = "Bearer " + sim.token
        h.update(headers or {})
        self.conn.request("GET", path, headers=h)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}

    def next(self, timeout=10):
        self.conn.sock.settimeout(timeout)
        line = self.resp.readline()
        if not line:
            return None
        return json.loads(line)

    def close(self):
        try:
            self.resp.close()
            self.conn.close()
        except OSError:
            pass


def wait_for(pred, timeout=10, interval=0.02, what="condition"):
    """Poll pred() until truthy or the deadline; returns its value or raises AssertionError."""
    deadline = time.monotonic() + timeout
    n = 0
    while True:
        v = pred()
        if v:
            return v
        n += 1
        if time.monotonic() >= deadline or n > 100000:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(interval)


def port_refuses(host, port):
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect((host, port))
        return False
    except OSError:
        return True
    finally:
        s.close()
