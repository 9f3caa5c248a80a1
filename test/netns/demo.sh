#!/bin/sh
# demo.sh (`make demo`): l2lb end to end on one machine, narrated. A three-node cluster in network
# namespaces gets a LoadBalancer Service; the client on the LAN finds it with arping and ndisc6,
# reaches a backend with curl, and keeps reaching it after the announcing node's speaker is killed.
# DEMO_KEEP=1 leaves the cluster running and prints how to poke at it. Exits non-zero on any failure.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
L2LB_TOP=$TOP
L2LB_BUILD=${L2LB_BUILD:-$TOP/build}
export L2LB_TOP L2LB_BUILD
. "$TOP/test/lib.sh"
. "$TOP/test/netns/lib.sh"
. "$TOP/test/netns/bed.sh"

START=$(now_ms)
say() {
	el=$(($(now_ms) - START))
	printf '[%3d.%01ds] %s\n' $((el / 1000)) $((el % 1000 / 100)) "$*"
}
show() { # show CMD...: print a command's output indented, as a user would see it
	"$@" 2>&1 | sed 's/^/        /'
}
die() {
	say "FAILED: $*"
	for f in "${BED_DIR:-/nonexistent}"/*.log; do
		[ -s "$f" ] || continue
		echo "---- last lines of ${f##*/}"
		tail -n 15 "$f"
	done
	exit 1
}

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo: needs root (it creates network namespaces)" >&2
	exit 1
fi
for t in kubectl nft curl arping ndisc6 python3; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "make demo: $t is not installed (make deps installs all but kubectl)" >&2
		exit 1
	}
done

DIR=$(mktemp -d /tmp/l2lb-demo.XXXXXX)
cleanup() {
	if [ "${DEMO_KEEP:-0}" = 1 ] && [ "${DEMO_OK:-0}" = 1 ]; then
		return
	fi
	bed_down
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say "bringing up the LAN: bridge, api server (kubesim over HTTPS), node1-3, client"
bed_up "$DIR/bed" || die "test bed did not come up"
show kc get nodes -o wide

KCFG="$BED_DIR/sim/kubeconfig"

say "installing the metallb.io CRDs and the example pool and L2Advertisement (deploy/examples)"
bed_install_config || die "could not install the CRDs and the pool"
show kc get ipaddresspools,l2advertisements -n l2lb-system

say "starting l2lb-controller on node1 and l2lb-speaker on every node"
bed_start_controller node1
for n in $BED_NODES; do
	bed_start_speaker "$n"
done

say "creating the LoadBalancer Service 'web' (deploy/examples, dual-stack), a backend on each node"
kc apply -f "$TOP/deploy/examples/service.yaml" >/dev/null || die "service"
bed_endpoints web $BED_NODES || die "endpointslices"
t_wait 20 bed_has_ingress web 1 ||
	die "the service got no addresses in 20 s"
V4=$(bed_ingress web 0)
V6=$(bed_ingress web 1)
say "address assigned: $V4 and $V6"
show kc get svc web

# failover ADDR: the announcing node answers, curl works, then its speaker is killed.
failover() {
	addr=$1
	t_wait 20 bed_has_holder web ||
		die "no node announced the service in 20 s"
	h=$(bed_holder web)
	say "announced by: $h (kubectl get servicel2statuses)"
	case $addr in
	*:*) say "ndisc6 $addr eth0 from the client" ;;
	*) say "arping -c 3 -I eth0 $addr from the client" ;;
	esac
	macs=$(bed_probe "$addr")
	[ -n "$macs" ] || die "no reply to the client's probe for $addr"
	[ "$(echo "$macs" | wc -l)" -eq 1 ] || die "more than one MAC answered: $macs"
	say "answered by MAC $macs, which is $(bed_node_of_mac "$macs")'s"
	[ "$(bed_node_of_mac "$macs")" = "$h" ] || die "the MAC on the wire is not the announcing node's"
	body=$(bed_curl "$addr")
	say "curl through $addr -> '$body'"
	[ "$body" = "$h" ] || die "curl did not reach $h's backend"
	[ "$(bed_client_mac "$addr")" = "$macs" ] || die "the client's neighbour entry is not $macs"

	say "kill -9 the speaker on $h"
	kill -9 "$(cat "$BED_DIR/speaker-$h.pid")"
	ms=$(bed_wait_moved "$addr" "$macs" 12000) || die "no takeover within 12 s"
	m2=$(bed_client_mac "$addr")
	say "takeover: $(bed_node_of_mac "$m2") announced $addr; failover took $ms ms (kill -9 to the client's neighbour entry changing, by GARP/NA alone)"
	FAILOVER_MS="${FAILOVER_MS:-}${FAILOVER_MS:+, }$ms"
	body=$(bed_curl "$addr")
	say "curl through $addr -> '$body'"
	[ "$body" = "$(bed_node_of_mac "$m2")" ] || die "curl did not reach the new node"
	show kc get servicel2statuses -n l2lb-system
}

failover "$V4"
say "restarting the killed speaker; the address stays where it is (no churn)"
for n in $BED_NODES; do
	kill -0 "$(cat "$BED_DIR/speaker-$n.pid")" 2>/dev/null || bed_start_speaker "$n"
done
failover "$V6"

DEMO_OK=1
say "done: failover times $FAILOVER_MS ms; every step passed"
if [ "${DEMO_KEEP:-0}" = 1 ]; then
	cat <<EOF

The cluster is still running (DEMO_KEEP=1). Poke at it:
  ip netns exec $NS_PREFIX-client kubectl --kubeconfig $KCFG get svc,servicel2statuses -A
  ip netns exec $NS_PREFIX-client arping -c 3 -I eth0 $V4
  ip netns exec $NS_PREFIX-client curl http://$V4/
  ip netns exec $NS_PREFIX-node1 ip -br addr      (nodes: $NS_PREFIX-node1..3, LAN bridge: $NS_PREFIX-lan)
  logs: $BED_DIR/*.log
Tear it down: for n in \$(ip netns list | awk '/^$NS_PREFIX-/{print \$1}'); do ip netns del \$n; done; pkill -f $BED_DIR
EOF
fi
