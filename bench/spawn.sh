#!/usr/bin/env bash
# bench/spawn.sh — start + reap of /bin/true: descartes (CLI, library) beside bwrap, unshare and the bare
# process, measured in the same run.
#   latency:    hyperfine -N (no shell): `descartesctl spawn --wait -- /bin/true`, `descartesctl spawn --
#               /bin/true` (answered once the agent started) beside `descartesctl health` (the CLI's own
#               start and one round trip), `bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc
#               /bin/true`, `unshare` with 6 namespaces (a floor for namespaced starts), plain /bin/true
#   daemon:     spawn_us of the CLI's agents (request to execve, from `descartesctl -o json ps -a`)
#   library:    bench-client spawn: descartes_spawn + wait for the exit event, one warm connection
#   throughput: 2 in flight for SECS seconds (bench-tput for commands, bench-client spawn -j 2 for the library)
# Targets (DESIGN 12, issue 13): the CLI spawn faster than bwrap alone (ratio < 1); the library's spawn + exit
# event no slower than `unshare` with the same six namespaces (ratio <= 1).
# usage: bench/spawn.sh [-r RUNS] [-w WARMUP] [-R ROUNDS] [-t SECS] [-j JOBS]
#   defaults: -r 50 -w 5 -R 3 -t 5 -j 2. Needs root, a built tree, hyperfine and jq; bwrap rows are skipped
#   (and said so) when bwrap is missing. Prints a markdown section on stdout.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=50 WARMUP=5 R=3 SECS=5 JOBS=2
while getopts "r:w:R:t:j:h" opt; do
	case $opt in
	r) RUNS=$OPTARG ;;
	w) WARMUP=$OPTARG ;;
	R) R=$OPTARG ;;
	t) SECS=$OPTARG ;;
	j) JOBS=$OPTARG ;;
	*) sed -n '2,14p' "$0"; exit 2 ;;
	esac
done
bench_require_root
command -v hyperfine >/dev/null || die "hyperfine is missing: apt-get install -y hyperfine"
command -v jq >/dev/null || die "jq is missing: apt-get install -y jq"
command -v unshare >/dev/null || die "unshare (util-linux) is missing"
bench_require_build
bench_init
bench_daemon_start

NAMES=("descartesctl spawn --wait" "descartesctl spawn" "descartesctl health" "bare /bin/true" "unshare, 6 namespaces")
CMDS=("${CTL[*]} spawn --wait -- /bin/true" "${CTL[*]} spawn -- /bin/true" "${CTL[*]} health" "/bin/true"
	"unshare --pid --fork --mount --net --uts --ipc --cgroup /bin/true")
SKIPPED=''
if command -v bwrap >/dev/null; then
	NAMES+=("bwrap --unshare-all")
	CMDS+=("bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc /bin/true")
	BWRAP_VERSION=$(bwrap --version)
else
	SKIPPED="bwrap is not installed (apt-get install -y bubblewrap): its rows and the target ratio are skipped"
	note "$SKIPPED"
fi
for c in "${CMDS[@]}"; do
	# shellcheck disable=SC2086  # split on whitespace, as hyperfine -N does
	$c >/dev/null 2>&1 || die "probe run failed: $c"
done
bench_purge

# ---- latency: ROUNDS hyperfine runs over every command ----
declare -A MED SLOW
DAEMON_US=()
for r in $(seq "$R"); do
	note "spawn latency round $r/$R"
	hf=()
	for i in "${!CMDS[@]}"; do hf+=(-n "${NAMES[$i]}" "${CMDS[$i]}"); done
	hyperfine -N --style none --warmup "$WARMUP" --runs "$RUNS" --export-json "$BENCH_TMP/hf.json" "${hf[@]}" >&2
	while IFS=$'\t' read -r name med slow; do
		MED[$name]+="$med "
		SLOW[$name]=$((${SLOW[$name]:-0} + slow))
	done < <(jq -r '.results[] | [.command, (.median * 1000000 | round / 1000),
		([.times[] | select(. > 0.5)] | length)] | @tsv' "$BENCH_TMP/hf.json")
	"${CTL[@]}" -o json ps -a | jq -r '.[]? // . | .spawn_us // empty' >"$BENCH_TMP/spawn_us"
	DAEMON_US+=("$(median <"$BENCH_TMP/spawn_us")")
	bench_purge
done
med_of() { tr ' ' '\n' <<<"${MED[$1]}" | grep . | median; }
spr_of() { tr ' ' '\n' <<<"${MED[$1]}" | grep . | spread; }

# ---- library: spawn + exit event on one warm connection ----
LIB=()
for r in $(seq "$R"); do
	note "library spawn round $r/$R"
	LIB+=("$("${CLIENT[@]}" spawn -n "$RUNS" -- /bin/true)")
	LIB_ERR=$((${LIB_ERR:-0} + $(kv spawn_errors "${LIB[-1]}")))
	echo "${LIB[-1]}" >&2
	bench_purge
done
lib_med=$(for l in "${LIB[@]}"; do kv spawn_exit_us_med "$l"; done | median)
lib_call=$(for l in "${LIB[@]}"; do kv spawn_call_us_med "$l"; done | median)
lib_daemon=$(for l in "${LIB[@]}"; do kv daemon_spawn_us_med "$l"; done | median)

# ---- throughput, JOBS in flight ----
declare -A TPUT
for i in "${!CMDS[@]}"; do
	note "throughput: ${NAMES[$i]}"
	# shellcheck disable=SC2086
	l=$("$BENCH_TPUT" -j "$JOBS" -t "$SECS" -- ${CMDS[$i]}) || true
	echo "$l" >&2
	[[ -n $(kv per_s "$l") ]] || die "throughput run failed: ${CMDS[$i]}"
	TPUT[${NAMES[$i]}]=$(kv per_s "$l")
	[[ $(kv failed "$l") == 0 ]] || TPUT[${NAMES[$i]}]+=" ($(kv failed "$l") failed)"
	bench_purge
done
note "throughput: library"
l=$("${CLIENT[@]}" spawn -j "$JOBS" -t "$SECS" -- /bin/true)
echo "$l" >&2
TPUT[library]=$(kv per_s "$l")
[[ $(kv spawn_errors "$l") == 0 ]] || TPUT[library]+=" ($(kv spawn_errors "$l") spawn_failed)"
bench_purge

ours_ms=$(med_of "descartesctl spawn --wait")
ms() { awk -v u="$1" 'BEGIN{printf "%.2f", u/1000}'; }
lib_ms=$(ms "$lib_med")
us_ms=$(med_of "unshare, 6 namespaces")
summary_row "spawn + exit event, libdescartes" "$lib_ms ms" "unshare, 6 namespaces $us_ms ms" "$(ratio "$lib_ms" "$us_ms")" "≤ 1.0" "$(verdict "$(ratio "$lib_ms" "$us_ms")" '<=' 1.0)"
summary_row "libdescartes spawn call (warm connection)" "$(ms "$lib_call") ms" "the daemon's own spawn_us $(ms "$lib_daemon") ms" "$(ratio "$lib_call" "$lib_daemon")" "—" "—"
nw=$(med_of "descartesctl spawn") he=$(med_of "descartesctl health")
summary_row "\`descartesctl spawn -- /bin/true\` (no wait)" "$nw ms" "\`descartesctl health\` $he ms" "$(ratio "$nw" "$he")" "—" "—"
echo "## Spawn: start + reap /bin/true"
echo
echo "hyperfine -N, warmup $WARMUP, $RUNS runs per command, $R rounds; the figure is the median of the rounds' medians (range of the rounds in brackets). Throughput: $JOBS in flight for ${SECS} s."
[[ -n $SKIPPED ]] && echo && echo "Skipped: $SKIPPED."
echo
echo "| command | median ms | rounds' range ms | runs over 0.5 s (of $((RUNS * R))) | runs/s, $JOBS in flight |"
echo "| --- | --- | --- | --- | --- |"
for i in "${!CMDS[@]}"; do
	n=${NAMES[$i]}
	echo "| \`${CMDS[$i]/${CTL[*]}/descartesctl -H ipc://T/run/control}\` | $(med_of "$n") | $(spr_of "$n") | ${SLOW[$n]} | ${TPUT[$n]} |"
done
echo "| libdescartes: descartes_spawn + exit event (bench-client) | $(awk -v u="$lib_med" 'BEGIN{printf "%.2f", u/1000}') | | | ${TPUT[library]} |"
echo
if ((${LIB_ERR:-0} > 0)); then
	echo "The library's sequential runs met $LIB_ERR spawn_failed replies (counted, not timed)."
	echo
fi
echo "Daemon-side spawn_us (request to the agent's execve), median: $(median < <(printf '%s\n' "${DAEMON_US[@]}")) µs for the CLI's agents, $lib_daemon µs for the library's; the library's spawn call returns after $lib_call µs (median)."
echo
if [[ -z $SKIPPED ]]; then
	bw=$(med_of "bwrap --unshare-all")
	rt=$(ratio "$ours_ms" "$bw")
	summary_row "spawn + reap /bin/true, CLI" "$ours_ms ms" "bwrap ${BWRAP_VERSION#bubblewrap } $bw ms" "$rt" "< 1 (faster than bwrap)" "$(verdict "$rt" '<=' 0.999)"
	summary_row "spawn + exit event, libdescartes, beside bwrap" "$lib_ms ms" "bwrap $bw ms" "$(ratio "$lib_ms" "$bw")" "—" "—"
	summary_row "spawn throughput, $JOBS in flight, CLI" "${TPUT[descartesctl spawn --wait]}/s" "bwrap ${TPUT[bwrap --unshare-all]}/s" "$(ratio "${TPUT[descartesctl spawn --wait]}" "${TPUT[bwrap --unshare-all]}")" "— (higher is better)" "—"
else
	summary_row "spawn + reap /bin/true, CLI" "$ours_ms ms" "bwrap missing" "-" "< 1" "skipped"
fi
