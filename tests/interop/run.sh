#!/bin/bash
# Wire-compatibility test: containerd's own Go ttrpc client
# (github.com/containerd/ttrpc, Debian golang-github-containerd-ttrpc-dev)
# against a real sandboxd.
#
#   run.sh <path-to-sandboxd> <build-dir>
#   run.sh --build-only <build-dir>          (just build the Go program)
#
# Builds tests/interop/sandboxinterop into <build-dir> (GOPATH mode, no
# network: GOPATH=<build-dir>/gopath:/usr/share/gocode, GOCACHE under
# <build-dir>), starts the daemon on a socket in a fresh temp dir, runs the
# checks, stops the daemon with SIGTERM (it must exit 0), and exits non-zero
# on any failure, printing the daemon's log. Set INTEROP_KEEP=1 to keep the
# temp dir, INTEROP_ONLY=store,controller,shim to run some sections only.
set -u

here=$(cd "$(dirname "$0")" && pwd)
gocode=/usr/share/gocode

die() {
	echo "interop: FAIL: $*" >&2
	exit 1
}

build_go() {
	local build=$1
	if ! command -v go >/dev/null 2>&1; then
		die "'go' not found in PATH. This test needs the Go toolchain and containerd's ttrpc sources: apt-get install golang-go golang-github-containerd-ttrpc-dev (refusing to skip: a missing toolchain must not pass as success)"
	fi
	[ -d "$gocode/src/github.com/containerd/ttrpc" ] ||
		die "$gocode/src/github.com/containerd/ttrpc missing: apt-get install golang-github-containerd-ttrpc-dev"
	mkdir -p "$build/gopath" "$build/gocache" || die "cannot create $build"
	echo "interop: building the Go client ($(go version)) into $build"
	(cd "$here/sandboxinterop" &&
		env GO111MODULE=off GOFLAGS= GOENV=off GOTOOLCHAIN=local CGO_ENABLED=0 \
			GOPATH="$build/gopath:$gocode" GOCACHE="$build/gocache" \
			go build -o "$build/sandboxinterop" .) ||
		die "building tests/interop/sandboxinterop failed"
}

if [ "${1:-}" = "--build-only" ]; then
	[ $# -eq 2 ] || die "usage: run.sh --build-only <build-dir>"
	mkdir -p "$2" && build=$(cd "$2" && pwd) || die "bad build dir $2"
	build_go "$build"
	exit 0
fi

[ $# -eq 2 ] || die "usage: run.sh <path-to-sandboxd> <build-dir>"
sandboxd=$1
[ -x "$sandboxd" ] || die "sandboxd binary '$sandboxd' is not executable"
sandboxd=$(cd "$(dirname "$sandboxd")" && pwd)/$(basename "$sandboxd")
mkdir -p "$2" && build=$(cd "$2" && pwd) || die "bad build dir $2"
pause=$(dirname "$sandboxd")/sandboxd-pause
[ -x "$pause" ] || echo "interop: note: $pause does not exist (the pause runtime checks will fail)"

build_go "$build"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbd-interop.XXXXXX") || die "mktemp failed"
sock=$tmp/s.sock
log=$tmp/daemon.log
dpid=

cleanup() {
	if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
		kill -KILL "$dpid" 2>/dev/null
		wait "$dpid" 2>/dev/null
	fi
	# A network namespace the daemon left mounted would keep rm from
	# removing its file.
	if [ -d "$tmp/run/netns" ]; then
		for f in "$tmp"/run/netns/*; do
			[ -e "$f" ] && umount "$f" 2>/dev/null
		done
	fi
	if [ "${INTEROP_KEEP:-0}" = 1 ]; then
		echo "interop: kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_log() {
	echo "---- daemon log ($log, last 400 lines) ----"
	tail -n 400 "$log"
	echo "---- end of daemon log ----"
}

fail() {
	echo "interop: FAIL: $*"
	show_log
	exit 1
}

echo "interop: starting $sandboxd (socket $sock)"
"$sandboxd" --foreground --socket "$sock" --state-dir "$tmp/state" --run-dir "$tmp/run" \
	--log-level debug --pause-path "$pause" >"$log" 2>&1 </dev/null &
dpid=$!

for _ in $(seq 1 200); do
	[ -S "$sock" ] && break
	kill -0 "$dpid" 2>/dev/null || {
		wait "$dpid"
		fail "the daemon exited (status $?) before creating $sock"
	}
	sleep 0.05
done
[ -S "$sock" ] || fail "no socket $sock after 10 s"

rc=0
timeout -k 5 120 "$build/sandboxinterop" -socket "$sock" -tmpdir "$tmp" -pause-path "$pause" \
	${INTEROP_ONLY:+-only "$INTEROP_ONLY"} || rc=$?
[ $rc -eq 124 ] && echo "interop: the Go client timed out after 120 s"

# Every sandbox was shut down: nothing the daemon created should be left.
leftover=
if [ $rc -eq 0 ] && [ -d "$tmp/run/netns" ]; then
	leftover=$(ls -A "$tmp/run/netns")
fi

echo "interop: stopping the daemon (SIGTERM)"
dstatus=0
if kill -0 "$dpid" 2>/dev/null; then
	kill -TERM "$dpid"
	for _ in $(seq 1 200); do
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$dpid" 2>/dev/null; then
		kill -KILL "$dpid"
		wait "$dpid" 2>/dev/null
		dpid=
		fail "the daemon did not exit within 10 s of SIGTERM"
	fi
	wait "$dpid"
	dstatus=$?
else
	wait "$dpid"
	dstatus=$?
	dpid=
	fail "the daemon died during the test (exit status $dstatus)"
fi
dpid=

[ $rc -eq 0 ] || fail "Go ttrpc client checks failed (exit $rc)"
[ -z "$leftover" ] || fail "network namespace files left in $tmp/run/netns after every sandbox was shut down: $leftover"
[ $dstatus -eq 0 ] || fail "the daemon exited with status $dstatus after SIGTERM (expected 0)"
echo "interop: PASS (daemon exited 0 on SIGTERM)"
exit 0
