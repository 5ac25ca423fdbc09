#!/bin/sh
# End-to-end test: real containerd 1.7.13 (CRI plugin, sandbox API in shim
# mode) and crictl 1.26.1 driving a real sandboxd.
#
#   SANDBOXD_CONTAINERD_BIN=DIR run.sh <sandboxd-build-dir> [tasks]
#
# With "tasks", the containers' test (e2e_tasks.py: busybox containers in
# sandboxd pods through runc) instead of the pods' (e2e.py).
# DIR holds containerd and crictl: the output of
# ../shared/fixtures/build-containerd.sh (or any dir with those binaries).
# Without it the test is skipped (exit 77).  Needs root, unshare, nsenter,
# ip and /usr/bin/python3.  E2E_KEEP=1 keeps the temp dir; E2E_ONLY=1,5,7
# runs some cases only; E2E_REEXEC_PODS / E2E_PARALLEL_PODS change the pod
# counts of cases 7 and 8 (50 and 100).  See tests/containerd/e2e.py.
set -u
here=$(cd "$(dirname "$0")" && pwd)

skip() {
	echo "SKIP: containerd e2e test: $*"
	echo "SKIP: enable it with SANDBOXD_CONTAINERD_BIN=\$(../shared/fixtures/build-containerd.sh) (a dir holding containerd 1.7.13 and crictl 1.26.1)"
	exit 77
}

[ $# -eq 1 ] || [ $# -eq 2 ] || { echo "usage: run.sh <sandboxd-build-dir> [tasks]" >&2; exit 2; }
build=$1
script=e2e.py
if [ $# -eq 2 ]; then
	[ "$2" = tasks ] || { echo "usage: run.sh <sandboxd-build-dir> [tasks]" >&2; exit 2; }
	script=e2e_tasks.py
	for t in runc busybox; do
		command -v $t >/dev/null 2>&1 || skip "'$t' not found (apt-get install runc busybox-static)"
	done
fi
for b in sandboxd sandboxd-pause sandboxd-keeper sandboxctl containerd-shim-sandboxd-v2; do
	[ -x "$build/$b" ] || { echo "containerd e2e: FAIL: $build/$b missing (build sandboxd first)"; exit 1; }
done

bin=${SANDBOXD_CONTAINERD_BIN:-}
[ -n "$bin" ] || skip "SANDBOXD_CONTAINERD_BIN is not set"
for b in containerd crictl; do
	[ -x "$bin/$b" ] || skip "$bin/$b not found"
done
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, mounts)"
for t in unshare nsenter ip; do
	command -v $t >/dev/null 2>&1 || skip "'$t' not found"
done
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 not found"

exec /usr/bin/python3 "$here/$script" "$build" "$bin"
