#!/usr/bin/env bash
# bench/idle.sh — N idle agents (`sleep infinity`): how long spawning them takes, the daemon's descriptors per
# agent, its CPU over SECS seconds of idleness (utime + stime from /proc/PID/stat), its RSS and Pss, the mean
# Pss of a shim (/proc/PID/smaps_rollup), how long `descartesctl ps` over all of them takes (median of 3), and
# how long `descartesctl shutdown --stop-agents` takes to end them all and exit. Then, beside it, the same N
# `sleep infinity` under bwrap --unshare-all: the Pss bwrap keeps per sandbox (-B skips it: at N = 10,000
# its 3 processes per sandbox pass kernel.pid_max 32768).
# The hard RLIMIT_NOFILE is raised to fit N (as the unit's LimitNOFILE= would); kernel.pid_max, memory and
# the shims' own limits are said when they stop the run.
# Targets (issue 13, for 10,000 agents): daemon idle CPU < 0.1 %, RSS < 64 MiB, ps < 200 ms, stop of all
# < 60 s, 2 descriptors per agent; DESIGN 12: each shim < 512 KiB.
# usage: bench/idle.sh [-n N] [-s SECS] [-S SETTLE] [-B]   defaults: -n 1000 -s 30 -S 5. Needs root, a built
# tree.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

N=1000 SECS=30 SETTLE=5 PEER=1
while getopts "n:s:S:Bh" opt; do
	case $opt in
	n) N=$OPTARG ;;
	s) SECS=$OPTARG ;;
	S) SETTLE=$OPTARG ;;
	B) PEER='' ;;
	*) sed -n '2,14p' "$0"; exit 2 ;;
	esac
done
bench_require_root
bench_require_build
bench_init
# 2 descriptors per agent and the daemon's own (connection-limit.h): root may raise its hard limit
# (a container without CAP_SYS_RESOURCE cannot: then N must fit the hard limit with 256 to spare)
want_nofile=$((2 * N + 8192))
if (($(ulimit -Hn) < want_nofile)) && ! ulimit -n "$want_nofile" 2>/dev/null; then
	(($(ulimit -Hn) >= 2 * N + 256)) || die "cannot raise RLIMIT_NOFILE to $want_nofile (hard limit $(ulimit -Hn), fs.nr_open $(cat /proc/sys/fs/nr_open)): at most $((($(ulimit -Hn) - 256) / 2)) agents fit"
	note "RLIMIT_NOFILE stays at $(ulimit -Hn) (cannot raise it to $want_nofile): $N agents fit with little to spare"
fi
# tasks (threads too) of the whole host: the 4th field of /proc/loadavg is RUNNING/TOTAL
host_tasks() { awk '{split($4, t, "/"); print t[2]}' /proc/loadavg; }
fd_count() { local f=("/proc/$1/fd/"*); echo "${#f[@]}"; }
pid_max=$(cat /proc/sys/kernel/pid_max)
tasks=$(host_tasks)
((tasks + 2 * N < pid_max)) || note "kernel.pid_max $pid_max: $tasks tasks run already and $N agents need $((2 * N)) more (a shim and a sleep each); the spawn will stop short"
bench_daemon_start
fds0=$(fd_count "$DAEMON_PID")
MOUNT=$(bench_cgroup2_mount)
PEER_CG=''
peer_cleanup() { [[ -n $PEER_CG ]] && bench_cgroup_destroy "$PEER_CG"; PEER_CG=''; }
BENCH_CLEANUP_HOOKS+=(peer_cleanup)

pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

note "spawning $N idle agents"
hold=$("${CLIENT[@]}" hold -n "$N" -- /bin/sleep infinity) || {
	note "the spawn stopped: $(grep -ci 'error\|fail' "$BENCH_TMP/daemon.log") error lines in the daemon's log, last:"
	grep -i 'error\|fail\|cannot' "$BENCH_TMP/daemon.log" | tail -3 >&2
	die "spawning $N agents failed (free memory $(awk '/MemAvailable/ {print $2}' /proc/meminfo) KiB, tasks $(host_tasks) of kernel.pid_max $pid_max)"
}
echo "$hold" >&2
sleep "$SETTLE"
fds1=$(fd_count "$DAEMON_PID")
fds_per_agent=$(awk -v a="$fds0" -v b="$fds1" -v n="$N" 'BEGIN {printf "%.2f", (b - a) / n}')
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

note "descartesctl ps over all of them"
ps_ms=()
for _ in 1 2 3; do
	t0=$(date +%s%N)
	rows=$("${CTL[@]}" ps | wc -l)
	ps_ms+=($((($(date +%s%N) - t0) / 1000000)))
done
ps_med=$(printf '%s\n' "${ps_ms[@]}" | median)
((rows == N + 1)) || note "ps listed $((rows - 1)) agents, not $N"

note "descartesctl shutdown --stop-agents"
t0=$(date +%s%N)
"${CTL[@]}" shutdown --stop-agents >/dev/null
wait "$DAEMON_PID" 2>/dev/null || true
stop_ms=$((($(date +%s%N) - t0) / 1000000))
DAEMON_PID=''
left=$(cat "$BENCH_CG"/agents/*/*/*/cgroup.procs 2>/dev/null | wc -l)
((left == 0)) || note "$left processes were left in the agents' cgroups after the daemon exited"

BW=''
if [[ -z $PEER ]]; then
	note "the bwrap peer is skipped (-B)"
elif command -v bwrap >/dev/null; then
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
echo "Spawned with one libdescartes connection in $(kv secs "$hold") s (median spawn call $(kv spawn_call_us_med "$hold") µs); then ${SETTLE} s settle and ${SECS} s of measurement. $(machine_line); RLIMIT_NOFILE $(ulimit -Hn), kernel.pid_max $pid_max."
echo
echo "| figure | value | target |"
echo "| --- | --- | --- |"
echo "| daemon descriptors | $fds0 with none, $fds1 with $N agents: $fds_per_agent per agent | ≤ 2 per agent |"
echo "| daemon CPU over ${SECS} s idle | $cpu_ms ms ($cpu_pct % of one CPU) | < 0.1 % |"
echo "| daemon RSS | $((rss_kib / 1024)) MiB ($rss_kib KiB); Pss $dpss_kib KiB | < 64 MiB |"
echo "| shim Pss, mean of $shims | $shim_mean KiB (RSS $shim_rss_mean KiB) | < 512 KiB |"
echo "| \`descartesctl ps\` over $N agents | $ps_med ms (median of ${ps_ms[*]}) | < 200 ms |"
echo "| \`shutdown --stop-agents\`: all $N ended, the daemon gone | $((stop_ms / 1000)).$(printf %03d $((stop_ms % 1000))) s ($left processes left) | < 60 s |"
[[ -n $BW ]] && echo "| peer: bwrap Pss per idle sandbox (its 2 processes) | $BW KiB | — |"
echo
summary_row "$N idle agents: daemon CPU over ${SECS} s" "$cpu_ms ms ($cpu_pct %)" "—" "—" "~0 (≤ 0.1 %)" "$(verdict "$cpu_pct" '<=' 0.1)"
summary_row "$N idle agents: daemon RSS" "$((rss_kib / 1024)) MiB" "—" "—" "< 64 MiB" "$(verdict "$rss_kib" '<=' 65535)"
summary_row "$N idle agents: daemon descriptors per agent" "$fds_per_agent" "—" "—" "≤ 2" "$(verdict "$fds_per_agent" '<=' 2)"
summary_row "$N idle agents: descartesctl ps" "$ps_med ms" "—" "—" "< 200 ms" "$(verdict "$ps_med" '<=' 199)"
summary_row "$N idle agents: shutdown --stop-agents" "$((stop_ms / 1000)) s" "—" "—" "< 60 s" "$(verdict "$stop_ms" '<=' 59999)"
summary_row "$N idle agents: shim Pss (mean)" "$shim_mean KiB" "${BW:+bwrap $BW KiB per sandbox}" "${BW:+$(ratio "$shim_mean" "$BW")}" "< 512 KiB" "$(verdict "$shim_mean" '<=' 511)"
summary_row "spawn $N idle agents, libdescartes" "$(kv secs "$hold") s" "—" "—" "—" "—"
