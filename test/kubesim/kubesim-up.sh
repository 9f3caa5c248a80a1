#!/bin/sh
# kubesim-up.sh DIR [kubesim flags...]: start kubesim in the background for a test or the
# demo and wait until it listens. Writes DIR/kubeconfig, DIR/url, DIR/pid, DIR/kubesim.log
# and DIR/requests.log; TLS material goes to DIR/tls. Stop it with kubesim-down.sh DIR.
# Prints the URL. Exit 1 if it does not come up within 30 s.
set -u
[ $# -ge 1 ] || { echo "usage: kubesim-up.sh DIR [kubesim flags...]" >&2; exit 2; }
dir=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
mkdir -p "$dir" || exit 1
rm -f "$dir/url" "$dir/pid"
"$py" "$here/kubesim.py" --listen 127.0.0.1:0 --tls-dir "$dir/tls" \
	--kubeconfig-out "$dir/kubeconfig" --request-log "$dir/requests.log" \
	--ready-file "$dir/url" --pid-file "$dir/pid" "$@" \
	>"$dir/kubesim.log" 2>&1 </dev/null &
child=$!
i=0
while [ $i -lt 300 ]; do
	if [ -s "$dir/url" ] && [ -s "$dir/pid" ]; then
		cat "$dir/url"
		exit 0
	fi
	if ! kill -0 "$child" 2>/dev/null; then
		echo "kubesim-up: kubesim exited; its log:" >&2
		cat "$dir/kubesim.log" >&2
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done
echo "kubesim-up: kubesim did not become ready within 30 s" >&2
kill "$child" 2>/dev/null
exit 1
