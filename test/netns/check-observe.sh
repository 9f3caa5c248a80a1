#!/bin/sh
# check-observe.sh: what the speakers and the controller report (/metrics, /readyz, /healthz,
# SIGUSR1, Events, logs) checked against what the test did on the three-node bed (bed.sh):
# /readyz 503 until the informers synced, arping requests counted one for one, leases held
# summing to the services, GARPs and the announcingNodeChanged Event after a failover, a
# flood of malformed frames counted but warned about once, /healthz answering under a flood.
# Skips (77) without root, kubectl, nft or curl.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bed.sh"

bed_suite_begin

# The endpoints as a LAN host (the client namespace) reaches them.
SPK_PORT=7473
HTTP_CODE=
LEASES=
CTL_PORT=7472
# http NODE PORT PATH: the body; HTTP_CODE gets the status (000: no answer within 2 s).
http() {
	rm -f "$TMP/body"
	HTTP_CODE=$(nsx client curl -s --max-time 2 -o "$TMP/body" -w '%{http_code}' \
		"http://$(bed_node_ip4 "$1"):$2$3" 2>/dev/null)
	cat "$TMP/body" 2>/dev/null
}
code_is() { # code_is WANT NODE PORT PATH
	http "$2" "$3" "$4" >/dev/null
	[ "$HTTP_CODE" = "$1" ]
}
# metric NODE SERIES: the value of one series in NODE's speaker's /metrics (0 when absent).
metric() {
	http "$1" $SPK_PORT /metrics | awk -v s="$2" '$1 == s { v = $2 } END { print v + 0 }'
}
metric_ge() { # metric_ge NODE SERIES MIN
	[ "$(metric "$1" "$2")" -ge "$3" ]
}

bed_suite_up config

# --- /readyz: 503 while the API is out of reach, 200 only once the caches synced ---
cut_api() {
	printf '%s\n' "table inet l2lb-obs-cut {" "chain out {" \
		"type filter hook output priority 0; policy accept;" \
		"ip daddr $BED_API4 tcp dport 6443 reject with tcp reset" "}" "}" | nsx "$1" nft -f -
}
cut_api node1
bed_start_speaker node1 --metrics-addr ":$SPK_PORT"
t_check "speaker: /readyz answers 503 while it cannot reach the API" \
	"got '$HTTP_CODE' from /readyz" t_wait 10 code_is 503 node1 $SPK_PORT /readyz
body=$(http node1 $SPK_PORT /readyz)
i=0 not_ready=0
while [ $i -lt 10 ]; do # still not ready a second later: nothing flipped it early
	code_is 503 node1 $SPK_PORT /readyz && not_ready=$((not_ready + 1))
	sleep 0.1
	i=$((i + 1))
done
t_check "speaker: /readyz stays 503 before sync ($body)" "$not_ready of 10 probes were 503" \
	[ "$not_ready" -eq 10 ]
t_check "speaker: /healthz answers 200 before sync" "got '$HTTP_CODE'" \
	code_is 200 node1 $SPK_PORT /healthz
nsx node1 nft delete table inet l2lb-obs-cut
t_check "speaker: /readyz turns 200 once the API answers" "got '$HTTP_CODE'" \
	t_wait 30 code_is 200 node1 $SPK_PORT /readyz
t_check "speaker: it logged 'caches synced' before it was ready" "no such line" \
	grep -q 'msg="caches synced"' "$BED_DIR/speaker-node1.log"

bed_start_controller node1 --metrics-addr ":$CTL_PORT"
for n in node2 node3; do
	bed_start_speaker "$n" --metrics-addr ":$SPK_PORT"
done
t_check "controller: /readyz turns 200" "got '$HTTP_CODE'" t_wait 20 code_is 200 node1 $CTL_PORT /readyz
for n in $BED_NODES; do
	t_check "$n: /readyz 200" "got '$HTTP_CODE'" t_wait 20 code_is 200 "$n" $SPK_PORT /readyz
done

# --- three services: the leases held across the speakers sum to three ---
bed_service web Cluster PreferDualStack && bed_endpoints web $BED_NODES
for s in web2 web3; do
	bed_service "$s" Cluster SingleStack && bed_endpoints "$s" $BED_NODES
done
for s in web web2 web3; do
	t_check "$s is announced" "no ServiceL2Status in 30 s" t_wait 30 bed_has_holder "$s"
done
leases_sum() {
	_sum=0 LEASES=
	for _n in $BED_NODES; do
		_v=$(metric "$_n" l2lb_speaker_leases_held)
		_sum=$((_sum + _v))
		LEASES="$LEASES $_n=$_v"
	done
	[ "$_sum" -eq 3 ]
}
leases_check() { # leases_check NAME
	if t_wait 20 leases_sum; then
		t_ok "$1 ($LEASES)"
	else
		leases_sum
		t_fail "$1" "held:$LEASES"
		t_failure_logs
	fi
}
leases_check "l2lb_speaker_leases_held sums to 3 over the speakers"
ctl_acting() {
	http node1 $CTL_PORT /metrics | grep -qx 'l2lb_controller_acting 1'
}
t_check "controller: /metrics says this replica acts" \
	"$(http node1 $CTL_PORT /metrics | grep acting)" t_wait 10 ctl_acting

# The controller's numbers: four addresses of the pool "lan" in use (web has two).
in_use() {
	[ "$(http node1 $CTL_PORT /metrics |
		awk '$1 == "metallb_allocator_addresses_in_use_total{pool=\"lan\"}" { print $2 }')" = 4 ]
}
t_check "controller: metallb_allocator_addresses_in_use_total{pool=\"lan\"} is 4" \
	"$(http node1 $CTL_PORT /metrics | grep addresses_in_use)" t_wait 10 in_use

V4=$(bed_ingress web 0)
H=$(bed_holder web)
ann="metallb_speaker_announced{ip=\"$V4\",node=\"$H\",protocol=\"layer2\",service=\"default/web\"}"
t_check "$H: $ann is 1" "it is $(metric "$H" "$ann")" t_wait 10 metric_ge "$H" "$ann" 1

# --- N arping requests from the client: N more requests seen, N replies sent ---
N=5
REQ="metallb_layer2_requests_received_total{ip=\"$V4\"}"
REP="metallb_layer2_responses_sent_total{ip=\"$V4\"}"
r0=$(metric "$H" "$REQ")
p0=$(metric "$H" "$REP")
got=$(nsx client arping -c $N -w $((N + 3)) -I eth0 "$V4" 2>&1 | sed -nE 's/^Received ([0-9]+) response.*/\1/p')
t_wait 5 metric_ge "$H" "$REQ" $((r0 + N))
r1=$(metric "$H" "$REQ")
p1=$(metric "$H" "$REP")
t_check "arping: $N requests sent = $N more in $H's $REQ" "went from $r0 to $r1" \
	[ $((r1 - r0)) -eq $N ]
both_eq() { # both_eq A B WANT: A and B both equal WANT
	[ "$1" -eq "$3" ] && [ "$2" -eq "$3" ]
}
t_check "arping: $N replies sent by $H (the client received ${got:-0})" \
	"responses went from $p0 to $p1" both_eq $((p1 - p0)) "${got:-0}" $N
for n in $BED_NODES; do
	[ "$n" = "$H" ] && continue
	t_check "$n, not the holder, has no $REQ" "it has $(metric "$n" "$REQ")" \
		[ "$(http "$n" $SPK_PORT /metrics | grep -c "ip=\"$V4\"")" -eq 0 ]
done

# --- N neighbor solicitations for web's IPv6 address: N more seen, N advertisements sent ---
V6=$(bed_ingress web 1)
if [ -n "$V6" ]; then
	REQ6="metallb_layer2_requests_received_total{ip=\"$V6\"}"
	REP6="metallb_layer2_responses_sent_total{ip=\"$V6\"}"
	r0=$(metric "$H" "$REQ6")
	p0=$(metric "$H" "$REP6")
	i=0 answered=0
	while [ $i -lt $N ]; do # one NS each: ndisc6 stops at the first answer
		nsx client ndisc6 -q -n -1 -r 1 -w 1000 "$V6" eth0 >/dev/null 2>&1 &&
			answered=$((answered + 1))
		i=$((i + 1))
	done
	t_wait 5 metric_ge "$H" "$REQ6" $((r0 + N))
	r1=$(metric "$H" "$REQ6")
	p1=$(metric "$H" "$REP6")
	t_check "ndisc6: $N solicitations = $N more in $H's $REQ6" "went from $r0 to $r1" \
		[ $((r1 - r0)) -eq $N ]
	t_check "ndisc6: $N advertisements sent by $H (the client got $answered answers)" \
		"responses went from $p0 to $p1" both_eq $((p1 - p0)) "$answered" $N
else
	t_fail "web has an IPv6 address" "status: $(kc get svc web -o jsonpath='{.status}' 2>&1)"
fi

# --- malformed frames: every one counted, one warning line per interface per 10 s ---
bad_frames() { # bad_frames COUNT: ARP requests with hardware length 8, broadcast from the client
	nsx client python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac = s.getsockname()[4]
body = struct.pack("!HHBBH", 1, 0x0800, 8, 4, 1) + mac + bytes(2) + bytes([192, 0, 2, 50]) + bytes(8) + bytes([192, 0, 2, 1])
frame = b"\xff" * 6 + mac + b"\x08\x06" + body
frame += bytes(max(0, 60 - len(frame)))
for _ in range(int(sys.argv[1])):
    s.send(frame)
' "$1"
}
DROP='l2lb_speaker_arp_drops_total{interface="eth0",reason="drop_hlen"}'
d0=$(metric "$H" "$DROP")
w0=$(grep -c 'malformed frames dropped' "$BED_DIR/speaker-$H.log")
bad_frames 50
t_wait 5 metric_ge "$H" "$DROP" $((d0 + 50))
d1=$(metric "$H" "$DROP")
w1=$(grep -c 'malformed frames dropped' "$BED_DIR/speaker-$H.log")
t_check "50 malformed frames: $H counts 50 drops by reason drop_hlen" "went from $d0 to $d1" \
	[ $((d1 - d0)) -eq 50 ]
t_check "50 malformed frames: one warning line, not 50" "$((w1 - w0)) lines" [ $((w1 - w0)) -eq 1 ]

# --- SIGUSR1: one block with every address, its holder, interfaces and counters ---
kill -USR1 "$(cat "$BED_DIR/speaker-$H.pid")"
dumped() {
	grep -A8 'msg=state' "$BED_DIR/speaker-$H.log" |
		grep -E "^    $V4 +default/web +$H +yes +eth0 +[0-9]+ +[0-9]+ +[0-9]+" >/dev/null
}
t_check "SIGUSR1: $H logs $V4 default/web $H yes eth0 and its counters" \
	"$(grep -A5 'msg=state' "$BED_DIR/speaker-$H.log" | tail -n 6)" t_wait 5 dumped

# --- /healthz under a flood of ARP requests ---
FLOOD_REQ='l2lb_speaker_arp_requests_total{interface="eth0"}'
f0=$(metric "$H" "$FLOOD_REQ")
nsx client python3 -c '
import socket, struct, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac = s.getsockname()[4]
body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + bytes([192, 0, 2, 50]) + bytes(6) + bytes([192, 0, 2, 99])
frame = b"\xff" * 6 + mac + b"\x08\x06" + body + bytes(18)
end = time.monotonic() + 4
n = 0
while time.monotonic() < end:
    s.send(frame)
    n += 1
print(n)
' >"$TMP/flood" 2>&1 &
FLOOD=$!
healthy=0 probes=0
t0=$(now_ms)
while kill -0 $FLOOD 2>/dev/null && [ $probes -lt 40 ]; do
	probes=$((probes + 1))
	code_is 200 "$H" $SPK_PORT /healthz && healthy=$((healthy + 1))
	sleep 0.1
done
wait $FLOOD
f1=$(metric "$H" "$FLOOD_REQ")
echo "flood: $(cat "$TMP/flood") ARP requests sent in 4 s, $((f1 - f0)) seen by $H" >>"$TMP/figures"
t_check "/healthz answered every probe during the flood ($healthy of $probes)" \
	"$healthy of $probes were 200" both_eq "$healthy" "$probes" "$probes"
t_check "the flood lasted long enough to probe it" "$probes probes" [ "$probes" -ge 5 ]
t_check "the flood was seen: $H counted $((f1 - f0)) requests" "none counted" [ $((f1 - f0)) -gt 100 ]

# --- failover: kill -9 of the holder; the new holder counts a takeover and its GARPs ---
bed_signal speaker "$H" KILL
moved_from() {
	_h=$(bed_holder web)
	[ -n "$_h" ] && [ "$_h" != "$H" ]
}
if t_wait 20 moved_from; then
	NEW=$(bed_holder web)
	t_ok "failover: web moved from $H to $NEW"
	GARP="metallb_layer2_gratuitous_sent_total{ip=\"$V4\"}"
	# The burst: a request-form and a reply-form GARP at 0, 1.1 and 2.2 s.
	t_check "failover: $NEW counts its GARP burst for $V4 (6 frames)" \
		"$GARP is $(metric "$NEW" "$GARP")" t_wait 10 metric_ge "$NEW" "$GARP" 6
	t_check "failover: $NEW counts a takeover" "l2lb_speaker_takeovers_total is 0" \
		metric_ge "$NEW" l2lb_speaker_takeovers_total 1
	t_check "failover: $NEW observed the lease-to-GARP delay" "no observation" \
		metric_ge "$NEW" l2lb_speaker_garp_delay_seconds_count 1
	changed() {
		kc get events -n default -o \
			'jsonpath={range .items[*]}{.involvedObject.name}{" "}{.reason}{" "}{.message}{"\n"}{end}' \
			2>/dev/null | grep -q "^web announcingNodeChanged announcing node changed from \"$H\" to \"$NEW\""
	}
	t_check "failover: Event announcingNodeChanged from \"$H\" to \"$NEW\" on web" \
		"$(kc get events -n default 2>&1 | grep -i announc | tail -n 3)" t_wait 10 changed
	d=$(http "$NEW" $SPK_PORT /metrics | sed -nE 's/^l2lb_speaker_garp_delay_seconds_sum (.*)/\1/p')
	echo "lease-to-first-GARP delay on $NEW (sum of its observations): ${d:-?} s" >>"$TMP/figures"
else
	t_fail "failover: web moves to another node" "still '$(bed_holder web)' after 20 s"
	t_failure_logs
fi
leases_check "after the failover the leases held still sum to 3"

# --- per-address series leave with the address: web3 deleted, its holder drops them ---
W3=$(bed_ingress web3 0)
H3=$(bed_holder web3)
kc delete svc web3 >/dev/null
gone() {
	[ "$(http "$H3" $SPK_PORT /metrics | grep -c "ip=\"$W3\"")" -eq 0 ]
}
t_check "web3 deleted: $H3 has no series for $W3 any more" \
	"$(http "$H3" $SPK_PORT /metrics | grep "ip=\"$W3\"")" t_wait 20 gone

# --- the speaker in --static mode serves the same endpoints ---
bed_signal speaker node3 TERM
ip netns exec "$NS_PREFIX-node3" "$L2LB_BUILD/bin/l2lb-speaker" --static 198.51.100.7@eth0 \
	--metrics-addr ":$SPK_PORT" >"$BED_DIR/static-node3.log" 2>&1 </dev/null &
echo $! >"$BED_DIR/static-node3.pid"
t_check "--static: /readyz 200 once 198.51.100.7 is answered on eth0" "got '$HTTP_CODE'" \
	t_wait 10 code_is 200 node3 $SPK_PORT /readyz
t_check "--static: /metrics shows the address on eth0" "absent" t_wait 5 metric_ge node3 \
	'l2lb_speaker_address_interfaces{ip="198.51.100.7"}' 1

echo
echo "figures:"
sed 's/^/  /' "$TMP/figures" 2>/dev/null
t_summary
