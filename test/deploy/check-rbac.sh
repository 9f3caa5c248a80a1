#!/bin/sh
# check-rbac.sh: the RBAC in deploy/ is exactly what the daemons use. kubesim enforces the RBAC
# of deploy/l2lb.yaml (--authorize) and logs who made each request; two controller replicas and
# three speakers (dry run: every API call of a real speaker, no network) each with its own
# service account token go through a realistic run (services assigned and announced, a pool
# exhausted, a write conflict, a leader handover, speakers stopped, killed and restarted, a
# service deleted); then rbac.py checks each daemon's requests against its (Cluster)Roles, and
# that every verb of every rule was used. Skips (77) without kubectl.
set -u
. "$(dirname "$0")/../lib.sh"

if ! command -v kubectl >/dev/null 2>&1; then
	echo "skip: kubectl is not installed (not packaged by Debian 12); nothing to apply with"
	exit 77
fi
work=$(mktemp -d)
stop_daemons() {
	for f in "$work"/*.pid; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
}
trap 'stop_daemons; kubesim_stop; rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
cd "$L2LB_TOP" || exit 1
NS=l2lb-system
CTL_USER=system:serviceaccount:$NS:l2lb-controller
SPK_USER=system:serviceaccount:$NS:l2lb-speaker

# The static token file: one identity per daemon, as their service account tokens would be.
printf '%s\n' "rbac-ctl-token,$CTL_USER,uid-ctl" "rbac-spk-token,$SPK_USER,uid-spk" \
	>"$work/tokens"
kubesim_start "$work/sim" --token-file "$work/tokens" --authorize --admin 127.0.0.1:0 || {
	t_fail "kubesim starts" "see its log above"
	t_summary
	exit 1
}
ADMIN=$(sed -n 's/.* admin //p' "$work/sim/kubesim.log" | head -n 1)
sed 's/^\( *token:\).*/\1 "rbac-ctl-token"/' "$KUBECONFIG" >"$work/ctl.kubeconfig"
sed 's/^\( *token:\).*/\1 "rbac-spk-token"/' "$KUBECONFIG" >"$work/spk.kubeconfig"

t_failure_logs() { t_tail_logs "$work"/*.log; }

# What a user installs: every object of deploy/l2lb.yaml (the Deployment and DaemonSet are only
# stored: kubesim runs no pods; the daemons below stand in for them).
if kubectl apply -f deploy/l2lb.yaml >"$work/apply.out" 2>&1; then
	t_ok "deploy/l2lb.yaml applies"
else
	t_fail "deploy/l2lb.yaml applies" "$(cat "$work/apply.out")"
fi
t_wait 10 kubectl get ipaddresspools.metallb.io -A
kubectl apply -f deploy/examples/ipaddresspool.yaml -f deploy/examples/l2advertisement.yaml \
	>/dev/null
# A pool with one address and its own advertisement: the second service asking for it fails.
printf '%s\n' "apiVersion: metallb.io/v1beta1" "kind: IPAddressPool" \
	"metadata: {name: tiny, namespace: $NS}" \
	"spec: {addresses: [192.0.2.230/32], autoAssign: false}" "---" \
	"apiVersion: metallb.io/v1beta1" "kind: L2Advertisement" \
	"metadata: {name: tiny, namespace: $NS}" "spec: {ipAddressPools: [tiny]}" |
	kubectl apply -f - >/dev/null
for n in node1 node2 node3; do
	printf '%s\n' "apiVersion: v1" "kind: Node" \
		"metadata: {name: $n, labels: {kubernetes.io/hostname: $n}}" \
		"status: {conditions: [{type: Ready, status: 'True', reason: KubeletReady}]}"
	echo ---
done | kubectl apply -f - >/dev/null

# service NAME [POOL [POLICY [NODE...]]]: a dual-stack LoadBalancer service (externalTrafficPolicy
# POLICY, default Cluster) with a ready backend on each NODE (default: every node).
service() {
	_svc=$1 _pool=${2:-} _policy=${3:-Cluster}
	shift $(($# < 3 ? $# : 3))
	[ $# -gt 0 ] || set -- node1 node2 node3
	{
		printf '%s\n' "apiVersion: v1" "kind: Service" "metadata:" "  name: $_svc" \
			"  namespace: default"
		[ -n "$_pool" ] && echo "  annotations: {metallb.io/address-pool: $_pool}"
		printf '%s\n' "spec:" "  type: LoadBalancer" "  ipFamilyPolicy: PreferDualStack" \
			"  externalTrafficPolicy: $_policy" "  selector: {app: $_svc}" \
			"  ports: [{name: http, port: 80, targetPort: 8080}]"
		for fam in IPv4 IPv6; do
			printf '%s\n' "---" "apiVersion: discovery.k8s.io/v1" "kind: EndpointSlice" \
				"metadata: {name: $_svc-$(echo $fam | tr A-Z a-z), namespace: default, labels: {kubernetes.io/service-name: $_svc}}" \
				"addressType: $fam" "ports: [{name: http, port: 8080, protocol: TCP}]" \
				"endpoints:"
			for n in "$@"; do
				[ $fam = IPv4 ] && ip=192.0.2.1${n#node} || ip=2001:db8::1${n#node}
				echo "  - {addresses: ['$ip'], nodeName: $n, conditions: {ready: true}}"
			done
		done
	} | kubectl apply -f - >/dev/null
}
ingress() {
	[ -n "$(kubectl get svc "$1" -o 'jsonpath={.status.loadBalancer.ingress[0].ip}' 2>/dev/null)" ]
}
holder() {
	kubectl get servicel2statuses -n $NS \
		-o 'jsonpath={range .items[*]}{.status.serviceName}{" "}{.status.node}{"\n"}{end}' \
		2>/dev/null | awk -v s="$1" '$1 == s { print $2; exit }'
}
has_holder() {
	[ -n "$(holder "$1")" ]
}
no_status() {
	[ -z "$(holder "$1")" ]
}
seen() { # seen USER VERB RESOURCE: the request log holds such a request by USER (not on a subresource)
	grep -F "\"user\":\"$1\"" "$work/sim/requests.log" | grep -F "\"verb\":\"$2\"" |
		grep -F "\"resource\":\"$3\"" | grep -qF '"subresource":""'
}

start_controller() {
	"$L2LB_BUILD/bin/l2lb-controller" --kubeconfig "$work/ctl.kubeconfig" --namespace $NS \
		--identity "$1" --metrics-addr '' --lease-duration 2s --renew-deadline 1500ms \
		--retry-period 500ms >>"$work/controller-$1.log" 2>&1 </dev/null &
	echo $! >"$work/controller-$1.pid"
}
start_speaker() {
	"$L2LB_BUILD/bin/l2lb-speaker" --kubeconfig "$work/spk.kubeconfig" --namespace $NS \
		--node-name "$1" --metrics-addr '' --dry-run "$work/dry-$1" \
		--lease-duration 3s --lease-renew-deadline 2s --lease-renew-interval 1s \
		--lease-retry-period 500ms >>"$work/speaker-$1.log" 2>&1 </dev/null &
	echo $! >"$work/speaker-$1.pid"
}
stop() { # stop KIND NAME SIGNAL: signal it and wait until it is gone
	_pid=$(cat "$work/$1-$2.pid")
	kill -"$3" "$_pid" 2>/dev/null
	t_wait 15 sh -c "! kill -0 $_pid 2>/dev/null"
	wait "$_pid" 2>/dev/null
	rm -f "$work/$1-$2.pid"
}

start_controller c1
start_controller c2
for n in node1 node2 node3; do
	start_speaker $n
done

service web
t_check "web gets an address" "none in 20 s" t_wait 20 ingress web
t_check "a speaker announces web" "no ServiceL2Status in 20 s" t_wait 20 has_holder web
service first tiny
t_check "first gets the tiny pool's address" "none in 20 s" t_wait 20 ingress first
# Failures the controller records as Warning Events on "second": the pool is full, then a pool
# that does not exist, full again, missing again; the repeat bumps the first Event (a patch).
service second tiny
t_check "second: the controller records an Event" "none in 10 s" \
	t_wait 10 seen "$CTL_USER" create events
# failures N: the controllers have logged at least N allocation failures of "second" (each step
# must be seen before the next, or the controller could skip one).
failures() {
	[ "$(cat "$work"/controller-*.log | grep 'allocation failed' | grep -c 'default/second')" -ge "$1" ]
}
n=1
for p in nope tiny nope; do
	kubectl annotate svc second metallb.io/address-pool=$p --overwrite >/dev/null
	n=$((n + 1))
	t_wait 10 failures $n || t_fail "second: failure $n ($p) is seen" "$(tail -n 3 "$work"/controller-*.log)"
done
t_check "second: the repeat patches the Event" "no patch in 10 s" \
	t_wait 10 seen "$CTL_USER" patch events

# A write conflict: the controller's status write for "racy" is held back 1.5 s while the
# service is annotated; the write gets 409 and the controller reads the service again (get).
curl -s -X POST -d '{"latencyMs": 1500, "verbs": ["update"], "pathRegex": "services/racy/status"}' \
	"$ADMIN/kubesim/faults" >/dev/null
service racy
i=0
while [ $i -lt 40 ] && ! seen "$CTL_USER" get services; do
	kubectl annotate svc racy touch=$i --overwrite >/dev/null
	i=$((i + 1))
done
t_check "a status write that lost a conflict is re-read (get services)" "no get after $i edits" \
	seen "$CTL_USER" get services
curl -s -X DELETE "$ADMIN/kubesim/faults" >/dev/null
t_check "racy gets an address" "none in 20 s" t_wait 20 ingress racy

# Leader handover: the acting replica stops; the other takes the lease.
leader=$(kubectl get lease l2lb-controller -n $NS -o 'jsonpath={.spec.holderIdentity}')
[ -n "$leader" ] && stop controller "$leader" TERM
service after-handover
t_check "after the leader stops, the other replica assigns" "none in 20 s" \
	t_wait 20 ingress after-handover
start_controller "$leader"

# A repeat Event from a speaker: web moves from its holder to a second node and back (each time
# the only node allowed), so the holder's second nodeAssigned bumps its first (a patch).
EXCL=node.kubernetes.io/exclude-from-external-load-balancers
h=$(holder web)
o= x=
for n in node1 node2 node3; do
	[ "$n" = "$h" ] && continue
	[ -z "$o" ] && o=$n || x=$n
done
holder_is() {
	[ "$(holder web)" = "$1" ]
}
kubectl label node "$x" "$EXCL=" --overwrite >/dev/null
kubectl label node "$h" "$EXCL=" --overwrite >/dev/null
t_check "web moves to $o when $h is excluded" "held by '$(holder web)'" t_wait 20 holder_is "$o"
kubectl label node "$h" "$EXCL-" >/dev/null
kubectl label node "$o" "$EXCL=" --overwrite >/dev/null
t_check "web's holder announces it again: the repeat patches its Event" "no patch in 20 s" \
	t_wait 20 seen "$SPK_USER" patch events
kubectl label node "$o" "$EXCL-" >/dev/null
kubectl label node "$x" "$EXCL-" >/dev/null
t_check "web is back on $h" "held by '$(holder web)'" t_wait 20 holder_is "$h"

# Speakers: the holder is stopped (leases released), then killed (leases expire), and restarted.
h=$(holder web)
stop speaker "$h" TERM
moved() {
	_n=$(holder web)
	[ -n "$_n" ] && [ "$_n" != "$h" ]
}
t_check "web moves after its holder's SIGTERM" "no other node holds it after 20 s" t_wait 20 moved
start_speaker "$h"
h=$(holder web)
if [ -n "$h" ] && [ -s "$work/speaker-$h.pid" ]; then
	stop speaker "$h" KILL
	t_check "web moves after its holder is killed" "no other node holds it after 20 s" t_wait 20 moved
	start_speaker "$h"
else
	t_fail "web has a holder to kill" "holder '$h'"
fi

# externalTrafficPolicy Local: only the node with the backend announces. The backend moves to
# node2 and back: node1's speaker records the same Event again (a patch). Then node1's speaker
# is killed and restarted at once: its ServiceL2Status is still there, so the new process finds
# it on create (409) and patches its labels.
is_holder() {
	[ "$(holder "$1")" = "$2" ]
}
service loc "" Local node1
t_check "Local: node1, the only node with a backend, announces loc" "holder '$(holder loc)'" \
	t_wait 20 is_holder loc node1
service loc "" Local node2
t_check "Local: loc follows its backend to node2" "still not node2 after 20 s" \
	t_wait 20 is_holder loc node2
service loc "" Local node1
t_check "Local: and back to node1" "still not node1 after 20 s" t_wait 20 is_holder loc node1
t_check "node1's repeated Event is a patch" "no patch in 10 s" \
	t_wait 10 seen "$SPK_USER" patch events
stop speaker node1 KILL
start_speaker node1
t_check "a restarted speaker takes over its own ServiceL2Status (patch)" "no patch in 20 s" \
	t_wait 20 seen "$SPK_USER" patch servicel2statuses

# A deleted service: its ServiceL2Status and ownership lease are deleted.
kubectl delete svc web >/dev/null
t_check "web's ServiceL2Status is deleted with the service" "still there after 20 s" \
	t_wait 20 no_status web
t_check "web's ownership lease is deleted with the service" "no delete in 20 s" \
	t_wait 20 seen "$SPK_USER" delete leases

for f in "$work"/speaker-*.pid "$work"/controller-*.pid; do
	[ -s "$f" ] || continue
	k=${f##*/}
	k=${k%.pid}
	stop "${k%%-*}" "${k#*-}" TERM
done
# Counted once every daemon has stopped, so their last requests (lease releases) are in.
kubectl create -f deploy/l2lb.yaml --dry-run=client -o json >"$work/objects.json" 2>"$work/err" ||
	t_fail "deploy/l2lb.yaml converts to JSON" "$(cat "$work/err")"
python3 test/deploy/rbac.py "$work/objects.json" "$work/sim/requests.log" \
	"$CTL_USER=$NS/l2lb-controller" "$SPK_USER=$NS/l2lb-speaker" \
	--rare "get services,patch events,patch servicel2statuses.metallb.io,delete leases.coordination.k8s.io" \
	>"$work/rbac.out"
# The comparison can fail both ways: a grant taken away shows as a refused request, one added
# as an unused grant.
for v in less:"every request of l2lb-speaker is allowed" more:"every rule of l2lb-speaker is used"; do
	python3 test/deploy/rbac.py --mutate "$work/objects.json" "$work/${v%%:*}.json" "${v%%:*}"
	python3 test/deploy/rbac.py "$work/${v%%:*}.json" "$work/sim/requests.log" \
		"$SPK_USER=$NS/l2lb-speaker" >"$work/variant.out"
	if grep -q "^fail|${v#*:}" "$work/variant.out"; then
		t_ok "rbac.py notices a rule granting ${v%%:*} verbs than used"
	else
		t_fail "rbac.py notices a rule granting ${v%%:*} verbs than used" "$(cat "$work/variant.out")"
	fi
done
while IFS='|' read -r verdict name why; do
	case $verdict in
	ok)
		t_ok "$name"
		[ -n "$why" ] && echo "     $why"
		;;
	*) t_fail "$name" "$why" ;;
	esac
done <"$work/rbac.out"
t_summary
