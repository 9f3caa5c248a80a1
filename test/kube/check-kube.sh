#!/bin/sh
# pkg/kube against test/kubesim over HTTPS with a token, through build/bin/l2lb-kubeget.
# Last line of stdout: "N passed, N failed, N skipped". Exit 0 / 1 / 77 (all skipped).
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
if [ -z "$py" ]; then
	echo "check-kube: python3 not found, skipping"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
fi
if ! command -v openssl >/dev/null 2>&1; then
	echo "check-kube: openssl not found (kubesim needs it for TLS), skipping"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
fi
PYTHONDONTWRITEBYTECODE=1 exec "$py" "$here/test_kube_it.py" "$@"
