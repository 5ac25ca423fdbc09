#!/bin/sh
# Build sandboxd with AddressSanitizer + UBSan and -Werror, then run every
# test: unit, integration (real daemon on a temporary socket), the Go
# ttrpc interop test and the end-to-end test under real containerd and
# crictl.  Run as root: the controller tests make namespaces.
#
# containerd 1.7.13 and crictl 1.26.1 are built from the source tarballs in
# ../shared/fixtures (about 5 minutes the first time, cached per machine),
# unless SANDBOXD_CONTAINERD_BIN names a directory holding them already;
# SANDBOXD_CONTAINERD_BIN=none skips the containerd test.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build-asan}
fixtures=${SANDBOXD_FIXTURES:-$top/../shared/fixtures}
if [ -z "${SANDBOXD_CONTAINERD_BIN:-}" ] && [ -x "$fixtures/build-containerd.sh" ]; then
	SANDBOXD_CONTAINERD_BIN=$("$fixtures/build-containerd.sh")
	export SANDBOXD_CONTAINERD_BIN
fi
cmake -S "$top" -B "$build" -DSANDBOXD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
    -DSANDBOXD_TEST_HOOKS=ON
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure --timeout 900 "$@"
