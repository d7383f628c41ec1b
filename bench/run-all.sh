#!/usr/bin/env bash
# bench/run-all.sh — every benchmark in turn, each against its peer in the same run, into one markdown report:
# a summary table (figure, descartes, peer, ratio, target, verdict) and then each benchmark's own section.
# usage: bench/run-all.sh [-o REPORT.md] [-l LOGDIR] [-q] [-n IDLE_AGENTS] [-B] [-b OLDER_TREE]
#   -o  also write the report to this file (stdout always gets it)
#   -l  keep each benchmark's raw log (key=value lines, hyperfine output) in LOGDIR
#   -q  quick: fewer runs and rounds, 200 idle agents, 10 s idle window (a smoke run, not for docs)
#   -n  idle agents (default 1000)
#   -B  no bwrap peer in the idle run (at 10,000 its processes pass kernel.pid_max 32768)
#   -b  also trace a spawn in OLDER_TREE (a built checkout with bench/trace-spawn.sh), just before this tree's
# The spawn traces run first, on the quiet machine; the idle run last (tearing down N network namespaces keeps
# the kernel busy for a while after it).
# A benchmark that fails is listed as failed and the rest still run. Needs root and a built tree
# (meson setup build && ninja -C build); peers: apt-get install -y bubblewrap hyperfine jq (valgrind: optional).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

OUT='' LOGDIR='' QUICK=0 IDLE_N=1000 IDLE_PEER='' OLDER=''
while getopts "o:l:qn:Bb:h" opt; do
	case $opt in
	o) OUT=$OPTARG ;;
	l) LOGDIR=$OPTARG ;;
	q) QUICK=1 ;;
	n) IDLE_N=$OPTARG ;;
	B) IDLE_PEER=-B ;;
	b) OLDER=$(cd "$OPTARG" && pwd) ;;
	*) sed -n '2,15p' "$0"; exit 2 ;;
	esac
done
bench_require_root
bench_require_build
WORK=$(mktemp -d "${TMPDIR:-/tmp}/descartes-bench-all.XXXXXX")
trap 'rm -rf --one-file-system "$WORK"' EXIT
[[ -n $LOGDIR ]] && mkdir -p "$LOGDIR"
export BENCH_SUMMARY=$WORK/summary
: >"$BENCH_SUMMARY"

if ((QUICK)); then
	SPAWN=(-r 10 -w 2 -R 1 -t 2) TPUT=(-t 2) TRACE=(-n 10) RTT=(-n 2000 -R 1) REMOTE=(-n 2000 -R 1) PAUSE=(-i 10 -R 1) IDLE=(-n 200 -s 10 -S 2) OUTPUT=(-s 50 -R 1)
	FLOOD=(-n 2000 -R 1) CLI=(-r 30 -w 5 -R 1)
else
	SPAWN=() TPUT=() TRACE=() RTT=() REMOTE=() PAUSE=() IDLE=(-n "$IDLE_N") OUTPUT=() FLOOD=() CLI=()
fi
[[ -n $IDLE_PEER ]] && IDLE+=("$IDLE_PEER")
[[ -z $OLDER || -x $OLDER/bench/trace-spawn.sh ]] || die "$OLDER has no bench/trace-spawn.sh"

FAILED=()
run() { # run NAME SCRIPT ARGS...   (SCRIPT relative to bench/, or an absolute path)
	local name=$1 script=$2
	shift 2
	[[ $script == /* ]] || script=$HERE/$script
	echo "# running $name" >&2
	if "$script" "$@" >"$WORK/$name.md" 2>"$WORK/$name.log"; then
		:
	else
		FAILED+=("$name (exit $?; log: ${LOGDIR:-kept only with -l}${LOGDIR:+/$name.log})")
		echo "$name FAILED:" >&2
		tail -5 "$WORK/$name.log" >&2
		echo "| $name | failed | | | | see log |" >>"$BENCH_SUMMARY"
	fi
	[[ -n $LOGDIR ]] && cp "$WORK/$name.log" "$LOGDIR/"
	return 0
}

MACHINE=$(machine_line)
SECTIONS=()
if [[ -n $OLDER ]]; then
	older="before: $(git -C "$OLDER" describe --always --dirty 2>/dev/null || echo "$OLDER")"
	BENCH_SUMMARY=$WORK/summary.older run trace-older "$OLDER/bench/trace-spawn.sh" "${TRACE[@]}" -L "$older"
	grep -h "reply after" "$WORK/summary.older" >>"$BENCH_SUMMARY" || true
	SECTIONS+=(trace-older)
fi
run trace-spawn trace-spawn.sh "${TRACE[@]}" ${OLDER:+-L "after: $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?')"}
run spawn spawn.sh "${SPAWN[@]}"
run cli-start cli-start.sh "${CLI[@]}"
run spawn-tput spawn-tput.sh "${TPUT[@]}"
run rtt rtt.sh "${RTT[@]}"
run remote-rtt remote-rtt.sh "${REMOTE[@]}"
run pause pause.sh "${PAUSE[@]}"
run output output.sh "${OUTPUT[@]}"
run flood flood.sh "${FLOOD[@]}"
run idle idle.sh "${IDLE[@]}"
SECTIONS+=(trace-spawn spawn cli-start spawn-tput rtt remote-rtt pause output flood idle)

{
	echo "# descartes benchmarks"
	echo
	echo "Run: $MACHINE; load at the end $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "descartes $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?'), $(hyperfine --version 2>/dev/null || true), $(bwrap --version 2>/dev/null || echo 'bwrap missing'), libzmq $(pkg-config --modversion libzmq 2>/dev/null || echo '?')."
	((QUICK)) && echo && echo "**Quick run (-q): too few samples to quote.**"
	echo
	echo "| figure | descartes | peer (same run) | ratio | target | verdict |"
	echo "| --- | --- | --- | --- | --- | --- |"
	cat "$BENCH_SUMMARY"
	if ((${#FAILED[@]})); then
		echo
		echo "Failed: ${FAILED[*]}"
	fi
	for name in "${SECTIONS[@]}"; do
		echo
		cat "$WORK/$name.md"
	done
} >"$WORK/report.md"
cat "$WORK/report.md"
[[ -n $OUT ]] && cp "$WORK/report.md" "$OUT"
exit 0
