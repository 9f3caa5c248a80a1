#!/bin/sh
# check-controller.sh: l2lb-controller against kubesim (HTTPS, token), driven with kubectl:
# pools and services from YAML, ingress IPs, annotations, Events, pool status, restart safety,
# two replicas with one acting, a pool deleted in use, a bad pool refused while others work.
set -u
: "${L2LB_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${L2LB_BUILD:=$L2LB_TOP/build}"
. "$L2LB_TOP/test/lib.sh"

CTL=$L2LB_BUILD/bin/l2lb-controller
if ! command -v kubectl >/dev/null 2>&1; then
	echo "skip: kubectl not found"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
fi
if [ ! -x "$CTL" ]; then
	echo "skip: $CTL not built"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/l2lb-ctl.$$.XXXXXX")
PIDS=""
cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $PIDS; do
		t_wait 5 sh -c "! kill -0 $p" || kill -9 "$p" 2>/dev/null
	done
	kubesim_stop
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

kubesim_start "$WORK/sim" || {
	echo "FAIL kubesim did not start"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}
K() { kubectl "$@"; }
NS=l2lb-system

# start_ctl NAME: runs a replica with fast lease timings; its pid goes to $WORK/NAME.pid.
start_ctl() {
	"$CTL" --kubeconfig "$KUBECONFIG" --namespace $NS --identity "$1" --metrics-addr 127.0.0.1:0 \
		--lease-duration 3s --renew-deadline 2s --retry-period 500ms --log-level debug \
		>>"$WORK/$1.log" 2>&1 &
	echo $! >"$WORK/$1.pid"
	PIDS="$PIDS $!"
}
stop_ctl() { # NAME [SIGNAL]; returns the exit status
	_p=$(cat "$WORK/$1.pid")
	kill "-${2:-TERM}" "$_p" 2>/dev/null
	wait "$_p" 2>/dev/null
}

ingress() { K get svc "$1" -o jsonpath='{.status.loadBalancer.ingress[*].ip}' 2>/dev/null; }
ingress_is() { [ "$(ingress "$1")" = "$2" ]; }
pool_ann() { K get svc "$1" -o jsonpath='{.metadata.annotations.metallb\.io/ip-allocated-from-pool}'; }
# event_on KIND/NAME REASON [TEXT]: an Event with that reason (and message text) on the object
events() {
	K get events -A -o jsonpath='{range .items[*]}{.involvedObject.kind}/{.involvedObject.name} {.type} {.reason} {.reportingInstance} {.message}{"\n"}{end}'
}
event_on() { events | grep "^$1 [A-Za-z]* $2 " | grep -q -- "${3:-}"; }
holder() { K get lease -n $NS l2lb-controller -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }

# svc NAME [ANNOTATIONS...] -- [SPEC LINES...]: a LoadBalancer service from YAML
svc() {
	_name=$1
	shift
	{
		echo "apiVersion: v1"
		echo "kind: Service"
		echo "metadata:"
		echo "  name: $_name"
		echo "  namespace: default"
		echo "  annotations:"
		echo "    test: \"1\""
		while [ $# -gt 0 ] && [ "$1" != -- ]; do
			echo "    $1"
			shift
		done
		[ $# -gt 0 ] && shift
		echo "spec:"
		echo "  type: LoadBalancer"
		echo "  selector: {app: $_name}"
		_ports=0
		for l in "$@"; do
			case $l in ports:*) _ports=1 ;; esac
			echo "  $l"
		done
		[ $_ports = 1 ] || echo "  ports: [{port: 80, protocol: TCP}]"
	} >"$WORK/svc-$_name.yaml"
	K apply -f "$WORK/svc-$_name.yaml" >/dev/null
}

check() { # NAME CMD...: one result
	_n=$1
	shift
	if "$@"; then t_ok "$_n"; else t_fail "$_n" "$(echo "$*" | cut -c1-120)"; fi
}
wait_check() { # NAME SECONDS CMD...
	_n=$1
	_s=$2
	shift 2
	if t_wait "$_s" "$@"; then t_ok "$_n"; else t_fail "$_n" "timed out: $(echo "$*" | cut -c1-120)"; fi
}

HAVE_CURL=0
command -v curl >/dev/null 2>&1 && HAVE_CURL=1
faults() { curl -sk -X POST "$KUBESIM_URL/kubesim/faults" -d "$1" >/dev/null; }
# metrics_port NAME: the port the replica's latest run serves /metrics on
metrics_port() { sed -n 's/.*serving.*port=\([0-9]*\).*/\1/p' "$WORK/$1.log" | tail -1; }
# mval NAME 'series{labels}': its value on the replica's /metrics (0 when absent)
mval() {
	curl -s "http://127.0.0.1:$(metrics_port "$1")/metrics" |
		awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) }'
}
# mis NAME 'series{labels}' VALUE: the series has that value now
mis() { [ "$(mval "$1" "$2")" = "$3" ]; }

# ---- flags ----
"$CTL" --help >"$WORK/help" 2>&1
ok=1
for f in --kubeconfig --namespace --lb-class --log-level --lease-duration --renew-deadline \
	--retry-period --metrics-addr --qps --burst --identity; do
	grep -q -- "$f" "$WORK/help" || ok=0
done
check "--help documents every flag" [ $ok = 1 ]
"$CTL" --frobnicate >"$WORK/bad" 2>&1
rc=$?
check "unknown flag: exit 2, one line" [ $rc = 2 ] && [ "$(wc -l <"$WORK/bad")" = 1 ]

# ---- set-up: CRDs and pools from YAML ----
crd_files=""
for f in "$L2LB_TOP"/deploy/crds/*.yaml; do
	case $f in */kustomization.yaml) ;; *) crd_files="$crd_files -f $f" ;; esac
done
# shellcheck disable=SC2086
K apply $crd_files >/dev/null || {
	t_fail "CRDs apply" "kubectl apply deploy/crds failed"
	t_summary
	exit 1
}
K create namespace $NS >/dev/null
cat >"$WORK/pools.yaml" <<EOF
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lan, namespace: $NS}
spec:
  addresses: [192.0.2.200-192.0.2.219, "2001:db8::200-2001:db8::20f"]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: manual, namespace: $NS}
spec:
  addresses: [198.51.100.10-198.51.100.19]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: lan-only, namespace: $NS}
spec:
  ipAddressPools: [lan]
EOF
check "pools applied with kubectl" sh -c "kubectl apply -f '$WORK/pools.yaml' >/dev/null"

# Service lists fail at first: the replica takes the lease but cannot sync, so /readyz must say 503 until they work.
[ $HAVE_CURL = 1 ] && faults '{"errorRate":1,"errorCode":500,"verbs":["list"],"pathRegex":"^/api/v1/services$"}'
start_ctl a
wait_check "replica a takes the lease" 30 sh -c "[ \"\$(kubectl get lease -n $NS l2lb-controller -o jsonpath='{.spec.holderIdentity}')\" = a ]"

# ---- metrics and health ----
if [ $HAVE_CURL = 1 ]; then
	port=$(metrics_port a)
	not_synced() {
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 503 ] &&
			curl -s "http://127.0.0.1:$port/readyz" | grep -q 'not synced'
	}
	wait_check "/readyz 503 'informers not synced' while services cannot be listed" 20 not_synced
	check "... though this replica already holds the lease" [ "$(holder)" = a ]
	faults '{"errorRate":0,"verbs":[]}'
	wait_check "/readyz answers ready once synced" 30 sh -c "curl -sf http://127.0.0.1:$port/readyz"
	check "... and the allocations were rebuilt by then" grep -q 'allocations rebuilt from service statuses' "$WORK/a.log"
	wait_check "/metrics says this replica acts" 20 sh -c "curl -s http://127.0.0.1:$port/metrics | grep -q '^l2lb_controller_acting 1'"
else
	t_skip "metrics" "curl not found"
fi

# ---- basic allocation ----
svc web1
wait_check "first service gets the lowest address" 30 ingress_is web1 192.0.2.200
check "ip-allocated-from-pool annotation" [ "$(pool_ann web1)" = lan ]
wait_check "IPAllocated event" 20 event_on Service/web1 IPAllocated 192.0.2.200

# ---- requested addresses and precedence ----
svc req1 "metallb.io/loadBalancerIPs: 192.0.2.205"
wait_check "metallb.io/loadBalancerIPs honoured" 20 ingress_is req1 192.0.2.205
svc req2 "metallb.universe.tf/loadBalancerIPs: 192.0.2.206"
wait_check "metallb.universe.tf/loadBalancerIPs honoured" 20 ingress_is req2 192.0.2.206
wait_check "deprecated prefix: Warning event naming the new one" 20 \
	event_on Service/req2 DeprecatedAnnotation "use metallb.io/loadBalancerIPs"
svc req3 "metallb.io/loadBalancerIPs: 192.0.2.207" "metallb.universe.tf/loadBalancerIPs: 192.0.2.208"
wait_check "metallb.io wins over metallb.universe.tf" 20 ingress_is req3 192.0.2.207
svc req4 -- "loadBalancerIP: 192.0.2.204"
wait_check "spec.loadBalancerIP honoured" 20 ingress_is req4 192.0.2.204
wait_check "spec.loadBalancerIP: deprecation Warning" 20 event_on Service/req4 DeprecatedAnnotation loadBalancerIP
svc req5 "metallb.io/loadBalancerIPs: 203.0.113.9"
wait_check "requested address in no pool: AllocationFailed" 20 \
	event_on Service/req5 AllocationFailed "not in any"
check "... and no ingress" [ -z "$(ingress req5)" ]

# ---- address-pool, both prefixes; a pool without L2Advertisement ----
svc man1 "metallb.io/address-pool: manual"
wait_check "metallb.io/address-pool picks a manual pool" 20 ingress_is man1 198.51.100.10
check "annotation names that pool" [ "$(pool_ann man1)" = manual ]
wait_check "pool without L2Advertisement: NotAnnounced warning" 20 event_on Service/man1 NotAnnounced manual
svc man2 "metallb.universe.tf/address-pool: manual"
wait_check "metallb.universe.tf/address-pool honoured" 20 ingress_is man2 198.51.100.11
wait_check "... with a deprecation Warning" 20 event_on Service/man2 DeprecatedAnnotation address-pool
svc man3 "metallb.io/address-pool: nosuch"
wait_check "unknown address-pool: AllocationFailed" 20 event_on Service/man3 AllocationFailed nosuch

# ---- sharing ----
svc sha "metallb.io/allow-shared-ip: k1" "metallb.io/loadBalancerIPs: 192.0.2.209" -- \
	"ports: [{port: 80, protocol: TCP}]"
svc shb "metallb.universe.tf/allow-shared-ip: k1" "metallb.io/loadBalancerIPs: 192.0.2.209" -- \
	"ports: [{port: 443, protocol: TCP}]"
wait_check "allow-shared-ip: same key, other port shares" 20 ingress_is shb 192.0.2.209
check "... the first keeps it" ingress_is sha 192.0.2.209
svc shc "metallb.io/allow-shared-ip: k1" "metallb.io/loadBalancerIPs: 192.0.2.209" -- \
	"ports: [{port: 80, protocol: TCP}]"
wait_check "allow-shared-ip: same port refused" 20 event_on Service/shc AllocationFailed 192.0.2.209
svc shd "metallb.io/allow-shared-ip: other" "metallb.io/loadBalancerIPs: 192.0.2.209" -- \
	"ports: [{port: 8080, protocol: TCP}]"
wait_check "allow-shared-ip: different key refused" 20 event_on Service/shd AllocationFailed 192.0.2.209
check "... refused services have no ingress" [ -z "$(ingress shc)$(ingress shd)" ]

# ---- families ----
svc dual1 -- "ipFamilyPolicy: RequireDualStack" "ipFamilies: [IPv4, IPv6]"
wait_check "RequireDualStack: both from one pool, IPv4 first" 20 ingress_is dual1 "192.0.2.201 2001:db8::200"
svc dual2 -- "ipFamilyPolicy: PreferDualStack" "ipFamilies: [IPv6, IPv4]"
wait_check "PreferDualStack IPv6-primary: IPv4 still listed first" 20 ingress_is dual2 "192.0.2.202 2001:db8::201"
svc six -- "ipFamilyPolicy: SingleStack" "ipFamilies: [IPv6]"
wait_check "SingleStack IPv6: one IPv6 address" 20 ingress_is six "2001:db8::202"
svc dualman "metallb.io/address-pool: manual" -- "ipFamilyPolicy: RequireDualStack" "ipFamilies: [IPv4, IPv6]"
wait_check "RequireDualStack from an IPv4-only pool fails" 20 event_on Service/dualman AllocationFailed IPv6

# ---- load balancer class ----
svc other -- "loadBalancerClass: example.com/other"
svc after1
wait_check "a later service is served" 20 ingress_is after1 192.0.2.203
check "another class is left alone" [ -z "$(ingress other)" ]

# ---- requested address changes ----
K annotate svc req1 --overwrite metallb.io/loadBalancerIPs=192.0.2.200 >/dev/null
wait_check "change to an address in use: AllocationFailed" 20 event_on Service/req1 AllocationFailed "in use"
check "... and the old address is kept" ingress_is req1 192.0.2.205
K annotate svc req1 --overwrite metallb.io/loadBalancerIPs=198.51.100.15 >/dev/null
wait_check "change to a free address moves it (another pool)" 20 ingress_is req1 198.51.100.15
wait_check "... annotation follows" 20 sh -c "[ \"\$(kubectl get svc req1 -o jsonpath='{.metadata.annotations.metallb\.io/ip-allocated-from-pool}')\" = manual ]"

# ---- type change and delete free the address ----
K patch svc web1 --type merge -p '{"spec":{"type":"ClusterIP","allocateLoadBalancerNodePorts":null}}' >/dev/null 2>&1 ||
	K patch svc web1 --type merge -p '{"spec":{"type":"ClusterIP"}}' >/dev/null
wait_check "type ClusterIP: ingress cleared" 20 sh -c "[ -z \"\$(kubectl get svc web1 -o jsonpath='{.status.loadBalancer.ingress}')\" ]"
wait_check "... and the annotation removed" 20 sh -c "[ -z \"\$(kubectl get svc web1 -o jsonpath='{.metadata.annotations.metallb\.io/ip-allocated-from-pool}')\" ]"
svc after2
wait_check "the freed address is handed out again" 20 ingress_is after2 192.0.2.200
K delete svc req4 >/dev/null
svc after3 "metallb.io/loadBalancerIPs: 192.0.2.204"
wait_check "a deleted service's address is free" 20 ingress_is after3 192.0.2.204

# ---- pool status ----
v4=$(K get svc -o jsonpath='{range .items[*]}{.status.loadBalancer.ingress[*].ip}{" "}{end}' |
	tr ' ' '\n' | grep '^192\.0\.2\.' | sort -u | wc -l)
pool_status_ok() {
	[ "$(K get ipaddresspool -n $NS lan -o jsonpath='{.status.assignedIPv4}/{.status.availableIPv4}/{.status.assignedIPv6}/{.status.availableIPv6}')" = "$v4/$((20 - v4))/3/13" ]
}
wait_check "IPAddressPool status: assigned/available per family" 20 pool_status_ok

# ---- malformed pool refused, others keep working ----
cat >"$WORK/bad.yaml" <<EOF
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: overlapping, namespace: $NS}
spec:
  addresses: [192.0.2.218/31]
EOF
K apply -f "$WORK/bad.yaml" >/dev/null
wait_check "overlapping pool refused with an Event" 20 event_on IPAddressPool/overlapping InvalidConfiguration overlap
svc after4
wait_check "other pools keep working" 20 ingress_is after4 192.0.2.205

# ---- metrics against what the test did ----
api_ok() { # every verb the controller used was answered, never more often than kubesim counted
	python3 - "$WORK/metrics.a" "$WORK/stats.json" <<'PY'
import json, re, sys
ours = {}
for line in open(sys.argv[1]):
    m = re.match(r'l2lb_controller_api_requests_total\{code="(\d+)",verb="(\w+)"\} (\d+)', line)
    if m is None:
        m2 = re.match(r'l2lb_controller_api_requests_total\{verb="(\w+)",code="(\d+)"\} (\d+)', line)
        if m2 is None:
            continue
        verb, code, n = m2.group(1), m2.group(2), int(m2.group(3))
    else:
        code, verb, n = m.group(1), m.group(2), int(m.group(3))
    if code != "0":
        ours[verb] = ours.get(verb, 0) + n
sim = json.load(open(sys.argv[2]))["byVerb"]
bad = [v for v in ("list", "update", "patch", "create") if ours.get(v, 0) == 0]
bad += [v for v, n in ours.items() if n > sim.get(v, 0)]
if bad:
    print("verbs:", bad, "ours:", ours, "kubesim:", sim)
sys.exit(1 if bad else 0)
PY
}
if [ $HAVE_CURL = 1 ]; then
	lan_used=$(K get svc -A -o jsonpath='{range .items[*]}{.status.loadBalancer.ingress[*].ip}{" "}{end}' |
		tr ' ' '\n' | sort -u | grep -c -e '^192\.0\.2\.2[01][0-9]$' -e '^2001:db8::20[0-9a-f]$')
	wait_check "metallb_allocator_addresses_in_use_total{pool=lan} = lan addresses in the statuses ($lan_used)" 20 \
		mis a 'metallb_allocator_addresses_in_use_total{pool="lan"}' "$lan_used"
	check "metallb_allocator_addresses_total: 20 IPv4 + 16 IPv6 in lan" \
		mis a 'metallb_allocator_addresses_total{pool="lan"}' 36
	check "... and 10 in manual" mis a 'metallb_allocator_addresses_total{pool="manual"}' 10
	a0=$(mval a 'l2lb_controller_allocations_total{pool="lan"}')
	svc alloc1
	svc alloc2
	wait_check "two more services served" 20 sh -c "[ -n \"\$(kubectl get svc alloc1 -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" ] && [ -n \"\$(kubectl get svc alloc2 -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" ]"
	check "l2lb_controller_allocations_total{pool=lan} counts exactly those two" \
		mis a 'l2lb_controller_allocations_total{pool="lan"}' $((a0 + 2))
	wait_check "... and addresses in use follow" 20 \
		mis a 'metallb_allocator_addresses_in_use_total{pool="lan"}' $((lan_used + 2))
	K delete svc alloc1 alloc2 >/dev/null # lan is small: leave room for the sections below
	printf '%s\n' "apiVersion: metallb.io/v1beta1" "kind: IPAddressPool" \
		"metadata: {name: one, namespace: $NS}" \
		"spec: {addresses: [198.51.100.30/32], autoAssign: false}" >"$WORK/one.yaml"
	K apply -f "$WORK/one.yaml" >/dev/null
	f0=$(mval a 'l2lb_controller_allocation_failures_total{reason="pool-exhausted"}')
	svc ex1 "metallb.io/address-pool: one"
	wait_check "a one-address pool serves one service" 20 ingress_is ex1 198.51.100.30
	svc ex2 "metallb.io/address-pool: one"
	wait_check "the second is refused: pool exhausted" 20 event_on Service/ex2 AllocationFailed exhausted
	check "allocation_failures_total{reason=pool-exhausted} counts that one failure" \
		mis a 'l2lb_controller_allocation_failures_total{reason="pool-exhausted"}' $((f0 + 1))
	n=$(mval a l2lb_controller_reconcile_duration_seconds_count)
	check "reconcile latency histogram: 12 fixed buckets and +Inf, every reconcile counted" \
		sh -c "[ $n -gt 10 ] && [ \"\$(curl -s http://127.0.0.1:$(metrics_port a)/metrics | grep -c '^l2lb_controller_reconcile_duration_seconds_bucket')\" = 13 ]"
	curl -s "http://127.0.0.1:$(metrics_port a)/metrics" >"$WORK/metrics.a"
	curl -sk "$KUBESIM_URL/kubesim/stats" >"$WORK/stats.json"
	check "API requests: list, update, patch, create counted; none beyond kubesim's count" api_ok
	check "watch restarts are exported per resource" \
		grep -q '^l2lb_controller_watch_restarts_total{resource="services"}' "$WORK/metrics.a"
	check "the service lists refused at start are counted with their code" \
		grep -q '^l2lb_controller_api_requests_total{verb="list",code="500"} [1-9]' "$WORK/metrics.a"
	check "this replica is the leader" grep -q '^l2lb_controller_acting 1' "$WORK/metrics.a"
	check "metallb_k8s_client_config_loaded_bool 1" grep -q '^metallb_k8s_client_config_loaded_bool 1$' "$WORK/metrics.a"
	check "metallb_k8s_client_config_stale_bool 1 while the overlapping pool is refused" \
		grep -q '^metallb_k8s_client_config_stale_bool 1$' "$WORK/metrics.a"
	check "metallb_k8s_client_updates_total counts watch events" \
		grep -q '^metallb_k8s_client_updates_total [1-9]' "$WORK/metrics.a"
else
	t_skip "metrics against the test" "curl not found"
fi

# ---- serviceAllocation namespaceSelectors; a namespace's labels re-evaluate its services ----
cat >"$WORK/team.yaml" <<EOF
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: team, namespace: $NS}
spec:
  addresses: [198.51.100.50-198.51.100.59]
  serviceAllocation:
    priority: 1
    namespaceSelectors: [{matchLabels: {team: a}}]
---
apiVersion: v1
kind: Namespace
metadata: {name: teama, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: teamc}
EOF
K apply -f "$WORK/team.yaml" >/dev/null
team_svc() { # NAMESPACE NAME [ANNOTATION]
	cat <<EOF | K apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata:
  name: $2
  namespace: $1
  annotations: {${3:-}}
spec:
  type: LoadBalancer
  ports: [{port: 80, protocol: TCP}]
EOF
}
ns_ingress_is() { [ "$(K get svc -n "$1" "$2" -o jsonpath='{.status.loadBalancer.ingress[*].ip}')" = "$3" ]; }
team_svc teama t1
wait_check "namespaceSelectors: the team's pool comes first (priority)" 20 ns_ingress_is teama t1 198.51.100.50
team_svc teamc t2 '"metallb.io/address-pool": team'
wait_check "a pool whose namespaceSelectors exclude the service: AllocationFailed" 20 \
	event_on Service/t2 AllocationFailed serviceAllocation
K label namespace teamc team=a >/dev/null
wait_check "labelling its namespace lets the service in" 20 ns_ingress_is teamc t2 198.51.100.51

# ---- an L2Advertisement with serviceSelectors forbids allow-shared-ip ----
cat >"$WORK/sel.yaml" <<EOF
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: exposed, namespace: $NS}
spec:
  ipAddressPools: [lan]
  serviceSelectors: [{matchLabels: {expose: "yes"}}]
EOF
K apply -f "$WORK/sel.yaml" >/dev/null
cat <<EOF | K apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata:
  name: selshared
  namespace: default
  labels: {expose: "yes"}
  annotations: {metallb.io/allow-shared-ip: k9}
spec:
  type: LoadBalancer
  ports: [{port: 80, protocol: TCP}]
EOF
wait_check "serviceSelectors + allow-shared-ip: AllocationFailed" 20 event_on Service/selshared AllocationFailed allow-shared-ip
K delete l2advertisement -n $NS exposed >/dev/null

# ---- a failing status write is retried until it lands ----
if [ $HAVE_CURL = 1 ]; then
	faults '{"errorRate":1,"errorCode":500,"verbs":["update"],"pathRegex":"services/flaky/status"}'
	svc flaky
	wait_check "status write refused by the API: logged, retried" 20 grep -q 'service write failed; will retry.*default/flaky' "$WORK/a.log"
	faults '{"errorRate":0}'
	wait_check "... and written once the API accepts it" 30 sh -c "[ -n \"\$(kubectl get svc flaky -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" ]"
	check "... each refusal counted in metallb_k8s_client_update_errors_total" \
		[ "$(mval a metallb_k8s_client_update_errors_total)" -gt 0 ]
else
	t_skip "status write retried" "curl not found (kubesim fault injection)"
fi

# ---- a status write that conflicts (409) is re-read, decided again and written ----
# kubesim delays watch events, so the controller decides on the service as created while the
# test has already changed it: its status write carries a stale resourceVersion and gets 409.
if [ $HAVE_CURL = 1 ]; then
	c0=$(mval a 'l2lb_controller_api_requests_total{verb="update",code="409"}')
	faults '{"errorRate":0,"verbs":[],"pathRegex":"","watchLatencyMs":3000}'
	i=0
	races=""
	while [ $i -lt 3 ] && mis a 'l2lb_controller_api_requests_total{verb="update",code="409"}' "$c0"; do
		i=$((i + 1))
		races="$races race$i"
		svc "race$i"
		K annotate svc "race$i" touched=yes >/dev/null
		t_wait 20 sh -c "[ -n \"\$(kubectl get svc race$i -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" ]"
	done
	faults '{"watchLatencyMs":0}'
	c1=$(mval a 'l2lb_controller_api_requests_total{verb="update",code="409"}')
	check "a status write with a stale resourceVersion got 409 (services tried: $i)" [ "$c1" != "$c0" ]
	check "... kubesim answered 409 too" sh -c "curl -sk $KUBESIM_URL/kubesim/stats | grep -q '\"409\"'"
	wait_check "... the controller re-read and wrote the address" 20 \
		sh -c "[ -n \"\$(kubectl get svc race$i -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" ]"
	check "... keeping the change made meanwhile" \
		[ "$(K get svc "race$i" -o jsonpath='{.metadata.annotations.touched}')" = yes ]
	wait_check "... and the pool annotation" 20 sh -c "[ \"\$(kubectl get svc race$i -o jsonpath='{.metadata.annotations.metallb\.io/ip-allocated-from-pool}')\" = lan ]"
	check "... one address, not two" [ "$(ingress "race$i" | wc -w)" = 1 ]
	K delete svc $races >/dev/null
else
	t_skip "409 on status write" "curl not found (kubesim fault injection)"
fi

# ---- sharing with externalTrafficPolicy Local: only services selecting the same pods ----
local_svc() { # NAME PORT APP
	cat <<EOF | K apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata:
  name: $1
  namespace: default
  annotations: {metallb.io/allow-shared-ip: k5, metallb.io/loadBalancerIPs: 198.51.100.17}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: $3}
  ports: [{port: $2, protocol: TCP}]
EOF
}
local_svc loca 80 shared
wait_check "Local service with allow-shared-ip gets its address" 20 ingress_is loca 198.51.100.17
local_svc locb 443 shared
wait_check "Local services selecting the same pods share it" 20 ingress_is locb 198.51.100.17
local_svc locc 8443 other
wait_check "a Local service selecting other pods is refused" 20 \
	event_on Service/locc AllocationFailed sharing-policy-mismatch
check "... the Event names the holder and the address" event_on Service/locc AllocationFailed "198.51.100.17 is in use by default/loca"
check "... and it has no ingress" [ -z "$(ingress locc)" ]

# ---- restart: nothing moves ----
snapshot() {
	K get svc -o jsonpath='{range .items[*]}{.metadata.name}={.status.loadBalancer.ingress[*].ip}@{.metadata.annotations.metallb\.io/ip-allocated-from-pool}{"\n"}{end}' | sort
}
# The status and the pool annotation are two writes: take the snapshot once every service that
# has an address also has its annotation, or a restart would seem to move what was in flight.
settled() {
	! snapshot | grep -q '=[^@][^@]*@$'
}
wait_check "before the restart every address has its pool annotation" 20 settled
svc holdbad
wait_check "holdbad is served before the restart" 20 sh -c "[ -n \"\$(kubectl get svc holdbad -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" ]"
wait_check "... and annotated" 20 settled
held=$(ingress holdbad)
snapshot >"$WORK/before"
stop_ctl a
check "SIGTERM: exit 0" [ $? = 0 ]
check "SIGTERM: lease released" [ -z "$(holder)" ]
# While it is down: a new service, and a newer service whose status claims req3's address.
svc late
svc thief
K patch svc thief --subresource=status --type merge \
	-p '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.207"}]}}}' >/dev/null
# holdbad's requested address cannot be read: its held address must still be taken back first,
# though it is the lowest address the new services could get if it were free.
K annotate svc holdbad metallb.io/loadBalancerIPs=not-an-ip >/dev/null
svc grab
grep -v '^late=\|^thief=' "$WORK/before" >"$WORK/before.cmp"
start_ctl a
wait_check "after restart the new service is served" 30 sh -c "[ -n \"\$(kubectl get svc late -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" ]"
wait_check "conflict reported on the newer service" 20 event_on Service/thief AllocationConflict default/req3
wait_check "the newer gets another address" 20 sh -c "ip=\$(kubectl get svc thief -o jsonpath='{.status.loadBalancer.ingress[*].ip}'); [ -n \"\$ip\" ] && [ \"\$ip\" != 192.0.2.207 ]"
wait_check "grab is served after the restart" 30 sh -c "[ -n \"\$(kubectl get svc grab -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" ]"
wait_check "unreadable loadBalancerIPs after the restart: AllocationFailed" 20 \
	event_on Service/holdbad AllocationFailed loadBalancerIPs
check "... and it keeps its address ($held)" ingress_is holdbad "$held"
check "no new service got holdbad's address" \
	sh -c "[ \"\$(kubectl get svc -o jsonpath='{range .items[*]}{.status.loadBalancer.ingress[*].ip}{\"\\n\"}{end}' | grep -cx '$held')\" = 1 ]"
snapshot | grep -v '^late=\|^thief=\|^grab=' >"$WORK/after"
check "restart moved nothing" cmp -s "$WORK/before.cmp" "$WORK/after"
check "the new service did not take a held address" sh -c "! grep -q \"=$(ingress late)@\" '$WORK/before.cmp'"
K delete svc holdbad grab >/dev/null

# ---- a pool change re-evaluates only that pool's services and those still waiting ----
from=$(wc -l <"$WORK/a.log")
K label ipaddresspool -n $NS manual touched=yes >/dev/null
wait_check "a pool change is logged with the services it re-evaluates" 20 \
	sh -c "tail -n +$((from + 1)) '$WORK/a.log' | grep -q 're-evaluating its services'"
man1_reconciled() { tail -n +$((from + 1)) "$WORK/a.log" | grep -q 'reconciled.*service=default/man1 '; }
wait_check "... manual's services are re-evaluated" 20 man1_reconciled
total=$(K get svc -A --no-headers | wc -l)
requeued=$(tail -n +$((from + 1)) "$WORK/a.log" | sed -n 's/.*re-evaluating its services.*services=\([0-9]*\).*/\1/p' | tail -1)
check "... fewer than all $total services (re-evaluated: $requeued)" [ "${requeued:-$total}" -lt "$total" ]
check "... but lan's settled services are not" \
	sh -c "! tail -n +$((from + 1)) '$WORK/a.log' | grep -q 'service=default/after1 \|service=default/dual1 '"
check "... while a waiting one is" sh -c "tail -n +$((from + 1)) '$WORK/a.log' | grep -q 'service=default/ex2 '"

# ---- pool deleted while in use ----
cat >"$WORK/temp.yaml" <<EOF
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: temp, namespace: $NS}
spec:
  addresses: [198.51.100.100/31]
  autoAssign: false
EOF
K apply -f "$WORK/temp.yaml" >/dev/null
svc tmp1 "metallb.io/address-pool: temp"
wait_check "service on a temporary pool" 20 ingress_is tmp1 198.51.100.100
K delete ipaddresspool -n $NS temp >/dev/null
wait_check "pool deleted: ingress cleared" 20 ingress_is tmp1 ""
wait_check "... and an AllocationFailed event says why" 20 event_on Service/tmp1 AllocationFailed temp

# ---- two replicas, one acting ----
start_ctl b
wait_check "replica b sees a acting" 20 grep -q 'another replica acts.*holder=a' "$WORK/b.log"
svc ha1
wait_check "with two replicas a service is served" 20 sh -c "[ -n \"\$(kubectl get svc ha1 -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" ]"
check "... by the acting replica only" sh -c "! grep -q 'address assigned' '$WORK/b.log'"
snapshot >"$WORK/before-ha"
# a freezes (no release, no renewals): b must wait for the lease to expire, then act.
kill -STOP "$(cat "$WORK/a.pid")"
wait_check "replica b takes over when a stops renewing" 30 sh -c "[ \"\$(kubectl get lease -n $NS l2lb-controller -o jsonpath='{.spec.holderIdentity}')\" = b ]"
svc ha2
wait_check "b serves new services" 20 sh -c "[ -n \"\$(kubectl get svc ha2 -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" ]"
check "IPAllocated events before the handover came from a only" \
	sh -c "! kubectl get events -o jsonpath='{range .items[*]}{.involvedObject.name} {.reason} {.reportingInstance}{\"\\n\"}{end}' | grep -q '^ha1 IPAllocated b'"
snapshot | grep -v '^ha2=' >"$WORK/after-ha"
check "handover moved nothing" cmp -s "$WORK/before-ha" "$WORK/after-ha"
# a wakes up still believing it leads: it must notice and write nothing.
assigned_before=$(grep -c 'address assigned\|addresses released' "$WORK/a.log")
stops_before=$(grep -c 'lease lost: stopped acting' "$WORK/a.log")
kill -CONT "$(cat "$WORK/a.pid")"
wait_check "a wakes up and stops acting" 20 \
	sh -c "[ \$(grep -c 'lease lost: stopped acting' '$WORK/a.log') -gt $stops_before ]"
svc ha3
wait_check "b still serves" 20 sh -c "[ -n \"\$(kubectl get svc ha3 -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" ]"
check "a wrote nothing after losing the lease" \
	[ "$(grep -c 'address assigned\|addresses released' "$WORK/a.log")" = "$assigned_before" ]
check "... and the lease stays with b" [ "$(holder)" = b ]

# ---- SIGUSR1 dumps pools ----
kill -USR1 "$(cat "$WORK/b.pid")"
wait_check "SIGUSR1 logs pool usage" 5 grep -q 'msg=pool name=lan assigned_ipv4=' "$WORK/b.log"
wait_check "... as one block, header to end" 5 sh -c "sed -n '/dump: controller state/,/dump: end/p' '$WORK/b.log' | grep -q 'msg=pool name=manual assigned_ipv4=[0-9]* available_ipv4=[0-9]*'"

stop_ctl b
wait_check "b releases on SIGTERM and a takes over" 20 sh -c "[ \"\$(kubectl get lease -n $NS l2lb-controller -o jsonpath='{.spec.holderIdentity}')\" = a ]"
svc ha4
wait_check "a serves again" 20 sh -c "[ -n \"\$(kubectl get svc ha4 -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" ]"
stop_ctl a
t_summary
