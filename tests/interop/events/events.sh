#!/bin/sh
# Interop: sandboxd's events module publishing to a real containerd 1.7.13.
#
#   SANDBOXD_CONTAINERD_BIN=DIR events.sh <events-publish>
#
# Starts containerd (CRI and NRI off, everything under a temp dir),
# subscribes with `ctr events`, runs events-publish (tests/interop/events/
# publish.c: one event of each task topic, then one in an invalid namespace,
# then a last TaskDelete) against containerd's ttrpc socket, and checks
# that the subscriber saw every good event, decoded by containerd's own
# typeurl registry, in order, in the right namespace, and not the bad one.
# Then containerd is stopped, three exits are published while it is down,
# containerd is started again, and its log must show the three forwarded.
# Skipped (77) without SANDBOXD_CONTAINERD_BIN or root.  EVENTS_KEEP=1
# keeps the temp dir.
set -u

skip() { echo "SKIP: containerd events interop: $*"; exit 77; }
fail() {
	echo "containerd events interop: FAIL: $*"
	for f in publish.out ctr.out ctr.err containerd.log; do
		[ -f "$tmp/$f" ] && { echo "--- $f"; tail -n 40 "$tmp/$f"; }
	done
	exit 1
}

[ $# -eq 1 ] || { echo "usage: events.sh <events-publish>" >&2; exit 2; }
publish=$1
bin=${SANDBOXD_CONTAINERD_BIN:-}
[ -n "$bin" ] && [ "$bin" != none ] || skip "SANDBOXD_CONTAINERD_BIN is not set"
[ -x "$bin/containerd" ] && [ -x "$bin/ctr" ] || skip "no containerd/ctr in $bin"
[ "$(id -u)" -eq 0 ] || skip "containerd needs root"

tmp=$(mktemp -d /tmp/sbd-events-interop.XXXXXX) || exit 1
cpid=
epid=
cleanup() {
	[ -n "$epid" ] && kill "$epid" 2>/dev/null
	[ -n "$cpid" ] && { kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null; }
	[ "${EVENTS_KEEP:-0}" = 1 ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

cat > "$tmp/config.toml" <<EOT
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.nri.v1.nri"]
[grpc]
  address = "$tmp/containerd.sock"
[ttrpc]
  address = "$tmp/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$tmp/opt"
EOT
start_containerd() {
	"$bin/containerd" --config "$tmp/config.toml" --log-level debug \
		>>"$tmp/containerd.log" 2>&1 &
	cpid=$!
	i=0
	until "$bin/ctr" --address "$tmp/containerd.sock" version \
	    >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "containerd did not start"
		kill -0 "$cpid" 2>/dev/null || fail "containerd exited"
		sleep 0.1
	done
}
start_containerd

"$bin/ctr" --address "$tmp/containerd.sock" events >"$tmp/ctr.out" \
	2>"$tmp/ctr.err" &
epid=$!
sleep 1		# let the subscription reach containerd

"$publish" "$tmp/containerd.sock.ttrpc" interop >"$tmp/publish.out" 2>&1 ||
	fail "events-publish: $(tail -n 1 "$tmp/publish.out")"
sleep 0.5
kill "$epid" 2>/dev/null
wait "$epid" 2>/dev/null
epid=

# "<date> <time> +0000 UTC <namespace> <topic> <event as JSON>" per event.
want="/tasks/create /tasks/start /tasks/exec-added /tasks/exec-started /tasks/oom /tasks/exit /tasks/delete /tasks/delete"
got=$(awk '{ for (i = 1; i < NF; i++) if ($i == "UTC") {
	if ($(i + 1) == "interop") print $(i + 2); break } }' "$tmp/ctr.out" |
	tr '\n' ' ' | sed 's/ $//')
[ "$got" = "$want" ] || fail "topics in namespace interop: '$got', want '$want'"
grep -q 'Bad_Namespace' "$tmp/ctr.out" && fail "containerd forwarded the event of an invalid namespace"
grep -q 'cannot unmarshal' "$tmp/ctr.err" && fail "ctr could not decode an event"
grep '/tasks/exit' "$tmp/ctr.out" | grep -q '"container_id":"interop-c1".*"exit_status":137' ||
	fail "the TaskExit's fields did not survive: $(grep /tasks/exit "$tmp/ctr.out")"
grep '/tasks/create' "$tmp/ctr.out" | grep -q '"bundle":"/run/interop/bundle"' ||
	fail "the TaskCreate's fields did not survive"
grep '/tasks/exec-started' "$tmp/ctr.out" | grep -q '"exec_id":"exec-1","pid":4343' ||
	fail "the TaskExecStarted's fields did not survive"
grep -q 'refused a /tasks/exit event: InvalidArgument: .*Bad_Namespace' \
	"$tmp/publish.out" || fail "containerd's refusal of the bad event was not logged"
first=$(tail -n 1 "$tmp/publish.out")

# containerd away: the events wait for it, in order.
kill "$cpid"
wait "$cpid" 2>/dev/null
cpid=
"$publish" "$tmp/containerd.sock.ttrpc" interop-late late \
	>"$tmp/publish.out" 2>&1 &
ppid=$!
sleep 1
start_containerd
wait "$ppid" || fail "events published while containerd was down were not delivered"
n=$(grep -c 'event forwarded.*ns=interop-late topic=/tasks/exit type=containerd.events.TaskExit' \
	"$tmp/containerd.log")
[ "$n" -eq 3 ] || fail "containerd forwarded $n of the 3 late exits"
echo "containerd events interop: OK ($first; late: $(tail -n 1 "$tmp/publish.out"))"
exit 0
