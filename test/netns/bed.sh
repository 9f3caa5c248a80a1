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
	for n in $BED_NODES; do
		[ -s "$BED_DIR/backend-$n.pid" ] && kill "$(cat "$BED_DIR/backend-$n.pid")" 2>/dev/null
	done
	sh "$L2LB_TOP/test/kubesim/kubesim-down.sh" "$BED_DIR/sim" >/dev/null 2>&1
	ns_cleanup
}
