#!/usr/bin/env bash
# bench/output.sh — output capture: an agent writing SIZE bytes of 80-byte lines to stdout, captured by its
# shim (`descartesctl spawn --wait`, request to exit), vs the same pipeline writing straight to a file on the
# file system that holds the daemon's state directory.
# Target (DESIGN 12): capture at least half the speed of the plain file write (ratio >= 0.5).
# usage: bench/output.sh [-s SIZE_MIB] [-R ROUNDS]   defaults: -s 200 -R 3 (rounds alternate). Needs root and
#   a built tree.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

SIZE=200 R=3
while getopts "s:R:h" opt; do
	case $opt in
	s) SIZE=$OPTARG ;;
	R) R=$OPTARG ;;
	*) sed -n '2,7p' "$0"; exit 2 ;;
	esac
done
bench_require_root
bench_require_build
bench_init
bench_daemon_start

BYTES=$((SIZE * 1024 * 1024))
LINE=0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz012345
PIPE="yes $LINE | head -c $BYTES"
now_ns() { date +%s%N; }
mbps() { awk -v b="$BYTES" -v ns="$1" 'BEGIN {printf "%.0f", b / (ns / 1e9) / 1e6}'; }

OURS=() PEER=()
for r in $(seq "$R"); do
	note "output round $r/$R"
	t0=$(now_ns)
	"${CTL[@]}" spawn --wait -- /bin/sh -c "$PIPE" >/dev/null || die "the capture run failed"
	t1=$(now_ns)
	OURS+=("$(mbps $((t1 - t0)))")
	bench_purge
	t0=$(now_ns)
	/bin/sh -c "$PIPE" >"$BENCH_TMP/plain.out"
	t1=$(now_ns)
	[[ $(stat -c %s "$BENCH_TMP/plain.out") == "$BYTES" ]] || die "the plain run wrote a short file"
	rm -f "$BENCH_TMP/plain.out"
	PEER+=("$(mbps $((t1 - t0)))")
	note "captured ${OURS[-1]} MB/s, plain file ${PEER[-1]} MB/s"
done
om=$(printf '%s\n' "${OURS[@]}" | median) pm=$(printf '%s\n' "${PEER[@]}" | median)
rt=$(ratio "$om" "$pm")

echo "## Output capture, $SIZE MiB of 80-byte lines (\`yes LINE | head -c $BYTES\`)"
echo
echo "MB/s = 10^6 bytes/s; $R runs each, alternating; median. The shim stores at most the per-agent output cap"
echo "(older bytes are dropped), so this measures the capture path, not what is kept."
echo
echo "| run | captured by the shim MB/s | straight to a file MB/s | ratio |"
echo "| --- | --- | --- | --- |"
for i in "${!OURS[@]}"; do
	echo "| $((i + 1)) | ${OURS[$i]} | ${PEER[$i]} | $(ratio "${OURS[$i]}" "${PEER[$i]}") |"
done
echo "| **median** | $om | $pm | $rt |"
echo
summary_row "output capture, $SIZE MiB" "$om MB/s" "same bytes to a file $pm MB/s" "$rt" "≥ 0.5" "$(verdict "$rt" '>=' 0.5)"
