#!/bin/sh
# run.sh BINARY CORPUS SECONDS ARTIFACTS [LIBFUZZER_OPTION | DIR...]: runs
# one fuzz target for SECONDS, starting from the committed CORPUS and any
# further DIRs (read only), new inputs into a temporary directory (or
# $FUZZ_NEW, which is kept). A crash, a leak, a timeout or an oracle hit
# stops it with its input saved under ARTIFACTS and fails; the last line
# gives the run's figures.
set -eu
bin=$1 corpus=$2 seconds=$3 artifacts=$4
shift 4
new=${FUZZ_NEW:-}
log=$(mktemp)
if [ -z "$new" ]; then
	new=$(mktemp -d)
	trap 'rm -rf "$new" "$log"' EXIT
else
	trap 'rm -f "$log"' EXIT
	mkdir -p "$new"
fi
mkdir -p "$artifacts"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
status=0
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$artifacts/" "$new" "$corpus" "$@" >"$log" 2>&1 || status=$?
cat "$log"
# libFuzzer's last status line: "#RUNS DONE cov: N ft: N corp: ... exec/s: N ..."
# ("#RUNS: cov: ..." in fork mode)
done_line=$(grep -E '^#[0-9]+.* cov: [0-9]+ ft: ' "$log" | tail -n 1 || true)
echo "$(basename "$bin"): status $status; ${done_line:-no status line}"
[ "$status" = 0 ] && exit 0
echo "$(basename "$bin"): inputs that failed are under $artifacts" >&2
# libFuzzer's 77 for a crash would read as "skipped" to meson
exit 1
