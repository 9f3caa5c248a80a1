# lib.sh: shared helpers for the script suites (test/*/check-*.sh). Source it, POSIX sh.
#   t_ok NAME / t_fail NAME WHY / t_skip NAME WHY   count and print one test result
#   t_summary                                        print "N passed, N failed, N skipped", exit 0/1
#   t_check NAME WHY CMD...                          one result from CMD; on failure WHY, SEEN (a
#                                                    predicate may set it) and t_failure_logs
#   t_tail_logs FILE...                              the last lines of each non-empty FILE
#   t_wait SECONDS CMD...                            poll CMD every 0.1 s until it succeeds or time is up
#   kubesim_start DIR [ARGS...]                      start test/kubesim (kubesim-up.sh) on 127.0.0.1 over
#                                                    HTTPS with a token; sets KUBECONFIG, KUBESIM_URL,
#                                                    KUBESIM_PID; DIR/requests.log is its request log
#   kubesim_stop                                     stop it (call from the suite's EXIT trap)

: "${L2LB_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${L2LB_BUILD:=$L2LB_TOP/build}"
T_PASS=0 T_FAIL=0 T_SKIP=0

t_ok() {
	T_PASS=$((T_PASS + 1))
	echo "ok   $1"
}

t_fail() {
	T_FAIL=$((T_FAIL + 1))
	echo "FAIL $1: $2"
}

t_skip() {
	T_SKIP=$((T_SKIP + 1))
	echo "skip $1: $2"
}

# A suite redefines t_failure_logs to print what explains a failure from the CI output alone.
t_failure_logs() { :; }

t_tail_logs() {
	for _f in "$@"; do
		[ -s "$_f" ] || continue
		echo "    ---- last lines of ${_f##*/}"
		tail -n 12 "$_f" | sed 's/^/    /'
	done
}

t_check() {
	_name=$1 _why=$2
	shift 2
	SEEN=
	if "$@"; then
		t_ok "$_name"
	else
		t_fail "$_name" "$_why${SEEN:+; saw $SEEN}"
		t_failure_logs
	fi
}

t_summary() {
	echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	[ "$T_FAIL" -eq 0 ]
}

# The deadline is counted in tries of 0.1 s, so the loop is bounded even if the clock jumps.
t_wait() {
	_tries=$(awk "BEGIN { printf \"%d\", $1 * 10 }")
	shift
	while [ "$_tries" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		_tries=$((_tries - 1))
		sleep 0.1
	done
	return 1
}

kubesim_start() {
	_dir=$1
	shift
	KUBESIM_TOKEN=${KUBESIM_TOKEN:-l2lb-test-token}
	KUBESIM_DIR=$_dir
	KUBESIM_URL=$(sh "$L2LB_TOP/test/kubesim/kubesim-up.sh" "$_dir" --token "$KUBESIM_TOKEN" "$@") ||
		return 1
	KUBESIM_PID=$(cat "$_dir/pid")
	KUBECONFIG="$_dir/kubeconfig"
	export KUBECONFIG KUBESIM_URL KUBESIM_PID KUBESIM_TOKEN KUBESIM_DIR
}

kubesim_stop() {
	[ -n "${KUBESIM_DIR:-}" ] || return 0
	sh "$L2LB_TOP/test/kubesim/kubesim-down.sh" "$KUBESIM_DIR" >/dev/null 2>&1
	KUBESIM_DIR=
}
