#!/bin/sh
# check-parity.sh: MetalLB parity on the three-node test bed (bed.sh), seen from a LAN client:
#   - test/fixtures/metallb-config.yaml applied unchanged (in metallb-system, as MetalLB users
#     have it) and honoured: pool choice by annotation and by serviceAllocation, avoidBuggyIPs,
#     autoAssign false, dual-stack, nodeSelectors, interfaces, serviceSelectors, preferred nodes;
#   - preferredNodeSelectors move an address (GARP reaches the client), weights summed across
#     advertisements, only among eligible nodes, and a holder with an equal score keeps it;
#   - an announcing interface going down (link down, not deleted) releases the lease at once,
#     another node takes over, and the link coming back up does not take the address back.
# The bed gets a second LAN (lan2, 198.51.100.0/24, eth1 on the client and the nodes) for the
# fixture's 198.51.100.200/30 pool and the interface tests. Times are printed, never asserted.
# Skips (77) without root, kubectl, nft, curl or python3.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
BED_NS=metallb-system
. "$(dirname "$0")/bed.sh"

bed_suite_begin

bed_suite_up

# lan2: a second LAN for the client and the nodes, as a dedicated load-balancer VLAN would be.
lan2_ip() {
	echo "198.51.100.1${1#node}"
}
switch_add lan2 && wire lan2 client eth1 &&
	ip -n "$NS_PREFIX-client" addr add 198.51.100.50/24 dev eth1 || {
	t_fail "second LAN comes up" "see above"
	t_summary
	exit 1
}
for n in $BED_NODES; do
	wire lan2 "$n" eth1 && ip -n "$NS_PREFIX-$n" addr add "$(lan2_ip "$n")/24" dev eth1 || {
		t_fail "second LAN comes up on $n" "see above"
		t_summary
		exit 1
	}
	# The kube-proxy stand-in for every pool of this suite and the ports its services use.
	nsx "$n" nft -f - <<EOF
table inet l2lb-parity-proxy {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr { 192.0.2.100-192.0.2.255, 198.51.100.100-198.51.100.255 } tcp dport { 80, 443, 8080 } dnat ip to $(bed_node_ip4 "$n"):8080
		ip6 daddr 2001:db8::200-2001:db8::2ff tcp dport { 80, 443, 8080 } dnat ip6 to [$(bed_node_ip6 "$n")]:8080
	}
}
EOF
done

# Node labels the fixture's advertisements look at: node2 and node3 are edge nodes in racks 2
# and 1; node1 is neither.
kc label node node2 node-role.kubernetes.io/edge= topology.kubernetes.io/zone=rack-2 >/dev/null
kc label node node3 node-role.kubernetes.io/edge= topology.kubernetes.io/zone=rack-1 >/dev/null

# The fixture needs its namespaces, as it would on a cluster that ran MetalLB.
kc create namespace metallb-system >/dev/null
kc create namespace team-a >/dev/null
kc apply -f "$L2LB_TOP/deploy/crds/" >/dev/null && t_wait 10 kc get ipaddresspools.metallb.io -A
t_check "the MetalLB fixture applies unchanged" "$(kc apply -f "$L2LB_TOP/test/fixtures/metallb-config.yaml" 2>&1 | tail -n 3)" \
	kc get svc -n team-a api
for s in web dns legacy; do
	bed_endpoints "$s" $BED_NODES
done
bed_endpoints_in team-a api node2

bed_start_controller node1
for n in $BED_NODES; do
	bed_start_speaker "$n"
done

# ---- helpers: a service from arguments, what status and Events say ----

# svc NS NAME LABELS ANNOTATIONS [SPEC...]: a LoadBalancer service on ports 80 and 443; LABELS
# and ANNOTATIONS are flow mappings without braces ("" for none).
svc() {
	{
		echo "apiVersion: v1"
		echo "kind: Service"
		echo "metadata: {name: $2, namespace: $1, labels: {$3}, annotations: {$4}}"
		echo "spec:"
		echo "  type: LoadBalancer"
		echo "  selector: {app: $2}"
		echo "  ports: [{name: http, port: 80, targetPort: 8080}, {name: https, port: 443, targetPort: 8080}]"
		shift 4
		for l in "$@"; do
			echo "  $l"
		done
	} | kc apply -f - >/dev/null
}
# ingress NS NAME: the service's addresses, space-separated, in status order.
ingress() {
	kc get svc -n "$1" "$2" -o 'jsonpath={.status.loadBalancer.ingress[*].ip}' 2>/dev/null
}
ingress_is() {
	SEEN=$(ingress "$1" "$2")
	[ "$SEEN" = "$3" ]
}
pool_of() {
	kc get svc -n "$1" "$2" \
		-o 'jsonpath={.metadata.annotations.metallb\.io/ip-allocated-from-pool}' 2>/dev/null
}
pool_is() {
	SEEN="pool '$(pool_of "$1" "$2")'"
	[ "$(pool_of "$1" "$2")" = "$3" ]
}
holder_is() {
	SEEN=$(bed_holder "$1")
	[ "$SEEN" = "$2" ]
}
# l2status NAME FIELD: a field of the ServiceL2Status that names service NAME.
l2status() {
	kc get servicel2statuses -n "$BED_NS" -o json 2>/dev/null | python3 -c '
import json, sys
for o in json.load(sys.stdin)["items"]:
    st = o.get("status") or {}
    if st.get("serviceName") == sys.argv[1]:
        v = st.get(sys.argv[2])
        print(" ".join(i["name"] for i in v) if sys.argv[2] == "interfaces" else v)
        break' "$1" "$2"
}
# event_on NS KIND/NAME REASON TEXT: an Event with that reason whose message holds TEXT.
event_on() {
	kc get events -n "$1" -o 'jsonpath={range .items[*]}{.involvedObject.kind}/{.involvedObject.name} {.type} {.reason} {.message}{"\n"}{end}' 2>/dev/null |
		grep "^$2 [A-Za-z]* $3 " | grep -q -- "$4"
}
# answered ADDR NODE [IFACE [PORT]]: exactly one MAC answers the client's probe for ADDR on
# IFACE, NODE's on that LAN, and curl to ADDR:PORT (if given) reaches NODE's backend.
answered() {
	_macs=$(bed_probe "$1" "${3:-eth0}")
	_want=$(mac "$2" "${3:-eth0}")
	_got=
	[ -n "${4:-}" ] && _got=$(bed_curl "$1" "$4")
	SEEN="MACs that answered: '$(echo $_macs)', $2's: $_want, curl: '$_got'"
	[ "$_macs" = "$_want" ] && { [ -z "${4:-}" ] || [ "$_got" = "$2" ]; }
}
# unanswered ADDR IFACE: nobody answers the client's probe for ADDR.
unanswered() {
	_macs=$(bed_probe "$1" "$2")
	SEEN="MACs that answered: '$(echo $_macs)'"
	[ -z "$_macs" ]
}
# stays NAME NODE ADDR OLDMAC SECONDS: for SECONDS, NAME stays with NODE and the client's
# neighbour entry for ADDR keeps OLDMAC (no takeover, no GARP); a window, since it checks that
# something does not happen.
stays() {
	_tries=$(($5 * 10))
	while [ "$_tries" -gt 0 ]; do
		_h=$(bed_holder "$1")
		_m=$(bed_client_mac "$3")
		SEEN="holder '$_h', client's entry for $3: '$_m' (was $4)"
		[ "$_h" = "$2" ] && [ "$_m" = "$4" ] || return 1
		sleep 0.1
		_tries=$((_tries - 1))
	done
}
# moved NAME ADDR OLDMAC NODE HOW [IFACE PORT]: the client's neighbour entry for ADDR moves to
# NODE's MAC by GARP/NA alone (the table is read, never asked), the status names NODE and curl
# reaches NODE's backend. The time to the GARP goes to the figures.
moved() {
	if _ms=$(bed_wait_moved "$2" "$3" 15000); then
		_new=$(bed_client_mac "$2")
		_want=$(mac "$4" "${6:-eth0}")
		t_check "$5: the client's entry for $2 moved to $4 by GARP/NA ($_ms ms)" \
			"it moved to $_new, $4's MAC is $_want" [ "$_new" = "$_want" ]
		echo "$5: $_ms ms to the new holder's GARP (counted once the change was applied)" >>"$TMP/figures"
		t_check "$5: ServiceL2Status names $4" "it names '$(bed_holder "$1")'" \
			t_wait 10 holder_is "$1" "$4"
		t_check "$5: curl through $2 reaches $4" "curl said '$(bed_curl "$2" "${7:-80}")'" \
			t_wait 10 curl_is "$2" "${7:-80}" "$4"
	else
		t_fail "$5: the client's entry for $2 moves by GARP/NA" "still $3 after 15 s"
		t_failure_logs
	fi
}
# holder_not NAME NODE: a node other than NODE announces NAME.
holder_not() {
	SEEN="holder '$(bed_holder "$1")'"
	_h=$(bed_holder "$1")
	[ -n "$_h" ] && [ "$_h" != "$2" ]
}
curl_is() {
	[ "$(bed_curl "$1" "$2")" = "$3" ]
}
# prime ADDR [PORT]: live traffic fills the client's neighbour entry; prints the MAC.
prime() {
	bed_curl "$1" "${2:-80}" >/dev/null
	bed_client_mac "$1"
}

# ======== 1. the fixture, unchanged, honoured ========

# web: default namespace, no labels: only pool lan takes it (team-a's serviceAllocation does
# not match, expensive is not auto-assigned); lan's lowest free address.
t_check "fixture web: lan's lowest address, 192.0.2.200" "wrong or no address" \
	t_wait 20 ingress_is default web 192.0.2.200
t_check "fixture web: ip-allocated-from-pool says lan" "" t_wait 10 pool_is default web lan
t_check "fixture web: announced by one node" "no ServiceL2Status" t_wait 20 bed_has_holder web
H=$(bed_holder web)
t_check "fixture web: $H alone answers 192.0.2.200 and serves it" "" \
	t_wait 10 answered 192.0.2.200 "$H" eth0 80
t_check "fixture web: lan-all's interfaces (eth0) in ServiceL2Status" \
	"interfaces '$(l2status web interfaces)'" [ "$(l2status web interfaces)" = eth0 ]
t_check "fixture web: ServiceL2Status names the service's namespace" \
	"'$(l2status web serviceNamespace)'" [ "$(l2status web serviceNamespace)" = default ]
t_check "fixture web: 192.0.2.200 not answered on lan2 (only the chosen interface)" "" \
	unanswered 192.0.2.200 eth1

# api: namespace team-a, label app=api: pool team-a by serviceAllocation (namespaces, priority),
# Local policy with its only endpoint on node2.
t_check "fixture api: team-a's first address, 192.0.2.160" "wrong or no address" \
	t_wait 20 ingress_is team-a api 192.0.2.160
t_check "fixture api: ip-allocated-from-pool says team-a" "" t_wait 10 pool_is team-a api team-a
t_check "fixture api (Local): node2, its only endpoint's node, announces" "another or no holder" \
	t_wait 20 holder_is api node2
t_check "fixture api: node2 alone answers 192.0.2.160 and serves port 443" "" \
	t_wait 10 answered 192.0.2.160 node2 eth0 443

# dns: metallb.io/address-pool names the autoAssign=false pool; expensive-edge announces it
# (serviceSelectors exposure=public) from edge nodes only, preferring rack-1 (weight 80: node3)
# over rack-2 (20: node2). Its only subnet is lan2.
t_check "fixture dns: expensive's first address, 198.51.100.200" "wrong or no address" \
	t_wait 20 ingress_is default dns 198.51.100.200
t_check "fixture dns: ip-allocated-from-pool says expensive" "" t_wait 10 pool_is default dns expensive
t_check "fixture dns: node3 (edge, rack-1: weight 80) announces" "another or no holder" \
	t_wait 20 holder_is dns node3
t_check "fixture dns: node3 alone answers 198.51.100.200 on lan2" "" \
	t_wait 10 answered 198.51.100.200 node3 eth1
t_check "fixture dns: ServiceL2Status interfaces is eth1, the subnet's link" \
	"interfaces '$(l2status dns interfaces)'" [ "$(l2status dns interfaces)" = eth1 ]

# legacy: the deprecated prefix asks for 192.0.2.210 and gets it, with a Warning Event.
t_check "fixture legacy: metallb.universe.tf/loadBalancerIPs gets 192.0.2.210" "wrong or no address" \
	t_wait 20 ingress_is default legacy 192.0.2.210
t_check "fixture legacy: Warning Event names metallb.io/loadBalancerIPs" "none in 20 s" \
	t_wait 20 event_on default Service/legacy DeprecatedAnnotation metallb.io/loadBalancerIPs
t_check "fixture legacy: announced and served on port 8080" "" \
	t_wait 20 sh -c '[ -n "$1" ]' _ "$(bed_holder legacy)"
H=$(bed_holder legacy)
t_check "fixture legacy: $H alone answers 192.0.2.210 and serves port 8080" "" \
	t_wait 10 answered 192.0.2.210 "$H" eth0 8080

# ---- the same configuration, more services: each part of it on its own ----

# Dual-stack: both families from one pool (lan), IPv4 first, both answered by the holder.
svc default dual "" "" "ipFamilyPolicy: RequireDualStack" "ipFamilies: [IPv6, IPv4]"
bed_endpoints dual $BED_NODES
dual_ok() {
	SEEN=$(ingress default dual)
	case $SEEN in
	"192.0.2.2"[0-5][0-9]" 2001:db8::2"??) return 0 ;;
	esac
	return 1
}
t_check "dual-stack (IPv6 primary): an IPv4 and an IPv6 address from lan, IPv4 first" "" \
	t_wait 20 dual_ok
t_check "dual-stack: announced" "no ServiceL2Status" t_wait 20 bed_has_holder dual
H=$(bed_holder dual)
for a in $(ingress default dual); do
	t_check "dual-stack: $H alone answers $a and serves it" "" t_wait 10 answered "$a" "$H" eth0 80
done

# serviceAllocation: namespaceSelectors (a namespace labelled team=a) with serviceSelectors
# (app In [web, api]) picks team-a; the same namespace with another app label does not.
printf '%s\n' "apiVersion: v1" "kind: Namespace" "metadata: {name: team-b, labels: {team: a}}" |
	kc apply -f - >/dev/null
svc team-b front "app: web" ""
svc team-b other "app: batch" ""
t_check "serviceAllocation: namespaceSelectors + serviceSelectors pick team-a (192.0.2.161)" \
	"wrong or no address" t_wait 20 ingress_is team-b front 192.0.2.161
t_check "serviceAllocation: ... pool annotation team-a" "" t_wait 10 pool_is team-b front team-a
t_check "serviceAllocation: a service its serviceSelectors refuse falls back to lan" "" \
	t_wait 20 pool_is team-b other lan

# avoidBuggyIPs: lan holds 192.0.2.255, but never hands it out, even when asked: as in MetalLB,
# the address counts as in no pool.
svc default buggy "" "metallb.io/loadBalancerIPs: 192.0.2.255"
t_check "avoidBuggyIPs: asking for 192.0.2.255 fails with an Event" "none in 20 s" \
	t_wait 20 event_on default Service/buggy AllocationFailed "not in any"
t_check "avoidBuggyIPs: ... and no address" "ingress '$(ingress default buggy)'" \
	[ -z "$(ingress default buggy)" ]

# autoAssign false: none of the services above got an address from expensive unasked.
auto=$(kc get svc -A -o 'jsonpath={range .items[*]}{.metadata.name}={.status.loadBalancer.ingress[*].ip}{"\n"}{end}' |
	grep -v '^dns=' | grep '198\.51\.100\.')
t_check "autoAssign false: only services naming expensive get its addresses" "$auto" [ -z "$auto" ]

# serviceSelectors on an advertisement: a service in expensive without exposure=public gets
# an address but expensive-edge does not announce it, and no other advertisement does.
svc default private "" "metallb.io/address-pool: expensive"
bed_endpoints private $BED_NODES
t_check "serviceSelectors: an unselected service still gets expensive's 198.51.100.201" \
	"wrong or no address" t_wait 20 ingress_is default private 198.51.100.201
t_check "serviceSelectors: ... nobody answers for it" "" unanswered 198.51.100.201 eth1
t_check "serviceSelectors: ... and no ServiceL2Status names it" "holder '$(bed_holder private)'" \
	[ -z "$(bed_holder private)" ]
# Labelling it exposure=public makes expensive-edge select it: node3 announces.
kc label svc private exposure=public >/dev/null
t_check "serviceSelectors: labelled exposure=public, node3 announces it" "another or no holder" \
	t_wait 20 holder_is private node3
t_check "serviceSelectors: ... and answers on lan2" "" \
	t_wait 10 answered 198.51.100.201 node3 eth1
# Another edge node may take it first and lose it to node3 at once: one status remains.
one_status() {
	SEEN=$(kc get servicel2statuses -n "$BED_NS" -o 'jsonpath={range .items[*]}{.status.serviceName}{" "}{.status.node}{"\n"}{end}' |
		awk '$1 == "private"' | tr '\n' ' ')
	[ "$SEEN" = "private node3 " ]
}
t_check "serviceSelectors: ... and only node3's ServiceL2Status names it" "" t_wait 10 one_status

# nodeSelectors: node3 stops being an edge node: dns moves to node2 (the other edge node),
# never to node1, and the client learns it by GARP.
old=$(prime 198.51.100.200)
kc label node node3 node-role.kubernetes.io/edge- >/dev/null
moved dns 198.51.100.200 "$old" node2 "nodeSelectors: node3 no longer edge" eth1
kc label node node3 node-role.kubernetes.io/edge= >/dev/null

# ======== 2. preferredNodeSelectors move an address ========

# A pool of its own with two advertisements; the service starts with no preference anywhere.
kc apply -f - >/dev/null <<EOF
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: pref, namespace: metallb-system}
spec: {addresses: [192.0.2.120-192.0.2.127], autoAssign: false}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: pref-one, namespace: metallb-system}
spec: {ipAddressPools: [pref]}
EOF
svc default pref1 "" "metallb.io/address-pool: pref"
bed_endpoints pref1 $BED_NODES
t_check "preferred: pref1 gets 192.0.2.120" "wrong or no address" t_wait 20 ingress_is default pref1 192.0.2.120
t_check "preferred: pref1 announced (no preferences yet)" "no holder" t_wait 20 bed_has_holder pref1
A=$(bed_holder pref1)
B= C=
for n in $BED_NODES; do
	[ "$n" = "$A" ] && continue
	if [ -z "$B" ]; then B=$n; else C=$n; fi
done
P=192.0.2.120
t_check "preferred: $A answers $P" "" t_wait 10 answered $P "$A" eth0 80

# Weight 50 for label l2lb.test/y on B (one advertisement): B outscores A and takes over.
kc label node "$B" l2lb.test/y=1 >/dev/null
old=$(prime $P)
kc apply -f - >/dev/null <<EOF
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: pref-one, namespace: metallb-system}
spec:
  ipAddressPools: [pref]
  preferredNodeSelectors:
  - {weight: 30, preference: {matchLabels: {l2lb.test/x: "1"}}}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: pref-two, namespace: metallb-system}
spec:
  ipAddressPools: [pref]
  preferredNodeSelectors:
  - {weight: 50, preference: {matchLabels: {l2lb.test/y: "1"}}}
  - {weight: 40, preference: {matchLabels: {l2lb.test/z: "1"}}}
EOF
moved pref1 $P "$old" "$B" "preferred: $B scores 50, $A 0"

# Summed across advertisements: C matches x (30, pref-one) and z (40, pref-two): 70 > 50,
# though each term alone is below B's.
old=$(prime $P)
kc label node "$C" l2lb.test/x=1 l2lb.test/z=1 >/dev/null
moved pref1 $P "$old" "$C" "preferred: $C scores 30+40 across advertisements, $B 50"

# Equal score: B becomes 70 too (x and z, no y): C holds and keeps it (sticky), no GARP.
old=$(prime $P)
kc label node "$B" l2lb.test/y- l2lb.test/x=1 l2lb.test/z=1 >/dev/null
t_check "preferred: $B ties with holder $C at 70: $C keeps $P (3 s, no GARP)" "" \
	stays pref1 "$C" $P "$old" 3

# Ties among the best go by the normal ranking: a new service goes to B or C, never to A (0).
svc default pref2 "" "metallb.io/address-pool: pref"
bed_endpoints pref2 $BED_NODES
t_wait 20 bed_has_holder pref2
h2=$(bed_holder pref2)
t_check "preferred: a new service lands on a best-scored node ($B or $C), not $A" "holder '$h2'" \
	sh -c '[ "$1" = "$2" ] || [ "$1" = "$3" ]' _ "$h2" "$B" "$C"

# Only among eligible nodes: a Local service whose only endpoint is on A stays on A, whatever
# B and C score.
svc default pref3 "" "metallb.io/address-pool: pref" "externalTrafficPolicy: Local"
bed_endpoints pref3 "$A"
t_check "preferred: Local pref3 with its endpoint on $A (score 0) is announced by $A" \
	"another or no holder" t_wait 20 holder_is pref3 "$A"

# The holder's score drops below another's: it hands over. C loses z (30 < B's 70).
old=$(prime $P)
kc label node "$C" l2lb.test/z- >/dev/null
moved pref1 $P "$old" "$B" "preferred: holder $C drops to 30, $B has 70"

# ======== 3. issue 7: the announcing interface goes down (not deleted) ========

# A pool announced only on eth1 (lan2), by name.
kc apply -f - >/dev/null <<EOF
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: wire2, namespace: metallb-system}
spec: {addresses: [198.51.100.120-198.51.100.127], autoAssign: false}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: wire2, namespace: metallb-system}
spec: {ipAddressPools: [wire2], interfaces: [eth1]}
EOF
svc default ifdown "" "metallb.io/address-pool: wire2"
bed_endpoints ifdown $BED_NODES
I=198.51.100.120
t_check "link down: ifdown gets $I" "wrong or no address" t_wait 20 ingress_is default ifdown $I
t_check "link down: ifdown announced" "no holder" t_wait 20 bed_has_holder ifdown
H=$(bed_holder ifdown)
t_check "link down: $H answers $I on eth1 and serves it" "" t_wait 10 answered $I "$H" eth1 80
t_check "link down: ServiceL2Status interfaces is eth1 (the advertisement's)" \
	"interfaces '$(l2status ifdown interfaces)'" [ "$(l2status ifdown interfaces)" = eth1 ]

# The speaker still reaches the API over eth0, so it gives the lease up at once (its presence
# lease stays live: a peer may take over only because it was released, not because it expired).
old=$(prime $I)
ip -n "$NS_PREFIX-$H" link set eth1 down
if ms=$(bed_wait_moved $I "$old" 15000); then
	N=$(bed_holder ifdown)
	new=$(bed_client_mac $I)
	t_ok "link down: the client's entry for $I moved by GARP in $ms ms"
	echo "link down on the holder: $ms ms to the new holder's GARP" >>"$TMP/figures"
	t_check "link down: the entry is the MAC of a node other than $H" \
		"entry $new; $H's is $(mac "$H" eth1)" [ "$new" != "$(mac "$H" eth1)" ]
	t_check "link down: ServiceL2Status names another node" "" t_wait 10 holder_not ifdown "$H"
else
	t_fail "link down: the client's entry for $I moves by GARP" "still $old after 15 s"
	t_failure_logs
fi
t_check "link down: $H released ifdown's lease because its interface went down" \
	"no such line in speaker-$H.log" \
	grep -q "releasing.*service=default/ifdown.*reason=interface_down" "$BED_DIR/speaker-$H.log"
N=$(bed_holder ifdown)
t_check "link down: $N took a released lease, not an expired one" \
	"speaker-$N.log says the holder's presence expired" \
	sh -c '! grep -q "presence lease expired.*default/ifdown" "$1"' _ "$BED_DIR/speaker-$N.log"
t_check "link down: curl through $I reaches the new holder $N" "curl said '$(bed_curl $I)'" \
	t_wait 10 curl_is $I 80 "$N"

# Back up: the old holder does not take the address back.
old=$(prime $I)
ip -n "$NS_PREFIX-$H" link set eth1 up
t_check "link up again: $N keeps ifdown, $H does not take it back (5 s, no GARP)" "" \
	stays ifdown "$N" $I "$old" 5
t_check "link up again: $N alone answers $I" "" t_wait 10 answered $I "$N" eth1 80

# The same with an interface chosen by subnet (expensive-edge names none): dns is answered on
# lan2 by node3 (edge, rack-1) once node3 is an edge node again; node3's eth1 goes down and
# node2, the other edge node, takes it. When the link comes back node3 outscores node2 (80 to
# 20), so the address goes back: preferred nodes win over sticky holding, as MetalLB's do.
D=198.51.100.200
t_check "link down, subnet-chosen interface: node3 (rack-1) announces dns again" "" \
	t_wait 20 holder_is dns node3
old=$(prime $D)
ip -n "$NS_PREFIX-node3" link set eth1 down
moved dns $D "$old" node2 "link down (interface chosen by subnet) on node3" eth1
old=$(prime $D)
ip -n "$NS_PREFIX-node3" link set eth1 up
moved dns $D "$old" node3 "link up again on node3, which scores higher" eth1

# ======== 4. what a MetalLB user reads: printer columns, pool status, validation ========

# kubectl get shows MetalLB's columns, filled from what the daemons wrote.
row() { # KIND NAME [ARGS...]: the header and NAME's row of kubectl get KIND, blanks squeezed
	_k=$1 _r=$2
	shift 2
	kc get "$_k" -n "$BED_NS" "$@" 2>/dev/null | tr -s ' ' | sed 's/ $//' |
		awk -v n="$_r" '$1 == n || NR == 1'
}
l2s_name=$(kc get servicel2statuses -n "$BED_NS" -o 'jsonpath={range .items[*]}{.metadata.name} {.status.serviceName}{"\n"}{end}' |
	awk '$2 == "web" { print $1; exit }')
H=$(bed_holder web)
want="NAME ALLOCATED NODE SERVICE NAME SERVICE NAMESPACE
$l2s_name $H web default"
got=$(row servicel2statuses "$l2s_name")
t_check "kubectl get servicel2statuses: MetalLB's columns with the speaker's status" \
	"got '$got'" [ -n "$l2s_name" ] && [ "$got" = "$want" ]
got=$(row ipaddresspools lan)
t_check "kubectl get ipaddresspools: AUTO ASSIGN, AVOID BUGGY IPS, ADDRESSES" "got '$got'" \
	[ "$got" = 'NAME AUTO ASSIGN AVOID BUGGY IPS ADDRESSES
lan true true ["192.0.2.200-192.0.2.255","2001:db8::200-2001:db8::2ff"]' ]
got=$(row l2advertisements lan-all -o wide)
t_check "kubectl get l2advertisements -o wide: MetalLB's columns" "got '$got'" \
	[ "$got" = 'NAME IPADDRESSPOOLS IPADDRESSPOOL SELECTORS INTERFACES NODE SELECTORS
lan-all ["lan","team-a"] ["eth0"]' ]

# Pool status as MetalLB reports it, kept current: lan hands out web, legacy, dual (both
# families), other, after; 192.0.2.255 does not count as available (avoidBuggyIPs).
pool_status_is() {
	SEEN=$(kc get ipaddresspool -n "$BED_NS" "$1" -o 'jsonpath={.status.assignedIPv4}/{.status.availableIPv4}/{.status.assignedIPv6}/{.status.availableIPv6}' 2>/dev/null)
	[ "$SEEN" = "$2" ]
}
t_check "pool status: lan assigned/available IPv4 and IPv6 4/51/1/255" "" \
	t_wait 20 pool_status_is lan 4/51/1/255
t_check "pool status: expensive 2/2/0/0 (dns, private)" "" t_wait 20 pool_status_is expensive 2/2/0/0
t_check "pool status: team-a 2/14/0/0 (api, front)" "" t_wait 20 pool_status_is team-a 2/14/0/0

# Validation as MetalLB validates, past what the CRD schema can say: each refused object gets a
# Warning Event naming it and the field; everything else keeps working.
kc apply -f - >/dev/null 2>"$TMP/bad.err" <<'BAD'
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: bad-namespaces, namespace: metallb-system}
spec:
  addresses: [198.51.100.160/29]
  serviceAllocation: {namespaces: [team-a, team-a]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: bad-selectors, namespace: metallb-system}
spec:
  addresses: [198.51.100.168/29]
  serviceAllocation:
    serviceSelectors:
    - matchLabels: {app: web}
    - matchExpressions: [{key: app, operator: In, values: [web]}]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: bad-value, namespace: metallb-system}
spec:
  addresses: [198.51.100.176/29]
  serviceAllocation:
    namespaceSelectors: [{matchLabels: {team: "not a label value"}}]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: bad-overlap, namespace: metallb-system}
spec:
  addresses: [192.0.2.126/31]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: bad-pools, namespace: metallb-system}
spec: {ipAddressPools: [wire2, wire2]}
BAD
refused() { # KIND/NAME TEXT: the object's latest Event is InvalidConfiguration, with TEXT
	SEEN=$(kc get events -n "$BED_NS" -o 'jsonpath={range .items[*]}{.involvedObject.kind}/{.involvedObject.name} {.type} {.reason} {.message}{"\n"}{end}' 2>/dev/null |
		grep "^$1 " | tail -n 1)
	case $SEEN in
	"$1 Warning InvalidConfiguration "*"$2"*) return 0 ;;
	esac
	return 1
}
t_check "validation: duplicate serviceAllocation.namespaces refused" "$(cat "$TMP/bad.err")" \
	t_wait 20 refused IPAddressPool/bad-namespaces "spec.serviceAllocation.namespaces[1]"
t_check "validation: equivalent serviceSelectors refused" "" \
	t_wait 20 refused IPAddressPool/bad-selectors "spec.serviceAllocation.serviceSelectors[1]"
t_check "validation: an invalid label value refused" "" \
	t_wait 20 refused IPAddressPool/bad-value "spec.serviceAllocation.namespaceSelectors[0]"
t_check "validation: addresses overlapping another pool refused" "" \
	t_wait 20 refused IPAddressPool/bad-overlap "overlap"
t_check "validation: duplicate ipAddressPools refused" "" \
	t_wait 20 refused L2Advertisement/bad-pools "spec.ipAddressPools[1]"
svc default after "" ""
bed_endpoints after $BED_NODES
t_check "validation: the rest keeps working: a new service gets a lan address" "" \
	t_wait 20 pool_is default after lan
N=$(bed_holder ifdown)
t_check "validation: ... and ifdown is still answered by $N" "" t_wait 10 answered $I "$N" eth1 80

# An advertisement edited into an invalid one: its last good version keeps serving, in the
# speakers and in the controller (pkg/mlb/lastgood), and the Event says so.
kc apply -f - >/dev/null <<'BAD'
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: wire2, namespace: metallb-system}
spec: {ipAddressPools: [wire2, wire2], interfaces: [eth1]}
BAD
t_check "validation: the edit of wire2 is refused" "" \
	t_wait 20 refused L2Advertisement/wire2 "spec.ipAddressPools[1]: duplicate definition of \"wire2\"; serving its last accepted version"
old=$(prime $I)
t_check "validation: ... and its last good version keeps ifdown announced by $N (3 s)" "" \
	stays ifdown "$N" $I "$old" 3
t_check "validation: ... $N still answers $I" "" answered $I "$N" eth1 80

# A pool edited into an invalid one: its services keep their addresses and stay announced.
kc apply -f - >/dev/null <<'BAD'
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: wire2, namespace: metallb-system}
spec: {addresses: [198.51.100.120-198.51.100.127, 198.51.100.124/30], autoAssign: false}
BAD
t_check "validation: the edit of pool wire2 (overlapping itself) is refused" "" \
	t_wait 20 refused IPAddressPool/wire2 "serving its last accepted version"
t_check "validation: ... ifdown keeps $I" "" ingress_is default ifdown $I
t_check "validation: ... and $N still answers it" "" answered $I "$N" eth1 80

echo
echo "figures:"
sed 's/^/  /' "$TMP/figures" 2>/dev/null
t_summary
