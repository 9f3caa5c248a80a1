#!/bin/sh
# check-fuzz.sh: a short smoke run (FUZZ_SMOKE_SECONDS, default 3) of each libFuzzer target, for
# make check; `make fuzz` runs them longer. One test per target.
set -u
cd "$(dirname "$0")/../.." || exit 2
build=${L2LB_BUILD:-$PWD/build}
pass=0 fail=0
if ! ls "$build"/fuzz/fuzz_* >/dev/null 2>&1; then
	echo "skip: no fuzz targets built in $build/fuzz (make fuzz-build needs clang)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
fi
for bin in "$build"/fuzz/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	if FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-3} L2LB_BUILD=$build sh test/fuzz/run.sh "$bin"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
