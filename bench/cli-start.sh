#!/usr/bin/env bash
# bench/cli-start.sh — what one CLI call costs from exec to exit: `descartesctl health` beside the least a
# ZeroMQ client does (bench-zmq-start: a context, a DEALER, one health round trip over ipc, close), a client
# with no library at all (bench-zmtp-start: the same round trip in ZMTP written by hand) and a bare process
# (`/bin/true`), all against the same private daemon in the same run.
#   wall time:    hyperfine -N, ROUNDS rounds; the figure is the median of the rounds' medians
#   instructions: user-space instructions of one run under valgrind (lackey), which the load does not move;
#                 skipped (and said so) when valgrind is missing
# descartesctl over bench-zmq-start is what descartes adds; bench-zmq-start over bench-zmtp-start is what
# loading and starting libzmq costs.
# usage: bench/cli-start.sh [-r RUNS] [-w WARMUP] [-R ROUNDS]
#   defaults: -r 200 -w 20 -R 3. Needs root, a built tree, hyperfine and jq. Prints a markdown section on
#   stdout.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=200 WARMUP=20 R=3
while getopts "r:w:R:h" opt; do
	case $opt in
	r) RUNS=$OPTARG ;;
	w) WARMUP=$OPTARG ;;
	R) R=$OPTARG ;;
	*) sed -n '2,14p' "$0"; exit 2 ;;
	esac
done
bench_require_root
command -v hyperfine >/dev/null || die "hyperfine is missing: apt-get install -y hyperfine"
command -v jq >/dev/null || die "jq is missing: apt-get install -y jq"
bench_require_build
bench_init
bench_daemon_start

EP=ipc://$BENCH_TMP/run/control
NAMES=("descartesctl health" "minimal libzmq client" "hand-written ZMTP client" "bare process")
CMDS=("${CTL[*]} health" "$BUILD/bench/bench-zmq-start $EP" "$BUILD/bench/bench-zmtp-start $EP" "/bin/true")
for c in "${CMDS[@]}"; do
	# shellcheck disable=SC2086  # split on whitespace, as hyperfine -N does
	$c >/dev/null 2>&1 || die "probe run failed: $c"
done

declare -A MED
for r in $(seq "$R"); do
	note "cli start round $r/$R"
	hf=()
	for i in "${!CMDS[@]}"; do hf+=(-n "${NAMES[$i]}" "${CMDS[$i]}"); done
	hyperfine -N --style none --warmup "$WARMUP" --runs "$RUNS" --export-json "$BENCH_TMP/hf.json" "${hf[@]}" >&2
	while IFS=$'\t' read -r name med; do
		MED[$name]+="$med "
	done < <(jq -r '.results[] | [.command, (.median * 1000000 | round / 1000)] | @tsv' "$BENCH_TMP/hf.json")
done
med_of() { tr ' ' '\n' <<<"${MED[$1]}" | grep . | median; }
spr_of() { tr ' ' '\n' <<<"${MED[$1]}" | grep . | spread; }

declare -A INSTR
SKIPPED=''
if command -v valgrind >/dev/null; then
	for i in "${!CMDS[@]}"; do
		# shellcheck disable=SC2086
		INSTR[${NAMES[$i]}]=$(valgrind --tool=lackey --basic-counts=yes ${CMDS[$i]} 2>&1 >/dev/null |
			sed -n 's/.*guest instrs: *\([0-9,]*\)$/\1/p' | tr -d , | head -1)
		note "${NAMES[$i]}: ${INSTR[${NAMES[$i]}]} instructions"
	done
else
	SKIPPED="valgrind is not installed (apt-get install -y valgrind): no instruction counts"
	note "$SKIPPED"
fi

ours=$(med_of "descartesctl health") zmq=$(med_of "minimal libzmq client")
zmtp=$(med_of "hand-written ZMTP client") bare=$(med_of "bare process")
echo "## CLI start: \`descartesctl health\` from exec to exit"
echo
echo "hyperfine -N, warmup $WARMUP, $RUNS runs per command, $R rounds; the figure is the median of the rounds' medians (range of the rounds in brackets); instructions: user space, one run under valgrind --tool=lackey. Load at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
[[ -n $SKIPPED ]] && echo && echo "Skipped: $SKIPPED."
echo
echo "| command | median ms | vs minimal libzmq client | vs bare process | instructions |"
echo "| --- | --- | --- | --- | --- |"
for n in "${NAMES[@]}"; do
	m=$(med_of "$n")
	echo "| $n | $m [$(spr_of "$n")] | $(ratio "$m" "$zmq") | $(ratio "$m" "$bare") | ${INSTR[$n]:--} |"
done
echo
summary_row "CLI start, \`descartesctl health\`" "$ours ms" "minimal libzmq client $zmq ms" "$(ratio "$ours" "$zmq")" "close to 1 (issue 13)" "-"
summary_row "CLI start floor without libzmq" "$ours ms" "hand-written ZMTP client $zmtp ms, bare process $bare ms" "$(ratio "$ours" "$zmtp")" "(a figure)" "-"
