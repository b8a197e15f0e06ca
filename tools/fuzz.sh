#!/usr/bin/env bash
# tools/fuzz.sh [--jobs N] [--merge] TARGET [SECONDS]: runs one fuzz target
# (virtqueue, mmio, console or fuse: tests/fuzz/fuzz_TARGET.c) for SECONDS
# (default 600) from its corpus, tests/fuzz/corpus/TARGET (and the inputs
# that once failed it, tests/fuzz/crashes/TARGET), building build-fuzz
# (clang, -Dfuzzers=true) first. Prints libFuzzer's progress and, last, its
# figures: executions per second (exec/s) and coverage (cov: edges, ft:
# features). Inputs that crash or hit an oracle are kept under
# build-fuzz/tests/fuzz/artifacts/TARGET; rerun one with
# build-fuzz/tests/fuzz/fuzz-TARGET FILE.
#   --jobs N  N fuzzing processes sharing one corpus (libFuzzer's fork mode)
#   --merge   afterwards, add to tests/fuzz/corpus/TARGET the new inputs that
#             cover what it does not (libFuzzer's -merge=1), to commit
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
	# the comment at the top
	awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2
	exit 2
}

jobs=0 merge=false
while [ $# -gt 0 ]; do
	case $1 in
	--jobs) jobs=${2:?}; shift 2 ;;
	--merge) merge=true; shift ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] && [ $# -le 2 ] || usage
target=$1 seconds=${2:-600}
[ -f "tests/fuzz/fuzz_$target.c" ] || { echo "no fuzz target $target" >&2; usage; }

build=build-fuzz
[ -d "$build" ] || CC=clang meson setup "$build" -Dfuzzers=true >/dev/null
ninja -C "$build" "tests/fuzz/fuzz-$target"

binary=$build/tests/fuzz/fuzz-$target corpus=tests/fuzz/corpus/$target
new=$(mktemp -d)
trap 'rm -rf "$new"' EXIT
options=()
[ "$jobs" -gt 0 ] && options+=(-fork="$jobs")
[ -d "tests/fuzz/crashes/$target" ] && options+=("tests/fuzz/crashes/$target")
status=0
FUZZ_NEW=$new tests/fuzz/run.sh "$binary" "$corpus" "$seconds" \
	"$build/tests/fuzz/artifacts/$target" "${options[@]}" || status=$?
if $merge; then
	before=$(ls "$corpus" | wc -l)
	"$binary" -merge=1 "$corpus" "$new" >/dev/null 2>&1
	echo "merged: $corpus has $(ls "$corpus" | wc -l) inputs (before: $before)"
fi
exit "$status"
