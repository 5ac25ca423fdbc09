#!/bin/sh
# Build sandboxd with AddressSanitizer + UBSan and -Werror, then run every
# test: unit, integration (real daemon on a temporary socket) and the Go
# ttrpc interop test.  Run as root: the controller tests make namespaces.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build-asan}
cmake -S "$top" -B "$build" -DSANDBOXD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
    -DSANDBOXD_TEST_HOOKS=ON
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure --timeout 900 "$@"
