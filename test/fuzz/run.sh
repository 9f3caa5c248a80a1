#!/bin/sh
# run.sh [BIN...]: run the given libFuzzer targets (default: every one built) for FUZZ_SECONDS
# (default 30) each, starting from its seed
# corpus in test/fuzz/corpus/NAME (copied, so new inputs do not land in the tree).
# A crash leaves its input in build/fuzz/crashes/ and fails the run.
set -u
cd "$(dirname "$0")/../.." || exit 2
build=${L2LB_BUILD:-$PWD/build}
secs=${FUZZ_SECONDS:-30}
crashes=$build/fuzz/crashes
mkdir -p "$crashes"
bad=0
[ $# -eq 0 ] && set -- "$build"/fuzz/fuzz_*
for bin in "$@"; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	work=$(mktemp -d)
	[ -d "test/fuzz/corpus/$name" ] && cp "test/fuzz/corpus/$name"/* "$work"/ 2>/dev/null
	echo "fuzz $name: ${secs}s"
	if "$bin" -max_total_time="$secs" -max_len=512 -print_final_stats=1 \
		-artifact_prefix="$crashes/$name-" "$work" >"$work.log" 2>&1; then
		grep -E '^stat::number_of_executed_units|^Done' "$work.log" | sed 's/^/    /'
	else
		echo "fuzz $name: FAILED; see $crashes and the output below"
		tail -n 40 "$work.log"
		bad=1
	fi
	rm -rf "$work" "$work.log"
done
exit $bad
