#!/bin/sh
# The speaker's control plane against test/kubesim: three l2lb-speakers (dry-run announcers,
# real Leases) elect, fail over, hand over, follow endpoints and selectors, ride out API
# outages, and cost the documented API writes per second. Prints measured figures.
# Last line of stdout: "N passed, N failed, N skipped". Exit 0 / 1 / 77 (all skipped).
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
if [ -z "$py" ]; then
	echo "check-speaker: python3 not found, skipping"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
fi
if ! command -v openssl >/dev/null 2>&1; then
	echo "check-speaker: openssl not found (kubesim needs it for TLS), skipping"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
fi
PYTHONDONTWRITEBYTECODE=1 exec "$py" "$here/test_speaker_it.py" "$@"
