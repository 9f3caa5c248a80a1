#!/bin/sh
# check-deploy.sh: the manifests in deploy/ render, apply to an API server, carry the security
# settings the README promises, and deploy/l2lb.yaml is what `make manifests` would write.
set -u
. "$(dirname "$0")/../lib.sh"

if ! command -v kubectl >/dev/null 2>&1; then
	echo "skip: kubectl is not installed (not packaged by Debian 12); nothing to apply with"
	exit 77
fi
work=$(mktemp -d)
trap 'kubesim_stop; rm -rf "$work"' EXIT INT TERM
cd "$L2LB_TOP" || exit 1

if kubectl kustomize deploy/ >"$work/rendered.yaml" 2>"$work/err"; then
	t_ok "kubectl kustomize deploy/ renders"
else
	t_fail "kubectl kustomize deploy/ renders" "$(cat "$work/err")"
fi

# The committed single file must be exactly what `make manifests` renders now.
sh test/deploy/render.sh >"$work/l2lb.yaml" 2>"$work/err"
if cmp -s "$work/l2lb.yaml" deploy/l2lb.yaml; then
	t_ok "deploy/l2lb.yaml is in sync with deploy/ (make manifests)"
else
	t_fail "deploy/l2lb.yaml is in sync" "stale: run 'make manifests' and commit; diff:
$(diff -u deploy/l2lb.yaml "$work/l2lb.yaml" | head -n 20)"
fi

kubesim_start "$work/sim" || {
	t_fail "kubesim starts" "see its log above"
	t_summary
	exit 1
}

if kubectl apply -k deploy/ >"$work/apply.out" 2>&1; then
	t_ok "kubectl apply -k deploy/ succeeds"
else
	t_fail "kubectl apply -k deploy/ succeeds" "$(cat "$work/apply.out")"
fi

# Every rendered object exists on the server afterwards.
want=$(grep -c '^kind:' "$work/rendered.yaml")
have=$(kubectl get -f "$work/rendered.yaml" -o name 2>"$work/err" | wc -l)
if [ "$want" -gt 0 ] && [ "$have" -eq "$want" ]; then
	t_ok "every rendered object exists ($have of $want)"
else
	t_fail "every rendered object exists" "$have of $want: $(cat "$work/err")"
fi

# The metallb.io kinds are served once the CRDs are in.
for kind in ipaddresspools l2advertisements servicel2statuses; do
	if kubectl get "$kind.metallb.io" -A >/dev/null 2>"$work/err"; then
		t_ok "CRD $kind.metallb.io is served"
	else
		t_fail "CRD $kind.metallb.io is served" "$(cat "$work/err")"
	fi
done

for f in deploy/examples/*.yaml; do
	if kubectl apply -f "$f" >"$work/out" 2>&1; then
		t_ok "example $f applies"
	else
		t_fail "example $f applies" "$(cat "$work/out")"
	fi
done

# Re-applying is a no-op: an install command a user runs twice must not fail.
if kubectl apply -k deploy/ >"$work/out" 2>&1; then
	t_ok "kubectl apply -k deploy/ is idempotent"
else
	t_fail "kubectl apply -k deploy/ is idempotent" "$(cat "$work/out")"
fi

kubectl get -n l2lb-system daemonset/l2lb-speaker -o json >"$work/ds.json" 2>/dev/null
kubectl get -n l2lb-system deployment/l2lb-controller -o json >"$work/dep.json" 2>/dev/null
python3 "$L2LB_TOP/test/deploy/podspec.py" "$work/ds.json" "$work/dep.json" >"$work/spec.out"
while IFS='|' read -r verdict name why; do
	case $verdict in
	ok) t_ok "$name" ;;
	*) t_fail "$name" "$why" ;;
	esac
done <"$work/spec.out"

t_summary
