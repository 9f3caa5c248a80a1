#!/bin/sh
# check-e2e.sh: l2lb end to end on the three-node test bed (bed.sh), as a home-lab user sees it:
# addresses assigned, exactly one node answering, curl through the address, and failover by
# kill -9, by SIGTERM and by the node leaving the LAN, each reaching the client by GARP / NA.
# Failover times are printed, never asserted. Skips (77) without root or kubectl.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bed.sh"

bed_suite_begin

bed_suite_up config
bed_start_controller node1
for n in $BED_NODES; do
	bed_start_speaker "$n"
done

# answered_by_holder SERVICE ADDR: exactly one MAC answers the client's probe for ADDR, it is
# the MAC of the node that the ServiceL2Status names, and curl through ADDR reaches that node.
answered_by_holder() {
	_h=$(bed_holder "$1")
	_macs=$(bed_probe "$2")
	SEEN="holder '$_h', MACs that answered: '$(echo $_macs)', curl: '$(bed_curl "$2")'"
	[ -n "$_h" ] && [ "$(echo "$_macs" | wc -l)" -eq 1 ] &&
		[ "$(bed_node_of_mac "$_macs")" = "$_h" ] && [ "$(bed_curl "$2")" = "$_h" ]
}

# --- dual-stack service: both families assigned and answered by one node ---
bed_service web Cluster PreferDualStack && bed_endpoints web $BED_NODES
t_check "dual-stack service gets an IPv4 and an IPv6 address" "status: $(kc get svc web -o jsonpath='{.status}' 2>&1)" \
	t_wait 20 bed_has_ingress web 1
V4=$(bed_ingress web 0)
V6=$(bed_ingress web 1)
case "$V4/$V6" in
192.0.2.2[01][0-9]/2001:db8::2[01]?) t_ok "addresses come from the pool, IPv4 first ($V4, $V6)" ;;
*) t_fail "addresses come from the pool, IPv4 first" "saw '$V4' and '$V6'" ;;
esac
t_check "a node announces web (ServiceL2Status)" "none after 20 s" t_wait 20 bed_has_holder web
for a in "$V4" "$V6"; do
	if t_wait 10 answered_by_holder web "$a"; then
		t_ok "$a: exactly one MAC answers, the holder's, and curl reaches its backend"
	else
		t_fail "$a: exactly one MAC answers, the holder's, and curl reaches its backend" "$SEEN"
		t_failure_logs
	fi
done

# moved SERVICE ADDR OLDMAC HOW: the client's neighbour entry moves by GARP/NA alone (the table is
# only read, never asked), traffic reaches the new node, and the status follows.
moved() {
	if ms=$(bed_wait_moved "$2" "$3" 15000); then
		new=$(bed_node_of_mac "$(bed_client_mac "$2")")
		t_ok "$4: $2 moved to $new by GARP/NA in $ms ms"
		echo "failover $4: $ms ms" >>"$TMP/figures"
		t_check "$4: curl through $2 reaches $new" "curl said '$(bed_curl "$2")'" \
			t_wait 10 curl_is "$2" "$new"
		t_check "$4: ServiceL2Status names $new" "it names '$(bed_holder "$1")'" \
			t_wait 10 holder_is "$1" "$new"
	else
		t_fail "$4: $2 moves to another node by GARP/NA" "the client still has $3 after 15 s"
		t_failure_logs
	fi
}
holder_is() {
	[ "$(bed_holder "$1")" = "$2" ]
}
curl_is() {
	[ "$(bed_curl "$1")" = "$2" ]
}

# Keep the client's neighbour entry fresh before each failover, as live traffic would.
prime() {
	bed_curl "$1" >/dev/null
	bed_client_mac "$1"
}

# --- kill -9 of the holder's speaker ---
h=$(bed_holder web)
old=$(prime "$V4")
bed_signal speaker "$h" KILL
moved web "$V4" "$old" "kill -9 of $h's speaker"
bed_start_speaker "$h"

# --- SIGTERM: a graceful handover releases the lease at once ---
h=$(bed_holder web)
old=$(prime "$V4")
bed_signal speaker "$h" TERM
rc=$BED_RC
moved web "$V4" "$old" "SIGTERM of $h's speaker"
t_check "SIGTERM: the speaker exits 0" "it exited $rc" [ "$rc" -eq 0 ]
bed_start_speaker "$h"

# --- controller restart: nothing moves ---
before=$(kc get svc web -o jsonpath='{.status.loadBalancer.ingress[*].ip}')
bed_signal controller node1 TERM
bed_start_controller node1
bed_service web2 Cluster SingleStack && bed_endpoints web2 $BED_NODES
t_check "after a controller restart a new service still gets an address" "none in 20 s" \
	t_wait 20 bed_has_ingress web2 0
after=$(kc get svc web -o jsonpath='{.status.loadBalancer.ingress[*].ip}')
if [ "$before" = "$after" ] && [ -n "$after" ]; then
	t_ok "controller restart: web keeps $after"
else
	t_fail "controller restart: web keeps its addresses" "before '$before', after '$after'"
fi
W2=$(bed_ingress web2 0)
case " $before " in
*" $W2 "*) t_fail "no address is handed out twice" "web2 got $W2, which web holds" ;;
*) t_ok "no address is handed out twice (web2 got $W2)" ;;
esac

# --- speaker restarts: restarting the nodes that do not hold web moves nothing, and web is
# answered throughout (sticky holding; no ARP churn) ---
h=$(bed_holder web)
for n in $BED_NODES; do
	[ "$n" = "$h" ] && continue
	bed_signal speaker "$n" TERM
	bed_start_speaker "$n"
done
probe_stays() { # three probes spread over the restarts' settling time
	_i=0
	while [ $_i -lt 3 ]; do
		[ "$(bed_node_of_mac "$(bed_probe "$V4")")" = "$h" ] || return 1
		_i=$((_i + 1))
	done
}
t_check "speaker restarts elsewhere: $h keeps web and keeps answering" \
	"holder now '$(bed_holder web)', MACs '$(echo $(bed_probe "$V4"))'" probe_stays

# --- externalTrafficPolicy: Local: only a node with a backend announces; the address follows it ---
bed_service loc Local SingleStack && bed_endpoints loc node2
t_check "Local: the service gets an address" "none in 20 s" t_wait 20 bed_has_ingress loc 0
L=$(bed_ingress loc 0)
t_check "Local: node2, the only node with a backend, announces $L" "holder is '$(bed_holder loc)'" \
	t_wait 20 holder_is loc node2
t_check "Local: node2 alone answers the client" "$SEEN" t_wait 10 answered_by_holder loc "$L"
bed_endpoints loc node3
t_check "Local: moving the backend to node3 moves the address" "holder is '$(bed_holder loc)'" \
	t_wait 20 holder_is loc node3
t_check "Local: after the move node3 alone answers" "$SEEN" t_wait 10 answered_by_holder loc "$L"

# --- partition: the holder loses the API only; a peer takes over and the cut-off node stops
# answering once it hears the new holder's GARP (default --api-loss=keep) ---
h=$(bed_holder loc)
bed_endpoints loc $BED_NODES
old=$(prime "$L")
printf '%s\n' "table inet l2lb-e2e-cut {" "chain out {" \
	"type filter hook output priority 0; policy accept;" \
	"ip daddr $BED_API4 tcp dport 6443 drop" "}" "}" | nsx "$h" nft -f -
moved loc "$L" "$old" "partition of $h from the API"
only_new() {
	_m=$(bed_probe "$L")
	SEEN="MACs that answered: '$(echo $_m)'"
	[ "$(echo "$_m" | wc -l)" -eq 1 ] && [ "$(bed_node_of_mac "$_m")" != "$h" ]
}
t_check "partition: the cut-off $h no longer answers; one MAC does" "$SEEN" t_wait 10 only_new
nsx "$h" nft delete table inet l2lb-e2e-cut

# --- many services: IPv6 services from a second pool spread evenly and all answer ---
printf '%s\n' "apiVersion: metallb.io/v1beta1" "kind: IPAddressPool" \
	"metadata: {name: many, namespace: l2lb-system}" \
	"spec: {addresses: [2001:db8::1000-2001:db8::1fff], autoAssign: false}" "---" \
	"apiVersion: metallb.io/v1beta1" "kind: L2Advertisement" \
	"metadata: {name: many, namespace: l2lb-system}" "spec: {ipAddressPools: [many]}" |
	kc apply -f - >/dev/null
MANY=${L2LB_E2E_MANY:-200}
i=0
while [ $i -lt "$MANY" ]; do
	i=$((i + 1))
	printf '%s\n' "---" "apiVersion: v1" "kind: Service" \
		"metadata: {name: m$i, namespace: default, annotations: {metallb.io/address-pool: many}}" \
		"spec: {type: LoadBalancer, ipFamilyPolicy: SingleStack, ipFamilies: [IPv6], selector: {app: m$i}, ports: [{name: http, port: 80, targetPort: 8080}]}" \
		"---" "apiVersion: discovery.k8s.io/v1" "kind: EndpointSlice" \
		"metadata: {name: m$i-1, namespace: default, labels: {kubernetes.io/service-name: m$i}}" \
		"addressType: IPv6" "ports: [{name: http, port: 8080, protocol: TCP}]" \
		"endpoints: [{addresses: ['2001:db8::11'], nodeName: node1, conditions: {ready: true}}]"
done >"$TMP/many.yaml"
kc apply -f "$TMP/many.yaml" >"$TMP/many.out" 2>&1 || t_fail "many: the services apply" "$(tail -n 5 "$TMP/many.out")"
# statuses: "service node" lines for the m* services into $TMP/held; true once all are held.
statuses() {
	kc get servicel2statuses -n l2lb-system \
		-o 'jsonpath={range .items[*]}{.status.serviceName}{" "}{.status.node}{"\n"}{end}' \
		2>/dev/null | awk '$1 ~ /^m[0-9]+$/' | sort -u >"$TMP/held"
	[ "$(cut -d' ' -f1 "$TMP/held" | sort -u | wc -l)" -eq "$MANY" ]
}
if t_wait 60 statuses; then
	t_ok "many: all $MANY services are announced"
	counts=$(cut -d' ' -f2 "$TMP/held" | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }')
	echo "spread of $MANY services: $counts" >>"$TMP/figures"
	# The plan balances every service a node holds, so with a handful of m* services the other
	# services' places dominate: judge the spread only at the issue's scale.
	if [ "$MANY" -lt 100 ]; then
		t_skip "many: spread within 15% of even" "only judged with 100 or more services"
	elif cut -d' ' -f2 "$TMP/held" | sort | uniq -c | awk -v n="$MANY" '
		{ c[$2] = $1; k++ }
		END { e = n / 3; if (k != 3) exit 1
		      for (x in c) if (c[x] < e * 0.85 || c[x] > e * 1.15) exit 1 }'; then
		t_ok "many: spread over the three nodes within 15% of even ($counts)"
	else
		t_fail "many: spread over the three nodes within 15% of even" "$counts"
	fi
else
	t_fail "many: all $MANY services are announced" "$(wc -l <"$TMP/held") of $MANY after 60 s"
	t_failure_logs
fi
unanswered=0
for a in $(kc get svc -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.status.loadBalancer.ingress[0].ip}{"\n"}{end}' |
	awk '$1 ~ /^m[0-9]+$/ { print $2 }'); do
	[ -n "$(nsx client ndisc6 -q -r 2 -w 300 "$a" eth0 2>/dev/null)" ] ||
		unanswered=$((unanswered + 1))
done
if [ $unanswered -eq 0 ]; then
	t_ok "many: every one of the $MANY addresses answers the client's NS"
else
	t_fail "many: every address answers the client's NS" "$unanswered did not"
fi

# --- the holder's node leaves the LAN: its link is deleted ---
h=$(bed_holder web)
old=$(prime "$V6")
ip -n "$NS_PREFIX-$h" link del eth0
moved web "$V6" "$old" "$h's link deleted"

echo
echo "figures:"
sed 's/^/  /' "$TMP/figures" 2>/dev/null
t_summary
