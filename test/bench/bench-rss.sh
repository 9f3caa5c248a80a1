#!/bin/sh
# bench-rss.sh: l2lb-speaker's resident memory with 0, 100 and 1000 LoadBalancer services, three
# dry-run speakers against kubesim (issue 7: at most 8 MiB with 1,000 services). Prints a table of
# VmRSS (median and max over the speakers), VmHWM, RssAnon (the speaker's own pages; the rest is
# shared library pages), bytes per service against the 0-service run of the same invocation, and
# the ratios of the medians to 8 MiB.
# BENCH_SERVICES (default "0 100 1000"), BENCH_SETTLE_S (default 3), BENCH_SPEAKER_ARGS.
cd "$(dirname "$0")/../.." || exit 2
exec python3 test/bench/bench_rss.py "$@"
