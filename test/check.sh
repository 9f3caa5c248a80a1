#!/bin/sh
# check.sh: run the test suites and print one closing line counting every test.
#   -u DIR   run every unit-test binary in DIR (repeatable)
#   -s       then run every executable test/*/check-*.sh suite
# A suite's last line of output is "N passed, N failed[, N skipped]"; exit 77 skips it whole.
# L2LB_SUITES, if set, is a pattern that limits which suites run (e.g. 'kubesim').
set -u
cd "$(dirname "$0")/.." || exit 2
export L2LB_TOP="$PWD"
export L2LB_BUILD="${L2LB_BUILD:-$PWD/build}"

units=
suites=0
while getopts "u:s" o; do
	case $o in
	u) units="$units $OPTARG" ;;
	s) suites=1 ;;
	*) echo "usage: check.sh [-u DIR]... [-s]" >&2; exit 2 ;;
	esac
done

tp=0 tf=0 ts=0 bad=
log=$(mktemp)
trap 'rm -f "$log"' EXIT INT TERM

# run NAME TIMEOUT CMD...: runs one suite and adds its counts to the totals.
run() {
	name=$1 limit=$2
	shift 2
	timeout -k 10 "$limit" "$@" >"$log" 2>&1
	rc=$?
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n 1)
	p=0 f=0 s=0
	if [ -n "$last" ]; then
		p=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/')
		f=$(echo "$last" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
		s=$(echo "$last" | sed -nE 's/.*, ([0-9]+) skipped$/\1/p')
		s=${s:-0}
	fi
	if [ $rc -eq 77 ]; then
		s=$((s > 0 ? s : 1))
		reason=$(grep -i 'skip' "$log" | tail -n 1)
		echo "SKIP $name: ${reason:-skipped}"
	elif [ $rc -ne 0 ] || [ "$f" -ne 0 ] || [ -z "$last" ]; then
		[ "$f" -eq 0 ] && f=1
		case $rc in 124|137) why="timed out after ${limit}s" ;; *) why="exit $rc" ;; esac
		[ -z "$last" ] && why="$why, no result line"
		echo "FAIL $name: $p passed, $f failed, $s skipped ($why); its output:"
		sed 's/^/    /' "$log" | tail -n 200
		bad="$bad $name"
	else
		echo "ok   $name: $p passed, $f failed, $s skipped"
	fi
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
}

for d in $units; do
	for t in "$d"/test_*; do
		[ -x "$t" ] || continue
		case $t in *.d | *.o) continue ;; esac
		case $d in */asan/*) kind=asan ;; *) kind=unit ;; esac
		run "$kind/${t##*/}" 300 "$t"
	done
done

if [ $suites -eq 1 ]; then
	for t in test/*/check-*.sh; do
		[ -e "$t" ] || continue
		if [ -n "${L2LB_SUITES:-}" ]; then
			case $t in *${L2LB_SUITES}*) ;; *) continue ;; esac
		fi
		run "${t#test/}" 1800 sh "$t"
	done
fi

[ -n "$bad" ] && echo "failed suites:$bad"
echo "$tp passed, $tf failed, $ts skipped"
[ $tf -eq 0 ]
