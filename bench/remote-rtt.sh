#!/usr/bin/env bash
# bench/remote-rtt.sh — control round trip of a remote client: `get` through libdescartes over tcp with CURVE
# between two network namespaces (a veth pair), against the same `get` over the local ipc socket, same
# daemon, same agent, same run.
# usage: bench/remote-rtt.sh [-n N] [-R ROUNDS]    defaults: -n 10000 -R 3 (rounds alternate ipc and tcp)
# Needs root, a built tree (ninja -C build), iproute2 and nsenter. Prints a markdown section on stdout.
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
command -v ip >/dev/null || die "ip (iproute2) is missing"
command -v nsenter >/dev/null || die "nsenter (util-linux) is missing"
bench_init

NS_S=dbsrv$$ NS_C=dbcli$$ VETH=vdb$$
SERVER_IP=10.214.$(($$ % 200 + 10)).1 CLIENT_IP=10.214.$(($$ % 200 + 10)).2
netns_down() {
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	ip link del "${VETH}s" 2>/dev/null
	return 0
}
BENCH_CLEANUP_HOOKS+=(netns_down)
ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add "${VETH}s" type veth peer name "${VETH}c"
ip link set "${VETH}s" netns "$NS_S"
ip link set "${VETH}c" netns "$NS_C"
ip -n "$NS_S" addr add "$SERVER_IP/24" dev "${VETH}s"
ip -n "$NS_C" addr add "$CLIENT_IP/24" dev "${VETH}c"
for ns in "$NS_S" "$NS_C"; do ip -n "$ns" link set lo up; done
ip -n "$NS_S" link set "${VETH}s" up
ip -n "$NS_C" link set "${VETH}c" up

# the client's key maps to root, so that both clients `get` the same agent
"$DESCARTESCTL" keygen --out "$BENCH_TMP/server" >/dev/null
client_pub=$("$DESCARTESCTL" keygen --out "$BENCH_TMP/client")
mkdir -m 0755 "$BENCH_TMP/clients"
printf 'public-key = %s\ntenant = 0\n' "$client_pub" >"$BENCH_TMP/clients/bench.client"
ENDPOINT=tcp://$SERVER_IP:7700
BENCH_EXTRA_CONFIG="listen = $ENDPOINT
curve_secret_key = $BENCH_TMP/server.key
curve_clients_dir = $BENCH_TMP/clients"
# nsenter and not `ip netns exec`: the latter remounts /sys, and the daemon needs the host's cgroup2 mount
BENCH_DAEMON_WRAP=(nsenter "--net=/run/netns/$NS_S")
bench_daemon_start
REMOTE=(nsenter "--net=/run/netns/$NS_C" env "DESCARTES_SERVER_KEY=$BENCH_TMP/server.pub"
	"DESCARTES_CLIENT_KEY=$BENCH_TMP/client.key" "$BENCH_CLIENT" -H "$ENDPOINT")

agent=$("${CTL[@]}" spawn --name bench-remote-rtt -- /bin/sleep infinity)
IPC=() TCP=()
for r in $(seq "$R"); do
	note "remote rtt round $r/$R"
	i=$("${CLIENT[@]}" get -n "$N" "$agent")
	t=$("${REMOTE[@]}" get -n "$N" "$agent")
	echo "ipc $i" >&2
	echo "tcp $t" >&2
	IPC+=("$i") TCP+=("$t")
done
"${CTL[@]}" kill "$agent" >/dev/null

im=$(kv_col get_us_med "${IPC[@]}" | median) ip99=$(kv_col get_us_p99 "${IPC[@]}" | median)
tm=$(kv_col get_us_med "${TCP[@]}" | median) tp99=$(kv_col get_us_p99 "${TCP[@]}" | median)
rm_=$(ratio "$tm" "$im") rp=$(ratio "$tp99" "$ip99")

echo "## Remote control round trip (get over tcp + CURVE, veth between two network namespaces), $N round trips per run, $R runs"
echo
echo "| run | tcp+CURVE get med µs | p99 µs | ipc get med µs | p99 µs | ratio med | ratio p99 |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for k in "${!TCP[@]}"; do
	a=$(kv get_us_med "${TCP[$k]}") b=$(kv get_us_p99 "${TCP[$k]}")
	c=$(kv get_us_med "${IPC[$k]}") d=$(kv get_us_p99 "${IPC[$k]}")
	echo "| $((k + 1)) | $a | $b | $c | $d | $(ratio "$a" "$c") | $(ratio "$b" "$d") |"
done
echo "| **median** | $tm | $tp99 | $im | $ip99 | $rm_ | $rp |"
echo
summary_row "remote round trip, get over tcp+CURVE, median" "$tm µs" "same get over ipc $im µs" "$rm_" "(none)" "-"
