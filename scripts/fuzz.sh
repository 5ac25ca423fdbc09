#!/bin/sh
# Fuzz the frame reader and every request decoder with libFuzzer:
#
#	scripts/fuzz.sh [SECONDS]
#
# configures a clang build of its own (FUZZ_BUILD_DIR, default
# build-fuzz; the gcc build is untouched) with every object compiled
# -fsanitize=fuzzer-no-link,address,undefined, writes seed corpora from
# real client requests (tests/fuzz/fuzz_seeds.c), then runs each target
# for half of SECONDS (default 60).  Corpora grow in the build dir and
# are reused by the next run; a crash leaves its input there
# (crash-*) and fails the script.  Needs Debian's clang and
# libclang-rt-14-dev (scripts/packages.txt).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$top/build-fuzz}
seconds=${1:-60}
per=$((seconds / 2))
[ "$per" -ge 1 ] || per=1
cc=${FUZZ_CC:-clang}
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
mkdir -p "$build"
cmake -S "$top" -B "$build" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_BUILD_TYPE=Debug -DSANDBOXD_FUZZ=ON -DSANDBOXD_SANITIZE=OFF \
    -DSANDBOXD_TEST_HOOKS=OFF -DSANDBOXD_WERROR=OFF -DCMAKE_C_FLAGS="$flags" >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j2 --target fuzz_frames fuzz_decode fuzz_seeds
mkdir -p "$build/corpus/frames" "$build/corpus/decode" "$build/seeds/frames" \
    "$build/seeds/decode" "$build/artifacts"
"$build/tests/fuzz/fuzz_seeds" "$build/seeds/frames" "$build/seeds/decode"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in frames decode; do
	echo "fuzz: fuzz_$t for $per s"
	"$build/tests/fuzz/fuzz_$t" -max_total_time="$per" -max_len=65536 \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$build/artifacts/$t-" \
	    "$build/corpus/$t" "$build/seeds/$t" >"$build/fuzz_$t.log" 2>&1 ||
	    status=1
	grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)" \
	    "$build/fuzz_$t.log" || true
	if [ "$status" -ne 0 ]; then
		tail -60 "$build/fuzz_$t.log"
		echo "fuzz: fuzz_$t FAILED; inputs in $build/artifacts"
		break
	fi
done
[ "$status" -ne 0 ] || echo "fuzz: fuzz_frames and fuzz_decode ran $per s each, no crash"
exit "$status"
