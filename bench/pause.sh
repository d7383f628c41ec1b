#!/usr/bin/env bash
# bench/pause.sh — pause confirmed: `pause` (its reply means frozen) and `resume` through libdescartes on
# an agent running N sleeping or busy processes, vs a bare cgroup.freeze write until cgroup.events says
# "frozen 1" (poll(POLLPRI) + re-read) on a scratch cgroup running the same processes (bench-freeze).
# Both sides leave GAP_MS between transitions: the kernel sends at most one cgroup.events notification per
# file every 10 ms, and closer transitions would measure that throttle instead.
# Beside them the floor of any confirmed pause over the control socket: a bare libzmq REQ/REP round trip
# (bench-zmq-rtt, the pause request's and reply's sizes) with the same gap, so that each process's threads fall
# asleep between round trips as they do between pauses; "ratio pause/(freeze+rtt)" compares pause with a
# bare freeze plus that round trip.
# Target (DESIGN 12): pause within 2x of the bare freeze.
# usage: bench/pause.sh [-i ITERS] [-g GAP_MS] [-n "1 10 100"] [-m "sleep busy"] [-R ROUNDS]
#   defaults: -i 50 -g 20 -n "1 10 100" -m "sleep busy" -R 3. Needs root and a built tree.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

ITERS=50 GAP=20 NS="1 10 100" MODES="sleep busy" R=3
while getopts "i:g:n:m:R:h" opt; do
	case $opt in
	i) ITERS=$OPTARG ;;
	g) GAP=$OPTARG ;;
	n) NS=$OPTARG ;;
	m) MODES=$OPTARG ;;
	R) R=$OPTARG ;;
	*) sed -n '2,10p' "$0"; exit 2 ;;
	esac
done
bench_require_root
command -v jq >/dev/null || die "jq is missing: apt-get install -y jq"
bench_require_build
bench_init
bench_daemon_start
MOUNT=$(bench_cgroup2_mount)

workload() { # workload MODE N: a shell that starts N sleeping or spinning children and waits
	local child='sleep 3600'
	[[ $1 == busy ]] && child='(while :; do :; done)'
	echo "i=0; while [ \$i -lt $2 ]; do $child & i=\$((i+1)); done; wait"
}

wait_ended() {
	local _
	for _ in $(seq 100); do
		case $("${CTL[@]}" -o json inspect "$1" | jq -r .state) in exited | failed) return 0 ;; esac
		sleep 0.1
	done
	die "agent $1 did not end within 10 s of kill"
}

echo "## Pause confirmed: pause + resume round trips vs a bare cgroup.freeze"
echo
echo "$ITERS freeze/thaw pairs per run, ${GAP} ms apart, $R runs per row (alternating); medians of the runs' medians, µs."
echo "The agent's cgroup tree also holds its shim; the bare cgroup holds only the workload (\`sh\` + N children)."
echo
echo "| children | kind | descartes pause | resume | bare freeze | thaw | bare zmq rtt | ratio pause/freeze | ratio resume/thaw | ratio pause/(freeze+rtt) | ratio resume/(thaw+rtt) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for mode in $MODES; do
	for n in $NS; do
		w=$(workload "$mode" "$n")
		P=() F=() Z=()
		for r in $(seq "$R"); do
			note "pause: $mode x$n round $r/$R"
			# one workload at a time: the agent is gone before the bare run starts
			agent=$("${CTL[@]}" spawn -- /bin/sh -c "$w")
			P+=("$("${CLIENT[@]}" pause -n "$ITERS" -g "$GAP" -p $((n + 2)) "$agent")")
			"${CTL[@]}" kill "$agent" >/dev/null
			wait_ended "$agent"
			F+=("$("$BENCH_FREEZE" -n "$ITERS" -g "$GAP" -p $((n + 1)) "$MOUNT" -- /bin/sh -c "$w")")
			Z+=("$("$BENCH_ZMQ_RTT" -n "$ITERS" -g "$GAP" -q 90 -p 420 "ipc://$BENCH_TMP/zmq-rtt")")
			echo "${P[-1]}" >&2
			echo "${F[-1]}" >&2
			echo "${Z[-1]}" >&2
		done
		pm=$(for l in "${P[@]}"; do kv pause_us_med "$l"; done | median)
		rm_=$(for l in "${P[@]}"; do kv resume_us_med "$l"; done | median)
		fm=$(for l in "${F[@]}"; do kv freeze_us_med "$l"; done | median)
		tm=$(for l in "${F[@]}"; do kv thaw_us_med "$l"; done | median)
		zm=$(for l in "${Z[@]}"; do kv rtt_us_med "$l"; done | median)
		rp=$(ratio "$pm" "$fm")
		fz=$(awk -v a="$fm" -v b="$zm" 'BEGIN {print a + b}')
		tz=$(awk -v a="$tm" -v b="$zm" 'BEGIN {print a + b}')
		echo "| $n | $mode | $pm | $rm_ | $fm | $tm | $zm | $rp | $(ratio "$rm_" "$tm") | $(ratio "$pm" "$fz") | $(ratio "$rm_" "$tz") |"
		summary_row "pause confirmed, $n $mode" "$pm µs" "bare cgroup.freeze $fm µs" "$rp" "≤ 2" "$(verdict "$rp" '<=' 2)"
	done
done
bench_purge
echo
