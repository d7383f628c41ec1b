#!/usr/bin/env bash
# bench/exec.sh — exec round trip: `descartes_exec` of /bin/true in a running agent (the shim forks it into
# the agent's sandbox: payload cgroup, the agent's cgroup namespace, identity, capabilities, seccomp), on a
# warm connection; beside it a whole agent's life (`descartes_spawn` of /bin/true to its exit event), which is
# what running a tool call would cost without exec.
# usage: bench/exec.sh [-n N] [-R ROUNDS]    defaults: -n 500 -R 3
# Needs root and a built tree (ninja -C build). Prints a markdown section on stdout.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

N=500 R=3
while getopts "n:R:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	R) R=$OPTARG ;;
	*) sed -n '2,7p' "$0"; exit 2 ;;
	esac
done
bench_require_root
bench_require_build
bench_init
bench_daemon_start

agent=$("${CTL[@]}" spawn --name bench-exec -- /bin/sleep infinity)
OURS=() PEER=()
for r in $(seq "$R"); do
	note "exec round $r/$R"
	o=$("${CLIENT[@]}" exec -n "$N" "$agent" /bin/true)
	s=$("${CLIENT[@]}" spawn -n "$((N / 5 > 0 ? N / 5 : 1))" -- /bin/true)
	echo "$o" >&2
	echo "$s" >&2
	OURS+=("$o") PEER+=("$s")
	bench_purge
done
"${CTL[@]}" kill "$agent" >/dev/null

om=$(kv_col exec_us_med "${OURS[@]}" | median) op=$(kv_col exec_us_p99 "${OURS[@]}" | median)
pm=$(kv_col spawn_exit_us_med "${PEER[@]}" | median) pp=$(kv_col spawn_exit_us_p99 "${PEER[@]}" | median)

echo "## exec round trip, $N execs of /bin/true per run, $R runs, median of the runs' figures"
echo
echo "| run | exec med µs | p99 µs | spawn to exit med µs | p99 µs |"
echo "| --- | --- | --- | --- | --- |"
for i in "${!OURS[@]}"; do
	echo "| $((i + 1)) | $(kv exec_us_med "${OURS[$i]}") | $(kv exec_us_p99 "${OURS[$i]}") |" \
		"$(kv spawn_exit_us_med "${PEER[$i]}") | $(kv spawn_exit_us_p99 "${PEER[$i]}") |"
done
echo "| **median** | $om | $op | $pm | $pp |"
echo
summary_row "exec of /bin/true in a running agent, median" "$om µs" "a new agent's spawn to exit $pm µs" \
	"$(ratio "$om" "$pm")" "(a figure)" "-"
