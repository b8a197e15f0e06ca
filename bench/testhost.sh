#!/usr/bin/env bash
# Time from calling testhost/run to the command running inside the test host
# (the first line it prints reaching us), and to testhost/run's exit.
#   bench/testhost.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
for _ in $(seq "${1:-3}"); do
	start=$(date +%s.%N)
	testhost/run sh -c 'echo READY' | while read -r line; do
		[ "$line" = READY ] && printf 'command running after %.2f s' "$(echo "$(date +%s.%N) - $start" | bc)"
	done
	printf ', testhost/run done after %.2f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
done
