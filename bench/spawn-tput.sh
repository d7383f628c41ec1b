#!/usr/bin/env bash
# bench/spawn-tput.sh — spawn throughput with 1, 2, 8 and 32 in flight: start + reap of /bin/true per second,
# descartes beside bwrap in the same run.
#   CLI:     bench-tput -j J: J `descartesctl spawn --wait -- /bin/true` processes in flight (each its own
#            connection: J spawn requests at the daemon at once)
#   library: bench-client spawn -j J: J agents in flight on one warm connection (a spawn call, then the next,
#            each agent's exit event awaited)
#   peer:    bench-tput -j J: J `bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc /bin/true`
# Target (issue 13): the library with 8 in flight >= 2x bwrap's runs per second.
# usage: bench/spawn-tput.sh [-t SECS] [-J "1 2 8 32"]    defaults: -t 5
#   Needs root, a built tree and bwrap (apt-get install -y bubblewrap). Prints a markdown section on stdout.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

SECS=5 JOBS="1 2 8 32"
while getopts "t:J:h" opt; do
	case $opt in
	t) SECS=$OPTARG ;;
	J) JOBS=$OPTARG ;;
	*) sed -n '2,11p' "$0"; exit 2 ;;
	esac
done
bench_require_root
command -v bwrap >/dev/null || die "bwrap is missing: apt-get install -y bubblewrap"
bench_require_build
bench_init
bench_daemon_start

BWRAP=(bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc /bin/true)
"${BWRAP[@]}" || die "probe run failed: ${BWRAP[*]}"
"${CTL[@]}" spawn --wait -- /bin/true >/dev/null || die "probe run failed: descartesctl spawn --wait"
bench_purge

per_s() { # per_s LINE KEY: the rate, with the failures said
	local v f
	v=$(kv per_s "$1")
	[[ -n $v ]] || die "a throughput run failed: $1"
	f=$(kv "$2" "$1")
	[[ -z $f || $f == 0 ]] || v+=" ($f failed)"
	echo "$v"
}

declare -A CLI LIB BW
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for j in $JOBS; do
	note "throughput, $j in flight"
	l=$("$BENCH_TPUT" -j "$j" -t "$SECS" -- "${CTL[@]}" spawn --wait -- /bin/true) || true
	echo "cli j=$j $l" >&2
	CLI[$j]=$(per_s "$l" failed)
	bench_purge
	l=$("${CLIENT[@]}" spawn -j "$j" -t "$SECS" -- /bin/true) || true
	echo "lib j=$j $l" >&2
	LIB[$j]=$(per_s "$l" spawn_errors)
	bench_purge
	l=$("$BENCH_TPUT" -j "$j" -t "$SECS" -- "${BWRAP[@]}") || true
	echo "bwrap j=$j $l" >&2
	BW[$j]=$(per_s "$l" failed)
done

echo "## Spawn throughput: /bin/true started and reaped per second"
echo
echo "$SECS s per figure; load $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end. CLI: \`descartesctl spawn --wait -- /bin/true\` processes (bench-tput); library: bench-client spawn on one connection, each agent's exit event awaited; bwrap: \`${BWRAP[*]}\` (bench-tput)."
echo
echo "| in flight | CLI runs/s | library runs/s | bwrap runs/s | library / bwrap |"
echo "| --- | --- | --- | --- | --- |"
for j in $JOBS; do
	echo "| $j | ${CLI[$j]} | ${LIB[$j]} | ${BW[$j]} | $(ratio "${LIB[$j]%% *}" "${BW[$j]%% *}") |"
done
if [[ -n ${LIB[8]:-} ]]; then
	rt=$(ratio "${LIB[8]%% *}" "${BW[8]%% *}")
	summary_row "spawn throughput, 8 in flight, libdescartes" "${LIB[8]}/s" "bwrap ${BW[8]}/s" "$rt" ">= 2 (higher is better)" "$(verdict "$rt" '>=' 2)"
	summary_row "spawn throughput, 8 in flight, CLI" "${CLI[8]}/s" "bwrap ${BW[8]}/s" "$(ratio "${CLI[8]%% *}" "${BW[8]%% *}")" "—" "—"
fi
