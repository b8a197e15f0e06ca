#!/usr/bin/env bash
# Build figures of the two kernels and the bundle: clean build time (recorded
# by kernel/build.sh when it built them), cached lookup time, sizes.
#   bench/kernels.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
for k in guest:kernel/guest.config testhost:testhost/kernel.config; do
	name=${k%%:*} frag=${k#*:}
	start=$(date +%s.%N)
	dir=$(kernel/build.sh "$name" "$frag" 2>/dev/null | tail -n 1)
	cached=$(echo "$(date +%s.%N) - $start" | bc)
	printf '%-9s clean build %4s s   cached lookup %.2f s   vmlinux %s   bzImage %s\n' "$name" \
		"$(cat "$dir/build-seconds")" "$cached" "$(du -h "$dir/vmlinux" | cut -f1)" \
		"$(du -h "$dir/bzImage" | cut -f1)"
done
lib=$build/kernel/libkrunfw.so.5
strip -o /tmp/libkrunfw.stripped "$lib"
printf 'bundle: flat image %s bytes, libkrunfw.so.5 %s bytes (stripped %s)\n' \
	"$(stat -c %s "$build/kernel/kernel.bin")" "$(stat -Lc %s "$lib")" \
	"$(stat -c %s /tmp/libkrunfw.stripped)"
strip -o /tmp/libkrun.stripped "$build/src/libkrun.so.1"
printf 'libkrun.so.1 stripped: %s bytes\n' "$(stat -c %s /tmp/libkrun.stripped)"
