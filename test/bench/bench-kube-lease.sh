#!/bin/sh
# bench-kube-lease.sh: what many leader elections in one process cost (pkg/kube/lease over one
# informer), against kubesim: time until every lease is led, CPU and memory while renewing.
# BENCH_LEASES (default "100 1000 3000"), BENCH_RUNS (default 3), BENCH_RENEW_S (default 10).
cd "$(dirname "$0")/../.." || exit 2
exec python3 test/bench/bench_kube_lease.py "$@"
