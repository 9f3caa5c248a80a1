#!/bin/sh
# kubesim-down.sh DIR: stop the kubesim that kubesim-up.sh DIR started (SIGTERM, so --state
# is saved), waiting up to 10 s before SIGKILL.
set -u
[ $# -eq 1 ] || { echo "usage: kubesim-down.sh DIR" >&2; exit 2; }
pidf=$1/pid
[ -s "$pidf" ] || exit 0
pid=$(cat "$pidf")
kill "$pid" 2>/dev/null || { rm -f "$pidf"; exit 0; }
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -9 "$pid" 2>/dev/null
rm -f "$pidf"
exit 0
