#!/bin/sh
# bench-arp.sh: ARP and NDP (NS -> NA) round trips to an address l2lb-speaker answers vs.
# the same host's kernel-owned address, interleaved in one run; prints median, p99 and ratios.
# Runs in namespaces it creates and removes (root). BENCH_ROUNDS x BENCH_BATCH probes per target.
# BENCH_RT=1 runs the speaker and the prober under SCHED_FIFO (chrt -f 10): on a busy machine that
# shows how much of the speaker's tail is waiting for a CPU rather than its own work.
set -u
cd "$(dirname "$0")/../.." || exit 2
. test/netns/lib.sh
SPEAKER=${L2LB_BUILD:-$PWD/build}/bin/l2lb-speaker
ROUNDS=${BENCH_ROUNDS:-10}
BATCH=${BENCH_BATCH:-50}
RT=
[ "${BENCH_RT:-0}" = 1 ] && RT="chrt -f 10"
ns_skip_unless_able
TMP=$(mktemp -d)
trap 'ns_cleanup; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM

switch_add lan && ns_add c && ns_add s && wire lan c eth0 && wire lan s eth0 &&
	nsx c ip addr add 192.0.2.1/24 dev eth0 && nsx c ip addr add 2001:db8::1/64 dev eth0 nodad &&
	nsx s ip addr add 192.0.2.10/24 dev eth0 && nsx s ip addr add 2001:db8::10/64 dev eth0 nodad ||
	{ echo "bench-arp: cannot build the test network"; exit 1; }
# shellcheck disable=SC2086
ip netns exec "$NS_PREFIX-s" $RT "$SPEAKER" --log-level warn --static 192.0.2.200 \
	--static 2001:db8::200 2>"$TMP/speaker.log" &
answered() { nsx c arping -q -c 1 -w 1 -I eth0 192.0.2.200; }
poll 10000 answered || { echo "bench-arp: speaker not answering"; cat "$TMP/speaker.log"; exit 1; }

# The speaker answers from user space: its tail depends on how busy the CPUs are, so say it.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs${RT:+, under $RT}"
# One prober (test/bench/rtt.py) for all four targets, probe by probe in turn, so the speaker and
# the kernel see the same conditions. (arping cannot send faster than one probe a second.)
# shellcheck disable=SC2086
nsx c $RT python3 test/bench/rtt.py eth0 "$(mac c eth0)" 192.0.2.1 2001:db8::1 $((ROUNDS * BATCH)) \
	192.0.2.200 192.0.2.10 2001:db8::200 2001:db8::10 >"$TMP/rtt"
# A few real arping round trips as a sanity check of the same path.
nsx c arping -c 3 -w 5 -I eth0 192.0.2.200 | grep -E 'reply from' | sed 's/^/arping: /'

echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$TMP/rtt" <<'PY'
import sys

def load(path):
    d, lost = {}, {}
    for line in open(path):
        a, v = line.split()
        if v == "lost":
            lost[a] = lost.get(a, 0) + 1
        else:
            d.setdefault(a, []).append(float(v))
    return d, lost

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]

print("%-5s %-16s %-8s %6s %11s %9s %6s" % ("proto", "address", "answerer", "n", "median_us",
                                            "p99_us", "lost"))
d, lost = load(sys.argv[1])
for proto, spk, ker in (("ARP", "192.0.2.200", "192.0.2.10"),
                        ("NDP", "2001:db8::200", "2001:db8::10")):
    for a, who in ((spk, "l2lb"), (ker, "kernel")):
        xs = d.get(a, [])
        if xs:
            print("%-5s %-16s %-8s %6d %11.1f %9.1f %6d" % (proto, a, who, len(xs),
                  pct(xs, 50), pct(xs, 99), lost.get(a, 0)))
        else:
            print("%-5s %-16s %-8s %6d %11s %9s %6d" % (proto, a, who, 0, "-", "-",
                  lost.get(a, 0)))
    if d.get(spk) and d.get(ker):
        print("%-5s ratio l2lb/kernel: median %.2fx, p99 %.2fx" % (proto,
              pct(d[spk], 50) / pct(d[ker], 50), pct(d[spk], 99) / pct(d[ker], 99)))
PY
