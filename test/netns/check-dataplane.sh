#!/bin/sh
# check-dataplane.sh: l2lb-speaker --static answers ARP and NDP on the wire, in namespaces it
# creates: client C and speakers S, S2 on switch LAN (192.0.2.0/24, 2001:db8::/64); C and S also
# on switch LAN2 (198.51.100.0/24). Everything is removed on exit, also on failure.
set -u
cd "$(dirname "$0")/../.." || exit 2
. test/netns/lib.sh
SPEAKER=${L2LB_BUILD:-$PWD/build}/bin/l2lb-speaker
[ -x "$SPEAKER" ] || { echo "no speaker binary at $SPEAKER (make)"; exit 2; }

ns_skip_unless_able
TMP=$(mktemp -d)
trap 'ns_cleanup; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM

setup() {
	switch_add lan && switch_add lan2 && ns_add c && ns_add s && ns_add s2 &&
		wire lan c eth0 && wire lan s eth0 && wire lan s2 eth0 &&
		wire lan2 c eth1 && wire lan2 s eth1 &&
		nsx c ip addr add 192.0.2.1/24 dev eth0 &&
		nsx c ip addr add 2001:db8::1/64 dev eth0 nodad &&
		nsx c ip addr add 198.51.100.1/24 dev eth1 &&
		nsx s ip addr add 192.0.2.10/24 dev eth0 &&
		nsx s ip addr add 2001:db8::10/64 dev eth0 nodad &&
		nsx s ip addr add 198.51.100.10/24 dev eth1 &&
		nsx s2 ip addr add 192.0.2.11/24 dev eth0 &&
		nsx s2 ip addr add 2001:db8::11/64 dev eth0 nodad
}
if ! setup; then
	echo "cannot build the test network"
	exit 1
fi
MAC_S=$(mac s eth0)
MAC_S1=$(mac s eth1)
MAC_S2=$(mac s2 eth0)

# start_speaker NS LOG ARGS...: starts a speaker in NS; sets SPK_PID.
start_speaker() {
	n=$1 lg=$2
	shift 2
	ip netns exec "$NS_PREFIX-$n" "$SPEAKER" --log-level debug "$@" 2>"$lg" &
	SPK_PID=$!
}

# stop_speaker PID: SIGTERM, then its exit status must be 0.
stop_speaker() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}

# replies IFACE ADDR COUNT: how many ARP replies C gets for COUNT requests; the MACs in $TMP/macs.
replies() {
	nsx c arping -c "$3" -w $(($3 + 1)) -I "$1" "$2" >"$TMP/arping" 2>&1
	grep -o 'reply from [0-9.]* \[[0-9A-Fa-f:]*\]' "$TMP/arping" |
		sed -E 's/.*\[(.*)\]/\1/' | tr 'A-F' 'a-f' >"$TMP/macs"
	wc -l <"$TMP/macs" | tr -d ' '
}

answered() {
	[ "$(replies "$1" "$2" 1)" -ge 1 ]
}

# na_mac ADDR: the link-layer address ndisc6 learns for ADDR on C's eth0 ("" if none).
na_mac() {
	nsx c ndisc6 -q -r 2 -w 500 "$1" eth0 2>/dev/null | tr 'A-F' 'a-f' | head -n 1
}

neigh_mac() {
	nsx c ip neigh show "$1" dev eth0 | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2
}

# neigh_is ADDR MAC: C's kernel maps ADDR to MAC.
neigh_is() {
	[ "$(neigh_mac "$1")" = "$2" ]
}

start_speaker s "$TMP/s.log" --static 192.0.2.200 --static 2001:db8::200 \
	--static 198.51.100.200 --static 192.0.2.222@eth0 --static 192.0.2.222@eth1
if poll 10000 answered eth0 192.0.2.200; then
	ok "speaker answers ARP after start"
else
	fail "speaker answers ARP after start" "no reply within 10 s"
	sed 's/^/    /' "$TMP/s.log"
	ns_result
	exit 1
fi

# The client's kernel resolves both addresses now (one UDP datagram to the discard port each), so
# its cache holds S's MAC, older than the 1 s ARP locktime, by the time the address moves.
for a in 192.0.2.200 2001:db8::200; do
	nsx c python3 -c 'import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"x", (a, 9))' "$a"
done

n=$(replies eth0 192.0.2.200 3)
if [ "$n" -eq 3 ] && [ "$(sort -u "$TMP/macs")" = "$MAC_S" ]; then
	ok "arping -c 3 gets 3 replies with the speaker's MAC"
else
	fail "arping -c 3 gets 3 replies with the speaker's MAC" \
		"$n replies from $(sort -u "$TMP/macs" | tr '\n' ' '), want $MAC_S"
fi

got=$(na_mac 2001:db8::200)
if [ "$got" = "$MAC_S" ]; then
	ok "ndisc6 gets the speaker's MAC"
else
	fail "ndisc6 gets the speaker's MAC" "got '$got', want $MAC_S"
fi

n=$(replies eth0 192.0.2.201 2)
if [ "$n" -eq 0 ]; then ok "an unannounced IPv4 address gets no reply"; else
	fail "an unannounced IPv4 address gets no reply" "$n replies"; fi
got=$(na_mac 2001:db8::201)
if [ -z "$got" ]; then ok "an unannounced IPv6 address gets no NA"; else
	fail "an unannounced IPv6 address gets no NA" "got $got"; fi

# An RFC 5227 probe (sender 0.0.0.0) is answered too: arping -D reports the address in use.
nsx c arping -D -c 2 -w 3 -I eth0 192.0.2.200 >"$TMP/dad" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -qi "reply from 192.0.2.200 \[$MAC_S\]" "$TMP/dad"; then
	ok "a duplicate-address probe is answered"
else
	fail "a duplicate-address probe is answered" "arping -D exit $rc: $(cat "$TMP/dad")"
fi

# A request tagged for VLAN 100 reaches S's eth0 (no VLAN 100 there): seen, dropped, unanswered.
n=$(nsx c python3 test/netns/tagged_arp.py eth0 "$(mac c eth0)" 192.0.2.1 192.0.2.200 100)
if [ "$n" = 0 ] && poll 2000 grep -q 'reason=drop_vlan' "$TMP/s.log"; then
	ok "a tagged request on an interface without that VLAN is not answered"
else
	fail "a tagged request on an interface without that VLAN is not answered" \
		"$n replies; drops logged: $(grep -c drop_vlan "$TMP/s.log")"
fi

# Two subnets: 192.0.2.200 only on S's eth0 (LAN), 198.51.100.200 only on its eth1 (LAN2).
n=$(replies eth1 192.0.2.200 2)
if [ "$n" -eq 0 ]; then ok "not answered on the interface outside its subnet"; else
	fail "not answered on the interface outside its subnet" "$n replies on LAN2"; fi
n=$(replies eth1 198.51.100.200 2)
if [ "$n" -eq 2 ] && [ "$(sort -u "$TMP/macs")" = "$MAC_S1" ]; then
	ok "second subnet's address answered on its interface with its MAC"
else
	fail "second subnet's address answered on its interface with its MAC" \
		"$n replies from $(sort -u "$TMP/macs" | tr '\n' ' '), want $MAC_S1"
fi
n=$(replies eth0 198.51.100.200 2)
if [ "$n" -eq 0 ]; then ok "second subnet's address not answered on the first"; else
	fail "second subnet's address not answered on the first" "$n replies"; fi

# One address named on both interfaces (two flags): answered on each, with each one's MAC.
n0=$(replies eth0 192.0.2.222 1)
m0=$(cat "$TMP/macs")
n1=$(replies eth1 192.0.2.222 1)
m1=$(cat "$TMP/macs")
if [ "$n0" -eq 1 ] && [ "$m0" = "$MAC_S" ] && [ "$n1" -eq 1 ] && [ "$m1" = "$MAC_S1" ]; then
	ok "ADDR@eth0 ADDR@eth1: answered on both interfaces"
else
	fail "ADDR@eth0 ADDR@eth1: answered on both interfaces" "eth0: $n0 $m0; eth1: $n1 $m1"
fi

# Link down: replies stop. Link up: a fresh gratuitous ARP arrives unasked, then replies resume.
nsx s ip link set eth0 down
n=$(replies eth0 192.0.2.200 2)
if [ "$n" -eq 0 ]; then ok "link down: no replies"; else
	fail "link down: no replies" "$n replies"; fi
nsx c timeout 10 tcpdump -l -n -i eth0 -c 1 \
	"arp and ether src $MAC_S and arp[14:4] = arp[24:4]" >"$TMP/garp" 2>"$TMP/garp.err" &
TD=$!
poll 5000 grep -q 'listening on' "$TMP/garp.err"
nsx s ip link set eth0 up
wait "$TD"
if grep -q '192.0.2.200' "$TMP/garp"; then ok "link up: a fresh gratuitous ARP"; else
	fail "link up: a fresh gratuitous ARP" "none seen in 10 s: $(cat "$TMP/garp.err")"; fi
if poll 5000 answered eth0 192.0.2.200; then ok "link up: replies resume"; else
	fail "link up: replies resume" "no reply within 5 s"; fi

# Stopping: exit 0, and nothing answers afterwards.
stop_speaker "$SPK_PID"
rc=$?
if [ $rc -eq 0 ]; then ok "SIGTERM: speaker exits 0"; else
	fail "SIGTERM: speaker exits 0" "exit $rc"; fi
if grep -qE 'msg="interface counters" iface=eth0 requests=[1-9][0-9]* replies=[1-9]' "$TMP/s.log"
then ok "on exit the speaker logs per-interface counters"; else
	fail "on exit the speaker logs per-interface counters" \
		"$(grep 'interface counters' "$TMP/s.log")"; fi
n=$(replies eth0 192.0.2.200 2)
if [ "$n" -eq 0 ]; then ok "after stopping: no ARP reply"; else
	fail "after stopping: no ARP reply" "$n replies"; fi
got=$(na_mac 2001:db8::200)
if [ -z "$got" ]; then ok "after stopping: no NA"; else
	fail "after stopping: no NA" "got $got"; fi

# The address moves to S2: C's neighbour cache flips by GARP / unsolicited NA, unasked.
if poll 3000 neigh_is 192.0.2.200 "$MAC_S" && poll 3000 neigh_is 2001:db8::200 "$MAC_S"; then
	# Watch the burst too: GARP requests from S2 at 0, 1.1, 2.2 s, then every --garp-interval.
	nsx c timeout 10 tcpdump -l -n -tt -i eth0 -c 4 \
		"arp and ether src $MAC_S2 and arp[6:2] = 1 and arp[14:4] = arp[24:4]" \
		>"$TMP/burst" 2>"$TMP/burst.err" &
	TD=$!
	poll 5000 grep -q 'listening on' "$TMP/burst.err"
	t0=$(now_ms)
	start_speaker s2 "$TMP/s2.log" --garp-interval 1 --static 192.0.2.200 --static 2001:db8::200
	S2_PID=$SPK_PID
	if poll 1000 neigh_is 192.0.2.200 "$MAC_S2"; then
		ok "ip neigh flips to the new MAC by GARP within 1 s ($(($(now_ms) - t0)) ms)"
	else
		fail "ip neigh flips to the new MAC by GARP within 1 s" \
			"still: $(nsx c ip neigh show 192.0.2.200 dev eth0)"
	fi
	if poll 1000 neigh_is 2001:db8::200 "$MAC_S2"; then
		ok "ip -6 neigh flips to the new MAC by unsolicited NA within 1 s"
	else
		fail "ip -6 neigh flips to the new MAC by unsolicited NA within 1 s" \
			"still: $(nsx c ip -6 neigh show 2001:db8::200 dev eth0)"
	fi
	got=$(na_mac 2001:db8::200)
	if [ "$got" = "$MAC_S2" ]; then ok "the new speaker answers NS"; else
		fail "the new speaker answers NS" "got '$got', want $MAC_S2"; fi
	wait "$TD"
	# Gaps between the 4 GARPs in ms: want about 1100, 1100, then 1000 (the refresh).
	gaps=$(awk 'NR > 1 { printf "%d ", ($1 - prev) * 1000 } { prev = $1 }' "$TMP/burst")
	# Bounds are generous upwards: a busy machine delays, it never hurries.
	if echo "$gaps" | awk '{ exit !(NF == 3 && $1 > 1000 && $1 < 1600 && $2 > 1000 &&
			$2 < 1600 && $3 > 900 && $3 < 1500) }'; then
		ok "GARP burst at 0, 1.1, 2.2 s, then every --garp-interval (gaps $gaps ms)"
	else
		fail "GARP burst at 0, 1.1, 2.2 s, then every --garp-interval" "gaps: '$gaps'"
	fi

	# S comes back while S2 holds the address: S2 reports S's claim (split brain is visible).
	start_speaker s "$TMP/s-again.log" --static 192.0.2.200
	if poll 3000 grep -q "another host claims.*mac=$MAC_S" "$TMP/s2.log"; then
		ok "a speaker reports another MAC announcing its address"
	else
		fail "a speaker reports another MAC announcing its address" "not in its log"
	fi
	stop_speaker "$SPK_PID"
	stop_speaker "$S2_PID"
else
	fail "client cache holds the first speaker's MAC before the move" \
		"$(nsx c ip neigh show dev eth0)"
fi

ns_result
