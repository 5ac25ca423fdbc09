#!/bin/sh
# Developer check, no daemon needed: the hand-written Go message types of
# sandboxinterop against the project's own .proto files (nanopb_protos/).
# Every message type is encoded by the Go side with every field set, decoded
# by protoc with the project's .proto (an unknown field number or a wrong
# wire type shows as a numbered field or a decode error), re-encoded by
# protoc and compared byte for byte.
#   selfcheck.sh <build-dir>        (needs go and protoc)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: selfcheck.sh <build-dir>}
mkdir -p "$build"
build=$(cd "$build" && pwd)
command -v protoc >/dev/null || { echo "selfcheck: protoc not found" >&2; exit 1; }
"$here/run.sh" --build-only "$build"
samples="$build/samples"
rm -rf "$samples"
"$build/sandboxinterop" -dump-samples "$samples"
protos=$(cd "$root/nanopb_protos" && find . -name '*.proto' | sed 's|^\./||' | sort)
fail=0
n=0
for bin in "$samples"/*.bin; do
	type=$(basename "$bin" .bin)
	n=$((n + 1))
	if ! txt=$(cd "$root/nanopb_protos" && protoc --decode="$type" $protos <"$bin" 2>&1); then
		echo "FAIL $type: protoc cannot decode the Go encoding: $txt"
		fail=1
		continue
	fi
	if printf '%s\n' "$txt" | grep -Eq '^[[:space:]]*[0-9]+[:{ ]'; then
		echo "FAIL $type: fields unknown to the .proto:"
		printf '%s\n' "$txt" | sed 's/^/    /'
		fail=1
		continue
	fi
	if ! printf '%s\n' "$txt" | (cd "$root/nanopb_protos" && protoc --encode="$type" $protos) >"$bin.re" 2>"$bin.err"; then
		echo "FAIL $type: re-encode: $(cat "$bin.err")"
		fail=1
		continue
	fi
	if cmp -s "$bin" "$bin.re"; then
		echo "ok   $type ($(wc -c <"$bin") bytes)"
	else
		echo "FAIL $type: protoc re-encodes differently"
		od -An -tx1 "$bin" | head -5
		od -An -tx1 "$bin.re" | head -5
		fail=1
	fi
done
echo "selfcheck: $n message types, $( [ $fail = 0 ] && echo all match || echo MISMATCHES )"
exit $fail
