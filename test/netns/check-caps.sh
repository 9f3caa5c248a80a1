#!/bin/sh
# check-caps.sh: the speaker as the image runs it, a non-root user whose binary carries the file
# capability cap_net_raw+ep, in namespaces it creates (client C and speaker S on one switch,
# 192.0.2.0/24). It answers ARP; once started, nothing is effective (CapEff 0) and only NET_RAW
# stays permitted, raised again only to re-open the capture when its link comes back. Without the
# file capability it says at start that it lacks CAP_NET_RAW. Everything is removed on exit.
set -u
cd "$(dirname "$0")/../.." || exit 2
. test/netns/lib.sh
SPEAKER=${L2LB_BUILD:-$PWD/build}/bin/l2lb-speaker
[ -x "$SPEAKER" ] || { echo "no speaker binary at $SPEAKER (make)"; exit 2; }

ns_skip_unless_able
for t in setcap getcap setpriv; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "skip: $t is not installed (libcap2-bin, util-linux)"
		exit 77
	}
done
TMP=$(mktemp -d)
SPK_PID=
trap '[ -n "$SPK_PID" ] && kill "$SPK_PID" 2>/dev/null; ns_cleanup; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
chmod 755 "$TMP"
# The nobody user must reach the copies; the file capability needs a filesystem with xattrs.
cp "$SPEAKER" "$TMP/l2lb-speaker" && cp "$SPEAKER" "$TMP/l2lb-speaker-nocap" &&
	chmod 755 "$TMP/l2lb-speaker" "$TMP/l2lb-speaker-nocap" || exit 1
if ! setcap cap_net_raw+ep "$TMP/l2lb-speaker" 2>"$TMP/err" ||
	! getcap "$TMP/l2lb-speaker" | grep -q 'cap_net_raw=ep'; then
	echo "skip: cannot set a file capability in $TMP: $(cat "$TMP/err")"
	exit 77
fi
UID_NOBODY=65534

setup() {
	switch_add lan && ns_add c && ns_add s && wire lan c eth0 && wire lan s eth0 &&
		nsx c ip addr add 192.0.2.1/24 dev eth0 && nsx s ip addr add 192.0.2.10/24 dev eth0
}
if ! setup; then
	echo "cannot build the test network"
	exit 1
fi
MAC_S=$(mac s eth0)

# start BINARY LOG: the speaker as user nobody in S, announcing 192.0.2.200 on eth0.
start() {
	ip netns exec "$NS_PREFIX-s" setpriv --reuid=$UID_NOBODY --regid=$UID_NOBODY \
		--clear-groups "$1" --static 192.0.2.200@eth0 --log-level debug 2>"$2" </dev/null &
	SPK_PID=$!
}
stop() {
	kill -TERM "$SPK_PID" 2>/dev/null
	wait "$SPK_PID"
	_rc=$?
	SPK_PID=
	return $_rc
}
# answered: C's ARP request for 192.0.2.200 gets S's MAC.
answered() {
	nsx c arping -c 1 -w 1 -I eth0 192.0.2.200 2>&1 | tr 'A-F' 'a-f' | grep -q "\[$MAC_S\]"
}
# capline FIELD: the speaker's CapEff/CapPrm/... from /proc (hex).
capline() {
	sed -n "s/^$1:[[:space:]]*//p" "/proc/$SPK_PID/status"
}
started() {
	grep -q 'msg=capabilities' "$TMP/spk.log" && grep -q 'responder: capturing' "$TMP/spk.log"
}

start "$TMP/l2lb-speaker" "$TMP/spk.log"
if poll 5000 started && poll 5000 answered; then
	ok "non-root speaker with cap_net_raw+ep answers ARP for 192.0.2.200"
else
	fail "non-root speaker with cap_net_raw+ep answers ARP" "$(tail -n 5 "$TMP/spk.log")"
fi
uid=$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SPK_PID/status")
[ "$uid" = $UID_NOBODY ] && ok "it runs as uid $UID_NOBODY" || fail "it runs as uid $UID_NOBODY" "uid '$uid'"
eff=$(capline CapEff) prm=$(capline CapPrm) inh=$(capline CapInh)
if [ "$eff" = 0000000000000000 ]; then
	ok "after start-up nothing is effective (CapEff $eff)"
else
	fail "after start-up nothing is effective" "CapEff $eff"
fi
if [ "$prm" = 0000000000002000 ] && [ "$inh" = 0000000000000000 ]; then
	ok "only CAP_NET_RAW stays permitted, for captures re-opened later (CapPrm $prm)"
else
	fail "only CAP_NET_RAW stays permitted" "CapPrm $prm, CapInh $inh"
fi
if grep 'msg=capabilities' "$TMP/spk.log" | grep -q 'cap_net_raw="held, effective only while a capture opens"'; then
	ok "the start-up log says it holds CAP_NET_RAW, effective only while a capture opens"
else
	fail "the start-up log says what it holds" "$(grep capabilit "$TMP/spk.log")"
fi

# The link goes down and comes back: the capture is closed and opened again, which needs
# CAP_NET_RAW raised once more, and lowered after.
nsx s ip link set eth0 down
nsx s ip link set eth0 up
n_open() {
	grep -c 'responder: capturing' "$TMP/spk.log"
}
if poll 10000 sh -c "[ \$(grep -c 'responder: capturing' '$TMP/spk.log') -ge 2 ]" &&
	poll 5000 answered; then
	ok "after its link comes back the capture re-opens and ARP is answered ($(n_open) opens)"
else
	fail "after its link comes back the capture re-opens" "$(tail -n 5 "$TMP/spk.log")"
fi
eff=$(capline CapEff)
[ "$eff" = 0000000000000000 ] && ok "after the re-open nothing is effective (CapEff $eff)" ||
	fail "after the re-open nothing is effective" "CapEff $eff"
if stop; then ok "it exits 0 on SIGTERM"; else fail "it exits 0 on SIGTERM" "exit status $_rc"; fi

# Without the file capability a non-root speaker cannot capture, and says why at start.
start "$TMP/l2lb-speaker-nocap" "$TMP/nocap.log"
if poll 5000 grep -q 'without CAP_NET_RAW no capture can open' "$TMP/nocap.log" &&
	grep 'msg=capabilities' "$TMP/nocap.log" | grep -q 'cap_net_raw=missing'; then
	ok "without the file capability it logs that CAP_NET_RAW is missing"
else
	fail "without the file capability it logs that CAP_NET_RAW is missing" "$(head -n 5 "$TMP/nocap.log")"
fi
if answered; then
	fail "without CAP_NET_RAW nothing is answered" "S answered"
else
	ok "without CAP_NET_RAW nothing is answered"
fi
stop
ns_result
