#!/bin/sh
# deploy/crds against test/kubesim with the real kubectl: the CRDs install, MetalLB objects
# written as MetalLB documents them apply unchanged, the schemas refuse what they can express,
# defaults and printer columns are MetalLB's, and the status subresources work.
# Last line of stdout: "N passed, N failed, N skipped". Exit 0 / 1 / 77 (all skipped).
. "$(dirname "$0")/../lib.sh"
set -u

for tool in kubectl python3 openssl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "check-crds: $tool not found, skipping"
		echo "0 passed, 0 failed, 1 skipped"
		exit 77
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/l2lb-crds.XXXXXX")
trap 'kubesim_stop; rm -rf "$work"' EXIT INT TERM
if ! kubesim_start "$work/sim"; then
	echo "FAIL kubesim did not start"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
# A private discovery cache, so kinds created here are seen at once and $HOME stays untouched.
k() {
	kubectl --cache-dir "$work/cache" "$@"
}

# expect_ok NAME CMD...: CMD must succeed.
expect_ok() {
	_name=$1
	shift
	if "$@" >"$work/out" 2>&1; then
		t_ok "$_name"
	else
		t_fail "$_name" "$(tr '\n' ' ' <"$work/out")"
	fi
}

# expect_refused NAME TEXT YAML: applying YAML must fail with a message containing TEXT.
expect_refused() {
	printf '%s\n' "$3" >"$work/bad.yaml"
	if k apply -f "$work/bad.yaml" >"$work/out" 2>&1; then
		t_fail "$1" "accepted: $(tr '\n' ' ' <"$work/out")"
	elif grep -q -- "$2" "$work/out"; then
		t_ok "$1"
	else
		t_fail "$1" "refused without \"$2\": $(tr '\n' ' ' <"$work/out")"
	fi
}

# expect_eq NAME WANT CMD...: CMD's output must be exactly WANT.
expect_eq() {
	_name=$1 _want=$2
	shift 2
	_got=$("$@" 2>&1)
	if [ "$_got" = "$_want" ]; then
		t_ok "$_name"
	else
		t_fail "$_name" "got \"$_got\", want \"$_want\""
	fi
}

expect_ok "CRDs install" k apply -f "$L2LB_TOP/deploy/crds/"
t_wait 10 k get ipaddresspools -A
k create namespace metallb-system >/dev/null 2>&1
k create namespace team-a >/dev/null 2>&1
expect_ok "MetalLB fixture applies unchanged" k apply -f "$L2LB_TOP/test/fixtures/metallb-config.yaml"

expect_eq "autoAssign defaults to true" true \
	k -n metallb-system get ipaddresspool lan -o 'jsonpath={.spec.autoAssign}'
expect_eq "avoidBuggyIPs defaults to false" false \
	k -n metallb-system get ipaddresspool team-a -o 'jsonpath={.spec.avoidBuggyIPs}'
expect_eq "autoAssign false kept" false \
	k -n metallb-system get ipaddresspool expensive -o 'jsonpath={.spec.autoAssign}'
expect_eq "preferred weight kept" "80 20" \
	k -n metallb-system get l2advertisement expensive-edge \
	-o 'jsonpath={.spec.preferredNodeSelectors[*].weight}'

header() {
	k -n metallb-system get "$@" 2>&1 | head -1 | tr -s ' ' | sed 's/ $//'
}
expect_eq "pool printer columns" "NAME AUTO ASSIGN AVOID BUGGY IPS ADDRESSES" \
	header ipaddresspools
expect_eq "advertisement printer columns" \
	"NAME IPADDRESSPOOLS IPADDRESSPOOL SELECTORS INTERFACES" header l2advertisements
expect_eq "advertisement wide columns" \
	"NAME IPADDRESSPOOLS IPADDRESSPOOL SELECTORS INTERFACES NODE SELECTORS" \
	header l2advertisements -o wide

pool() {
	printf 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: bad\n'
	printf '  namespace: metallb-system\nspec:\n%s\n' "$1"
}
expect_refused "bare IP refused" "spec.addresses" "$(pool '  addresses: [192.0.2.1]')"
expect_refused "garbage entry refused" "spec.addresses" "$(pool '  addresses: [banana]')"
expect_refused "empty addresses refused" "spec.addresses" "$(pool '  addresses: []')"
expect_refused "missing addresses refused" "spec.addresses" "$(pool '  autoAssign: true')"
expect_refused "pool without spec refused" "spec" \
	"$(printf 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: bad\n  namespace: metallb-system\n')"
expect_refused "bad selector operator refused" "operator" "$(pool '  addresses: [192.0.2.0/28]
  serviceAllocation:
    serviceSelectors:
    - matchExpressions:
      - {key: app, operator: Maybe}')"
expect_refused "negative priority refused" "priority" "$(pool '  addresses: [192.0.2.0/28]
  serviceAllocation: {priority: -1}')"
adv() {
	printf 'apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: bad\n'
	printf '  namespace: metallb-system\nspec:\n%s\n' "$1"
}
expect_refused "weight 0 refused" "weight" "$(adv '  preferredNodeSelectors:
  - {weight: 0, preference: {}}')"
expect_refused "weight 101 refused" "weight" "$(adv '  preferredNodeSelectors:
  - {weight: 101, preference: {}}')"
expect_refused "preference required" "preference" "$(adv '  preferredNodeSelectors:
  - {weight: 5}')"
expect_ok "empty advertisement accepted" sh -c "printf '%s\n' \"\$1\" | kubectl --cache-dir '$work/cache' apply -f -" _ \
	"$(printf 'apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: everything\n  namespace: metallb-system\n')"

expect_ok "pool status subresource" k -n metallb-system patch ipaddresspool lan \
	--subresource=status --type=merge \
	-p '{"status":{"assignedIPv4":2,"assignedIPv6":1,"availableIPv4":47,"availableIPv6":255}}'
expect_eq "pool status reads back" "2 47" k -n metallb-system get ipaddresspool lan \
	-o 'jsonpath={.status.assignedIPv4} {.status.availableIPv4}'

cat >"$work/l2s.yaml" <<'EOS'
apiVersion: metallb.io/v1beta1
kind: ServiceL2Status
metadata:
  name: l2-web
  namespace: metallb-system
EOS
expect_ok "ServiceL2Status create" k apply -f "$work/l2s.yaml"
expect_ok "ServiceL2Status status" k -n metallb-system patch servicel2status l2-web \
	--subresource=status --type=merge \
	-p '{"status":{"node":"n1","serviceName":"web","serviceNamespace":"default","interfaces":[{"name":"eth0"}]}}'
expect_eq "ServiceL2Status printer columns" "NAME ALLOCATED NODE SERVICE NAME SERVICE NAMESPACE" \
	header servicel2statuses
if k -n metallb-system patch servicel2status l2-web --subresource=status --type=merge \
	-p '{"status":{"node":"n2"}}' >"$work/out" 2>&1; then
	t_fail "ServiceL2Status node immutable" "changed: $(cat "$work/out")"
elif grep -q immutable "$work/out"; then
	t_ok "ServiceL2Status node immutable"
else
	t_fail "ServiceL2Status node immutable" "$(cat "$work/out")"
fi

t_summary
