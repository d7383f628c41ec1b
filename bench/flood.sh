#!/usr/bin/env bash
# bench/flood.sh — one tenant's request flood against another tenant's round trips: tenant B measures `get`
# of its own agent, one every 2 ms (500/s, within the default request_rate), alone (the peer: B's own figure
# without the flood), then while 10 clients of tenant A send `get` requests as fast as the daemon answers
# them (bench-flood), ignoring retry_after_ms. The flood meets A's request rate limit (request_rate, default
# 1000/s) and is answered `busy`, soon 100 ms late (busy_replies_held: A does not wait as told); B is not
# limited.
# Target (issue 11): B's p99 under the flood below 5 ms.
# usage: bench/flood.sh [-n N] [-c CLIENTS] [-w WINDOW] [-R ROUNDS]   defaults: -n 5000 -c 10 -w 16 -R 3
# Needs root, a built tree (ninja -C build). Makes two throwaway users (and group descartes when missing) and
# removes them on exit. Prints a markdown section on stdout.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

N=5000 CLIENTS=10 WINDOW=16 R=3
while getopts "n:c:w:R:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	c) CLIENTS=$OPTARG ;;
	w) WINDOW=$OPTARG ;;
	R) R=$OPTARG ;;
	*) sed -n '2,10p' "$0"; exit 2 ;;
	esac
done
bench_require_root
bench_require_build
bench_init

MADE_USERS=() MADE_GROUP=''
flood_cleanup() {
	local u
	for u in "${MADE_USERS[@]}"; do userdel -f "$u" >/dev/null 2>&1; done
	[[ -n $MADE_GROUP ]] && groupdel "$MADE_GROUP" >/dev/null 2>&1
	return 0
}
BENCH_CLEANUP_HOOKS+=(flood_cleanup)
if ! getent group descartes >/dev/null; then
	groupadd -r descartes
	MADE_GROUP=descartes
fi
for t in a b; do
	u=dbf$t$$
	useradd -M -N -d /nonexistent -s /usr/sbin/nologin -c "descartes flood bench (throwaway)" -G descartes "$u"
	MADE_USERS+=("$u")
done
GID=$(getent group descartes | cut -d: -f3)
UA=$(id -u "${MADE_USERS[0]}") UB=$(id -u "${MADE_USERS[1]}")
# the tenants reach the sockets below BENCH_TMP (the runtime directory keeps the daemon's group and mode)
chmod 711 "$BENCH_TMP"
bench_daemon_start

RUNS=()
for r in $(seq "$R"); do
	note "flood round $r/$R"
	o=$("$BUILD/bench/bench-flood" -H "ipc://$BENCH_TMP/run/control" -g "$GID" -a "$UA" -b "$UB" \
		-c "$CLIENTS" -n "$N" -w "$WINDOW")
	echo "$o" >&2
	RUNS+=("$o")
done

am=$(kv_col alone_us_med "${RUNS[@]}" | median) ap=$(kv_col alone_us_p99 "${RUNS[@]}" | median)
fm=$(kv_col flood_us_med "${RUNS[@]}" | median) fp=$(kv_col flood_us_p99 "${RUNS[@]}" | median)
rps=$(kv_col flood_rps "${RUNS[@]}" | median) busy=$(kv_col flood_busy_pct "${RUNS[@]}" | median)
fp_ms=$(awk -v v="$fp" 'BEGIN {printf "%.2f\n", v / 1000}')

echo "## Tenant isolation under a request flood: B's get while $CLIENTS clients of A flood, $N round trips per run, $R runs"
echo
echo "Each client of A keeps $WINDOW \`get\` requests in flight and resends at once; the daemon's default request_rate (1000/s per uid) answers the excess \`busy\`, 100 ms late once A is refused more often than its rate (it ignores retry_after_ms). The flood ran at $rps replies/s, $busy % of them busy."
echo
echo "| run | B alone med µs | p99 µs | B under flood med µs | p99 µs | flood replies/s | busy % |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for i in "${!RUNS[@]}"; do
	l=${RUNS[$i]}
	echo "| $((i + 1)) | $(kv alone_us_med "$l") | $(kv alone_us_p99 "$l") | $(kv flood_us_med "$l") | $(kv flood_us_p99 "$l") | $(kv flood_rps "$l") | $(kv flood_busy_pct "$l") |"
done
echo "| **median** | $am | $ap | $fm | $fp | $rps | $busy |"
echo
summary_row "tenant B get under A's flood, median" "$fm µs" "B alone $am µs" "$(ratio "$fm" "$am")" "" ""
summary_row "tenant B get under A's flood, p99" "$fp µs" "B alone $ap µs" "$(ratio "$fp" "$ap")" "< 5 ms" "$(verdict "$fp_ms" '<=' 5)"
