# lib.sh: shared helpers for the network-namespace suites (POSIX sh, sourced).
# Every namespace is named "$NS_PREFIX-..." and removed by ns_cleanup, which the suites trap.

NS_PREFIX="l2lbt$$"
NS_LIST=
TESTS_PASS=0
TESTS_FAIL=0

# ns_skip_unless_able: exits 77 (skip) when namespaces or the tools are not available.
ns_skip_unless_able() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "skip: network-namespace tests need root"
		echo "0 passed, 0 failed, 1 skipped"
		exit 77
	fi
	for t in ip arping ndisc6 tcpdump timeout; do
		if ! command -v "$t" >/dev/null 2>&1; then
			echo "skip: $t is not installed (make deps)"
			echo "0 passed, 0 failed, 1 skipped"
			exit 77
		fi
	done
	if ! ip netns add "$NS_PREFIX-probe" 2>/dev/null; then
		echo "skip: cannot create network namespaces here"
		echo "0 passed, 0 failed, 1 skipped"
		exit 77
	fi
	ip netns del "$NS_PREFIX-probe"
}

# ns_add NAME: creates namespace $NS_PREFIX-NAME with lo up; prints nothing.
ns_add() {
	ip netns add "$NS_PREFIX-$1" || return 1
	NS_LIST="$NS_LIST $NS_PREFIX-$1"
	ip -n "$NS_PREFIX-$1" link set lo up
	ip netns exec "$NS_PREFIX-$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 >/dev/null
}

# nsx NAME CMD...: runs CMD inside namespace NAME.
nsx() {
	n=$1
	shift
	ip netns exec "$NS_PREFIX-$n" "$@"
}

ns_cleanup() {
	# By prefix, not only by NS_LIST: a namespace made in a subshell never reached the list.
	for n in $NS_LIST $(ip netns list 2>/dev/null | awk -v p="$NS_PREFIX-" 'index($1, p) == 1 { print $1 }'); do
		# Namespaces hold processes we started (speakers, tcpdump): end them by their ids.
		for pid in $(ip netns pids "$n" 2>/dev/null); do
			kill -TERM "$pid" 2>/dev/null
		done
		ip netns del "$n" 2>/dev/null
	done
	NS_LIST=
}

# wire SWITCHNS HOSTNS IFNAME: a veth from HOSTNS (named IFNAME) to a port of bridge br0 in SWITCHNS.
wire() {
	port="p$(printf '%s' "$2$3" | cksum | cut -c1-8)"
	ip -n "$NS_PREFIX-$1" link add "$port" type veth peer name "$3" netns "$NS_PREFIX-$2" ||
		return 1
	ip -n "$NS_PREFIX-$1" link set "$port" master br0 up
	ip -n "$NS_PREFIX-$2" link set "$3" up
}

# switch_add NAME: a namespace holding one bridge br0 that forwards at once.
switch_add() {
	ns_add "$1" || return 1
	ip -n "$NS_PREFIX-$1" link add br0 type bridge forward_delay 0 stp_state 0 || return 1
	ip -n "$NS_PREFIX-$1" link set br0 up
}

# mac NAME IFNAME: the interface's MAC address.
mac() {
	ip -n "$NS_PREFIX-$1" -o link show dev "$2" | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/'
}

# ok NAME / fail NAME WHY: record one test result.
ok() {
	TESTS_PASS=$((TESTS_PASS + 1))
	echo "ok   - $1"
}
fail() {
	TESTS_FAIL=$((TESTS_FAIL + 1))
	echo "FAIL - $1: $2"
}

# now_ms: CLOCK_MONOTONIC in milliseconds.
now_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# poll DEADLINE_MS CMD...: runs CMD until it succeeds or DEADLINE_MS pass; returns its status.
poll() {
	limit=$(($(now_ms) + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -ge "$limit" ] && return 1
		sleep 0.05
	done
}

ns_result() {
	echo "$TESTS_PASS passed, $TESTS_FAIL failed, 0 skipped"
	[ "$TESTS_FAIL" -eq 0 ]
}
