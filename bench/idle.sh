#!/usr/bin/env bash
# bench/idle.sh — N idle agents (`sleep infinity`): how long spawning them takes, the daemon's CPU over
# SECS seconds of idleness (utime + stime from /proc/PID/stat), the daemon's RSS and Pss, and the mean Pss of
# a shim (/proc/PID/smaps_rollup). Beside it, the same N `sleep infinity` under bwrap --unshare-all: the Pss
# bwrap keeps per sandbox (its outer and in-namespace processes).
# Targets (DESIGN 12, for 1,000 agents): daemon idle CPU ~0, daemon RSS < 32 MiB, each shim < 512 KiB.
# usage: bench/idle.sh [-n N] [-s SECS] [-S SETTLE]   defaults: -n 1000 -s 30 -S 5. Needs root, a built tree.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

N=1000 SECS=30 SETTLE=5
while getopts "n:s:S:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	s) SECS=$OPTARG ;;
	S) SETTLE=$OPTARG ;;
	*) sed -n '2,9p' "$0"; exit 2 ;;
	esac
done
bench_require_root
bench_require_build
bench_init
bench_daemon_start
MOUNT=$(bench_cgroup2_mount)
PEER_CG=''
peer_cleanup() { [[ -n $PEER_CG ]] && bench_cgroup_destroy "$PEER_CG"; PEER_CG=''; }
BENCH_CLEANUP_HOOKS+=(peer_cleanup)

pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

note "spawning $N idle agents"
hold=$("${CLIENT[@]}" hold -n "$N" -- /bin/sleep infinity)
echo "$hold" >&2
sleep "$SETTLE"
note "daemon CPU over ${SECS}s"
c0=$(cpu_ticks "$DAEMON_PID")
sleep "$SECS"
c1=$(cpu_ticks "$DAEMON_PID")
cpu_ms=$(awk -v d=$((c1 - c0)) -v t="$TCK" 'BEGIN {printf "%.0f", d * 1000 / t}')
cpu_pct=$(awk -v ms="$cpu_ms" -v s="$SECS" 'BEGIN {printf "%.3f", ms / (s * 10)}')
rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$DAEMON_PID/status")
dpss_kib=$(pss_kib "$DAEMON_PID")

shims=0 shim_pss=0 shim_rss=0
for f in "$BENCH_CG"/agents/*/*/shim/cgroup.procs; do
	for p in $(cat "$f"); do
		shims=$((shims + 1))
		shim_pss=$((shim_pss + $(pss_kib "$p")))
		shim_rss=$((shim_rss + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")))
	done
done
((shims > 0)) || die "no shim processes found under $BENCH_CG/agents"
shim_mean=$((shim_pss / shims)) shim_rss_mean=$((shim_rss / shims))

BW=''
if command -v bwrap >/dev/null; then
	note "starting $N idle bwrap sandboxes"
	PEER_CG=$MOUNT/descartes-bench-peer-$$
	mkdir "$PEER_CG"
	(
		echo "$BASHPID" >"$PEER_CG/cgroup.procs"
		for _ in $(seq "$N"); do
			setsid bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc /bin/sleep infinity \
				</dev/null >/dev/null 2>&1 &
		done
	)
	for _ in $(seq 100); do
		(($(grep -c . "$PEER_CG/cgroup.procs") >= 3 * N)) && break
		sleep 0.2
	done
	sleep "$SETTLE"
	bw_pss=0
	for p in $(cat "$PEER_CG/cgroup.procs"); do
		[[ $(readlink "/proc/$p/exe" 2>/dev/null) == */bwrap ]] && bw_pss=$((bw_pss + $(pss_kib "$p")))
	done
	BW=$((bw_pss / N))
	peer_cleanup
else
	note "bwrap is not installed: the peer column is skipped"
fi

echo "## $N idle agents"
echo
echo "Spawned with one libdescartes connection in $(kv secs "$hold") s (median spawn call $(kv spawn_call_us_med "$hold") µs); then ${SETTLE} s settle and ${SECS} s of measurement."
echo
echo "| figure | value | target |"
echo "| --- | --- | --- |"
echo "| daemon CPU over ${SECS} s idle | $cpu_ms ms ($cpu_pct % of one CPU) | ~0 |"
echo "| daemon RSS | $((rss_kib / 1024)) MiB ($rss_kib KiB); Pss $dpss_kib KiB | < 32 MiB |"
echo "| shim Pss, mean of $shims | $shim_mean KiB (RSS $shim_rss_mean KiB) | < 512 KiB |"
[[ -n $BW ]] && echo "| peer: bwrap Pss per idle sandbox (its 2 processes) | $BW KiB | — |"
echo
summary_row "$N idle agents: daemon CPU over ${SECS} s" "$cpu_ms ms ($cpu_pct %)" "—" "—" "~0 (≤ 0.1 %)" "$(verdict "$cpu_pct" '<=' 0.1)"
summary_row "$N idle agents: daemon RSS" "$((rss_kib / 1024)) MiB" "—" "—" "< 32 MiB" "$(verdict "$rss_kib" '<=' 32767)"
summary_row "$N idle agents: shim Pss (mean)" "$shim_mean KiB" "${BW:+bwrap $BW KiB per sandbox}" "${BW:+$(ratio "$shim_mean" "$BW")}" "< 512 KiB" "$(verdict "$shim_mean" '<=' 511)"
summary_row "spawn $N idle agents, libdescartes" "$(kv secs "$hold") s" "—" "—" "—" "—"
