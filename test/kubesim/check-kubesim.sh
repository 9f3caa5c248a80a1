#!/bin/sh
# kubesim's own suite for `make check`: the HTTP behaviour tests and the kubectl tests.
# Last line of stdout: "N passed, N failed, N skipped". Exit 0 / 1 / 77 (all skipped).
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
if [ -z "$py" ]; then
	echo "check-kubesim: python3 not found, skipping"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
fi
if ! command -v openssl >/dev/null 2>&1; then
	echo "check-kubesim: openssl not found, skipping"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
fi
PYTHONDONTWRITEBYTECODE=1 exec "$py" "$here/run_tests.py" "$@"
