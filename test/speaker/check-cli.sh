#!/bin/sh
# check-cli.sh: l2lb-speaker's command line: help, version, and one-line errors with exit 2.
set -u
cd "$(dirname "$0")/../.." || exit 2
SPEAKER=${L2LB_BUILD:-$PWD/build}/bin/l2lb-speaker
pass=0 fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM

# expect RC PATTERN ARGS...: the speaker exits RC and its output matches PATTERN (grep -E).
expect() {
	want=$1 pat=$2
	shift 2
	"$SPEAKER" "$@" >"$out" 2>&1 </dev/null
	rc=$?
	if [ $rc -eq "$want" ] && grep -qE -e "$pat" "$out"; then
		pass=$((pass + 1))
		echo "ok   - $*"
	else
		fail=$((fail + 1))
		echo "FAIL - $*: exit $rc (want $want), output: $(cat "$out")"
	fi
}

expect 0 '--static ADDR\[@IFACE\]' --help
expect 0 '^l2lb-speaker ' --version
expect 2 '^l2lb-speaker: unknown flag --frobnicate \(see --help\)$' --frobnicate
expect 2 'needs a value' --static
expect 2 'bad --static 192.0.2: 192.0.2 is not an IPv4 or IPv6 address' --static 192.0.2
expect 2 'bad --static 192.0.2.1@: bad interface name' --static 192.0.2.1@
expect 2 'bad interface name' --static 192.0.2.1@averyveryverylongname0
expect 2 'bad --garp-interval -1' --garp-interval -1 --static 192.0.2.1
expect 2 'bad --garp-interval 1s' --garp-interval 1s --static 192.0.2.1
expect 2 'bad --log-level loud' --log-level loud
expect 2 'unexpected argument extra' --static 192.0.2.1 extra
expect 2 'no node name' --log-level info
expect 2 'bad --api-loss maybe: want keep or stop' --node-name n1 --api-loss maybe
expect 2 'bad --lease-duration 15: want a duration' --node-name n1 --lease-duration 15
expect 2 'bad --presence-retry-period 0s' --node-name n1 --presence-retry-period 0s
expect 2 'bad --qps 0' --node-name n1 --qps 0
expect 0 '--api-loss keep\|stop' --help
expect 0 '--node-name NAME' --help
expect 2 'bad presence lease timings: ' --node-name n1 --presence-renew-deadline 2s
expect 2 'bad service lease timings: ' --node-name n1 --lease-renew-interval 1s
for a in --frobnicate "--static 192.0.2" "--garp-interval x"; do
	# shellcheck disable=SC2086
	n=$("$SPEAKER" $a 2>&1 | wc -l)
	if [ "$n" -eq 1 ]; then pass=$((pass + 1)); echo "ok   - one line for $a"; else
		fail=$((fail + 1)); echo "FAIL - one line for $a: $n lines"; fi
done
echo "$pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
