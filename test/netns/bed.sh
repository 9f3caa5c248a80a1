# bed.sh: the three-node test bed of the e2e suite and the demo (POSIX sh, sourced after lib.sh).
#
#   bed_up DIR     a LAN (bridge in its own namespace), an API namespace running kubesim over HTTPS
#                  with a token, three node namespaces with a backend each behind a kube-proxy
#                  stand-in (nftables DNAT), a client namespace; Node objects for the three nodes
#   bed_down       stop everything bed_up started and remove every namespace (also from a trap)
#   kc ARGS...     kubectl against the bed's kubesim, run from the client namespace
#
# Addresses, documentation ranges only: hosts 192.0.2.1-99 and 2001:db8::1-99 (api .10, nodes
# .11-.13, client .50), service pool 192.0.2.200-219 and 2001:db8::200-21f.

BED_NODES="node1 node2 node3"
BED_API4=192.0.2.10
BED_API6=2001:db8::10
BED_CLIENT4=192.0.2.50
BED_CLIENT6=2001:db8::50
BED_POOL4="192.0.2.200-192.0.2.219"
BED_POOL6="2001:db8::200-2001:db8::21f"
BED_TOKEN=l2lb-bed-token
# Where the daemons keep leases, pools, advertisements and ServiceL2Status (a suite may set it).
BED_NS=${BED_NS:-l2lb-system}

bed_node_ip4() {
	echo "192.0.2.1${1#node}"
}

bed_node_ip6() {
	echo "2001:db8::1${1#node}"
}

# bed_host NS IP4 IP6: addresses on eth0 of a host already wired to the LAN.
bed_host() {
	ip -n "$NS_PREFIX-$1" addr add "$2/24" dev eth0 &&
		ip -n "$NS_PREFIX-$1" addr add "$3/64" dev eth0 nodad
}

# The kube-proxy stand-in: traffic for a pool address on port 80 goes to this node's backend,
# as kube-proxy's DNAT would send it to a pod.
bed_proxy() {
	nsx "$1" nft -f - <<EOF
table inet l2lb-kube-proxy {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $BED_POOL4 tcp dport 80 dnat ip to $(bed_node_ip4 "$1"):8080
		ip6 daddr $BED_POOL6 tcp dport 80 dnat ip6 to [$(bed_node_ip6 "$1")]:8080
	}
}
EOF
}

# A backend that answers every GET with its node's name, so curl shows who took the traffic.
bed_backend() {
	mkdir -p "$BED_DIR/www-$1" || return 1
	echo "$1" >"$BED_DIR/www-$1/index.html"
	# Not through nsx: a function in the background is a subshell, and $! must be the server.
	ip netns exec "$NS_PREFIX-$1" python3 -m http.server 8080 --bind :: \
		--directory "$BED_DIR/www-$1" >"$BED_DIR/backend-$1.log" 2>&1 </dev/null &
	echo $! >"$BED_DIR/backend-$1.pid"
}

kc() {
	nsx client kubectl --kubeconfig "$BED_DIR/sim/kubeconfig" "$@"
}

bed_node_object() {
	kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $1
  labels:
    kubernetes.io/hostname: $1
    kubernetes.io/os: linux
status:
  addresses:
    - type: InternalIP
      address: $(bed_node_ip4 "$1")
    - type: InternalIP
      address: $(bed_node_ip6 "$1")
    - type: Hostname
      address: $1
  conditions:
    - type: Ready
      status: "True"
      reason: KubeletReady
      message: stand-in node of the l2lb test bed
EOF
}

# bed_suite_begin: what every bed suite does first. Skips (77) unless namespaces and the bed's
# tools are here, makes TMP, and tears the bed down on any exit, also on interrupt.
bed_suite_begin() {
	ns_skip_unless_able
	for _t in nft curl kubectl python3; do
		command -v "$_t" >/dev/null 2>&1 || {
			echo "skip: $_t is not installed"
			echo "0 passed, 0 failed, 1 skipped"
			exit 77
		}
	done
	TMP=$(mktemp -d)
	trap 'bed_down; rm -rf "$TMP"' EXIT
	trap 'exit 1' INT TERM
}

# bed_suite_up [config]: brings the bed up under $TMP/bed and, with "config", applies what
# bed_install_config applies. A failure is the suite's last check: it ends there, failed.
bed_suite_up() {
	bed_up "$TMP/bed" || {
		t_fail "test bed comes up" "see above"
		t_summary
		exit 1
	}
	[ "${1:-}" = config ] || return 0
	bed_install_config || {
		t_fail "CRDs, pool and advertisement apply" "kubectl apply failed"
		t_summary
		exit 1
	}
}

# A failed check on the bed prints the daemons' last log lines.
t_failure_logs() {
	t_tail_logs "$BED_DIR"/controller-*.log "$BED_DIR"/speaker-*.log
}

bed_up() {
	BED_DIR=$1
	mkdir -p "$BED_DIR" || return 1
	switch_add lan || return 1
	for h in api client $BED_NODES; do
		ns_add "$h" && wire lan "$h" eth0 || return 1
	done
	bed_host api "$BED_API4" "$BED_API6" && bed_host client "$BED_CLIENT4" "$BED_CLIENT6" ||
		return 1
	for n in $BED_NODES; do
		bed_host "$n" "$(bed_node_ip4 "$n")" "$(bed_node_ip6 "$n")" && bed_proxy "$n" &&
			bed_backend "$n" || return 1
	done
	nsx api sh "$L2LB_TOP/test/kubesim/kubesim-up.sh" "$BED_DIR/sim" \
		--listen "$BED_API4:6443" --token "$BED_TOKEN" >/dev/null || return 1
	# Every node must reach the API over the LAN, as a kubelet's host network would.
	for n in $BED_NODES; do
		poll 5000 nsx "$n" curl -sk -o /dev/null "https://$BED_API4:6443/version" || {
			echo "bed: $n cannot reach the API at $BED_API4:6443" >&2
			return 1
		}
	done
	for n in $BED_NODES; do
		bed_node_object "$n" || return 1
	done
	for n in $BED_NODES; do
		poll 5000 nsx "$n" curl -s -o /dev/null "http://$(bed_node_ip4 "$n"):8080/" || {
			echo "bed: the backend on $n does not answer" >&2
			return 1
		}
	done
}

bed_down() {
	[ -n "${BED_DIR:-}" ] || return 0
	for _f in "$BED_DIR"/*.pid; do
		[ -s "$_f" ] && kill "$(cat "$_f")" 2>/dev/null
	done
	sh "$L2LB_TOP/test/kubesim/kubesim-down.sh" "$BED_DIR/sim" >/dev/null 2>&1
	ns_cleanup
}

# ---- l2lb on the bed: the daemons, a service with endpoints, and what the client sees ----

# bed_install_config: the l2lb-system namespace, the metallb.io CRDs, the example pool and
# advertisement (deploy/examples), as a user would apply them.
bed_install_config() {
	kc create namespace l2lb-system >/dev/null &&
		kc apply -f "$L2LB_TOP/deploy/crds/" >/dev/null &&
		t_wait 10 kc get ipaddresspools.metallb.io -A &&
		kc apply -f "$L2LB_TOP/deploy/examples/ipaddresspool.yaml" \
			-f "$L2LB_TOP/deploy/examples/l2advertisement.yaml" >/dev/null
}

# bed_start_controller NODE [FLAGS...]: the controller in NODE's namespace, logging to the bed.
bed_start_controller() {
	_n=$1
	shift
	ip netns exec "$NS_PREFIX-$_n" "$L2LB_BUILD/bin/l2lb-controller" \
		--kubeconfig "$BED_DIR/sim/kubeconfig" --namespace "$BED_NS" --metrics-addr '' "$@" \
		>>"$BED_DIR/controller-$_n.log" 2>&1 </dev/null &
	echo $! >"$BED_DIR/controller-$_n.pid"
}

# bed_start_speaker NODE [FLAGS...]: the speaker in NODE's namespace, as with host networking.
bed_start_speaker() {
	_n=$1
	shift
	ip netns exec "$NS_PREFIX-$_n" "$L2LB_BUILD/bin/l2lb-speaker" \
		--kubeconfig "$BED_DIR/sim/kubeconfig" --node-name "$_n" --namespace "$BED_NS" \
		--metrics-addr '' "$@" >>"$BED_DIR/speaker-$_n.log" 2>&1 </dev/null &
	echo $! >"$BED_DIR/speaker-$_n.pid"
}

# bed_signal KIND NODE SIGNAL: signal NODE's controller or speaker, wait until it is gone, and
# leave its exit status in BED_RC (the daemons are children of the shell that started them).
bed_signal() {
	_pid=$(cat "$BED_DIR/$1-$2.pid" 2>/dev/null) || return 1
	kill -"$3" "$_pid" 2>/dev/null
	t_wait 10 sh -c "! kill -0 $_pid 2>/dev/null"
	wait "$_pid" 2>/dev/null
	BED_RC=$?
}

# bed_service NAME [POLICY [FAMILY_POLICY]]: a LoadBalancer service on port 80 selecting app=NAME.
bed_service() {
	printf '%s\n' "apiVersion: v1" "kind: Service" "metadata: {name: $1, namespace: default}" \
		"spec:" "  type: LoadBalancer" "  externalTrafficPolicy: ${2:-Cluster}" \
		"  ipFamilyPolicy: ${3:-PreferDualStack}" "  selector: {app: $1}" \
		"  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]" |
		kc apply -f - >/dev/null
}

# bed_endpoints NAME NODE...: EndpointSlices (one per family) with a ready backend on each NODE,
# as the EndpointSlice controller would write them; no NODE leaves the service without backends.
bed_endpoints() {
	bed_endpoints_in default "$@"
}

# bed_endpoints_in NAMESPACE NAME NODE...: the same for a service in another namespace.
bed_endpoints_in() {
	_ens=$1
	_svc=$2
	shift 2
	for _fam in IPv4 IPv6; do
		{
			echo "apiVersion: discovery.k8s.io/v1"
			echo "kind: EndpointSlice"
			echo "metadata:"
			echo "  name: $_svc-$(echo "$_fam" | tr A-Z a-z)"
			echo "  namespace: $_ens"
			echo "  labels: {kubernetes.io/service-name: $_svc}"
			echo "addressType: $_fam"
			echo "ports: [{name: http, port: 8080, protocol: TCP}]"
			[ $# -eq 0 ] && echo "endpoints: []" || echo "endpoints:"
			for _n in "$@"; do
				if [ "$_fam" = IPv4 ]; then _a=$(bed_node_ip4 "$_n"); else _a=$(bed_node_ip6 "$_n"); fi
				echo "  - addresses: [\"$_a\"]"
				echo "    nodeName: $_n"
				echo "    conditions: {ready: true, serving: true, terminating: false}"
			done
		} | kc apply -f - >/dev/null || return 1
	done
}

# bed_ingress NAME INDEX: the INDEXth address in the service's status (empty if none yet).
bed_ingress() {
	kc get svc "$1" -o "jsonpath={.status.loadBalancer.ingress[$2].ip}" 2>/dev/null
}

# bed_holder NAME: the node the service's ServiceL2Status names (empty if none).
bed_holder() {
	kc get servicel2statuses -n "$BED_NS" \
		-o 'jsonpath={range .items[*]}{.status.serviceName}{" "}{.status.node}{"\n"}{end}' \
		2>/dev/null | awk -v s="$1" '$1 == s { print $2; exit }'
}

# bed_node_of_mac MAC: which node's eth0 has this MAC.
bed_node_of_mac() {
	for _n in $BED_NODES; do
		[ "$(mac "$_n" eth0)" = "$1" ] && echo "$_n" && return 0
	done
	echo "unknown($1)"
}

# bed_client_mac ADDR: the MAC in the client's neighbour table for ADDR (empty if none).
bed_client_mac() {
	nsx client ip neigh show "$1" | sed -nE 's/.*lladdr ([0-9a-f:]+).*/\1/p'
}

# bed_probe ADDR [IFACE]: asks for ADDR from the client as a LAN host would (arping for IPv4,
# ndisc6 for IPv6) on IFACE (eth0) and prints each distinct MAC that answered, lowercase, one per
# line.
bed_probe() {
	case $1 in
	*:*) nsx client ndisc6 -m -n -r 3 -w 500 "$1" "${2:-eth0}" 2>&1 |
		sed -nE 's/.*link-layer address: *([0-9A-Fa-f:]+).*/\1/p' ;;
	*) nsx client arping -c 3 -w 3 -I "${2:-eth0}" "$1" 2>&1 |
		sed -nE 's/.*\[([0-9A-Fa-f:]+)\].*/\1/p' ;;
	esac | tr A-F a-f | sort -u
}

# bed_curl ADDR [PORT]: what the client gets from http://ADDR:PORT/ (80; the name of the node that
# served it).
bed_curl() {
	case $1 in
	*:*) nsx client curl -s --max-time 2 "http://[$1]:${2:-80}/" ;;
	*) nsx client curl -s --max-time 2 "http://$1:${2:-80}/" ;;
	esac
}

# bed_wait_moved ADDR OLDMAC LIMIT_MS: polls the client's neighbour table (never asking on the
# wire, so only a gratuitous ARP / unsolicited NA can change it) until ADDR maps to another MAC;
# prints the milliseconds it took, returns 1 if it did not move within LIMIT_MS.
bed_wait_moved() {
	_t0=$(now_ms)
	_tries=$(($3 / 20))
	while [ "$(bed_client_mac "$1")" = "$2" ] && [ "$_tries" -gt 0 ]; do
		sleep 0.02
		_tries=$((_tries - 1))
	done
	echo $(($(now_ms) - _t0))
	_m=$(bed_client_mac "$1")
	[ -n "$_m" ] && [ "$_m" != "$2" ]
}

# Predicates for t_wait: the service has an INDEXth address / an announcing node.
bed_has_ingress() {
	[ -n "$(bed_ingress "$1" "$2")" ]
}
bed_has_holder() {
	[ -n "$(bed_holder "$1")" ]
}
