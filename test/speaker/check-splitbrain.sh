#!/bin/sh
# Three real speakers (pcap responders) in network namespaces on one bridge, kubesim in a fourth:
# the holder cut off from the API alone hands over, and stops answering as soon as the new
# holder's gratuitous ARP arrives. Root only (exit 77 otherwise); namespaces always removed.
# Last line of stdout: "N passed, N failed, N skipped".
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
if [ -z "$py" ]; then
	echo "check-splitbrain: python3 not found, skipping"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
fi
PYTHONDONTWRITEBYTECODE=1 exec "$py" "$here/test_splitbrain_it.py" "$@"
