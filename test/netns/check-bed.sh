#!/bin/sh
# check-bed.sh: the three-node test bed comes up (API reachable from every node, Node objects,
# backends behind the kube-proxy stand-in) and carries traffic end to end: a static speaker on a
# node makes the client's curl to a pool address reach that node's backend, and moving the
# speaker moves the traffic by gratuitous ARP / unsolicited NA.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bed.sh"

bed_suite_begin

if bed_up "$TMP/bed"; then
	t_ok "test bed comes up"
else
	t_fail "test bed comes up" "see above"
	t_summary
	exit 1
fi

nodes=$(kc get nodes -o name 2>&1 | sort | tr '\n' ' ')
if [ "$nodes" = "node/node1 node/node2 node/node3 " ]; then
	t_ok "kubectl from the LAN lists the three nodes"
else
	t_fail "kubectl from the LAN lists the three nodes" "saw: $nodes"
fi

SPK="$L2LB_BUILD/bin/l2lb-speaker"
# static NODE ADDR...: runs a static speaker in NODE for the addresses.
static() {
	n=$1
	shift
	args=
	for a in "$@"; do args="$args --static $a"; done
	# shellcheck disable=SC2086
	ip netns exec "$NS_PREFIX-$n" "$SPK" $args >"$TMP/static-$n.log" 2>&1 &
	echo $! >"$TMP/static-$n.pid"
}
stop_static() {
	kill -9 "$(cat "$TMP/static-$1.pid")" 2>/dev/null
	wait "$(cat "$TMP/static-$1.pid")" 2>/dev/null
}
curl_says() { # curl_says ADDR WANT
	[ "$(nsx client curl -s --max-time 1 "http://$1/")" = "$2" ]
}

for fam in 4 6; do
	if [ $fam = 4 ]; then addr=192.0.2.200 url=192.0.2.200; else addr=2001:db8::200 url="[2001:db8::200]"; fi
	static node1 "$addr"
	if t_wait 10 curl_says "$url" node1; then
		t_ok "IPv$fam: curl through $addr reaches node1's backend"
	else
		t_fail "IPv$fam: curl through $addr reaches node1's backend" \
			"saw '$(nsx client curl -s --max-time 1 "http://$url/" 2>&1)'; speaker log: $(cat "$TMP/static-node1.log")"
	fi
	stop_static node1
	static node2 "$addr"
	# No ip neigh flush on the client: only the speaker's gratuitous announcement moves it.
	if t_wait 10 curl_says "$url" node2; then
		t_ok "IPv$fam: after the move the client's traffic reaches node2"
	else
		t_fail "IPv$fam: after the move the client's traffic reaches node2" \
			"saw '$(nsx client curl -s --max-time 1 "http://$url/" 2>&1)'; neigh: $(nsx client ip neigh show "$addr")"
	fi
	stop_static node2
done

t_summary
