#!/usr/bin/env bash
# bench/rtt.sh — control round trip: `get` through libdescartes on a warm connection vs a bare libzmq
# REQ/REP round trip over ipc:// with messages of the same size (bench-zmq-rtt, its own server process).
# Target (DESIGN 12): within 1.5x of the bare round trip.
# usage: bench/rtt.sh [-n N] [-R ROUNDS]    defaults: -n 10000 -R 3 (rounds alternate ours and the peer)
# Needs root, a built tree (ninja -C build), libzmq. Prints a markdown section on stdout.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

N=10000 R=3
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

agent=$("${CTL[@]}" spawn --name bench-rtt -- /bin/sleep infinity)
OURS=() PEER=()
for r in $(seq "$R"); do
	note "rtt round $r/$R"
	o=$("${CLIENT[@]}" get -n "$N" "$agent")
	q=$(kv req_bytes "$o") p=$(kv rep_bytes "$o")
	z=$("$BENCH_ZMQ_RTT" -n "$N" -q "$q" -p "$p" "ipc://$BENCH_TMP/rtt.sock")
	echo "$o" >&2
	echo "$z" >&2
	OURS+=("$o") PEER+=("$z")
done
"${CTL[@]}" kill "$agent" >/dev/null

om=$(kv_col get_us_med "${OURS[@]}" | median) op=$(kv_col get_us_p99 "${OURS[@]}" | median)
pm=$(kv_col rtt_us_med "${PEER[@]}" | median) pp=$(kv_col rtt_us_p99 "${PEER[@]}" | median)
rm_=$(ratio "$om" "$pm") rp=$(ratio "$op" "$pp")

echo "## Control round trip (get), $N round trips per run, $R runs, median of the runs' figures"
echo
echo "request $q bytes, reply $p bytes (the bare peer sends the same sizes); libzmq $(kv zmq_version "${PEER[0]}")"
echo
echo "| run | descartes get med µs | p99 µs | bare REQ/REP med µs | p99 µs | ratio med | ratio p99 |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for i in "${!OURS[@]}"; do
	a=$(kv get_us_med "${OURS[$i]}") b=$(kv get_us_p99 "${OURS[$i]}")
	c=$(kv rtt_us_med "${PEER[$i]}") d=$(kv rtt_us_p99 "${PEER[$i]}")
	echo "| $((i + 1)) | $a | $b | $c | $d | $(ratio "$a" "$c") | $(ratio "$b" "$d") |"
done
echo "| **median** | $om | $op | $pm | $pp | $rm_ | $rp |"
echo
summary_row "control round trip, get, median" "$om µs" "bare libzmq REQ/REP ipc $pm µs" "$rm_" "≤ 1.5" "$(verdict "$rm_" '<=' 1.5)"
summary_row "control round trip, get, p99" "$op µs" "bare libzmq REQ/REP ipc $pp µs" "$rp" "(≤ 1.5)" "$(verdict "$rp" '<=' 1.5)"
