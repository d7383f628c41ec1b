#!/usr/bin/env bash
# bench/trace-spawn.sh — where one spawn's time goes: CLOCK_MONOTONIC stamps at every hop of a spawn of
# /bin/true through libdescartes (bench-client spawn -T, one warm connection, the exit event awaited before
# the next spawn), joined with the daemon's spawn-trace debug lines (supervisor/spawn-trace.h: the daemon's
# hops and the shim's, carried in its STARTED). The daemon runs with log_level = debug.
# Hops: client send, daemon receive (request decoded), shim launch (dirs, record, cgroups done), shim exec
# (its error pipe closed), shim main, mount view done, agent clone, agent exec, STARTED sent, daemon back in
# its loop after the launch, STARTED received, reply sent, client receive, exit event received.
# usage: bench/trace-spawn.sh [-n N] [-w WARMUP] [-L LABEL]    defaults: -n 50 -w 5
#   Prints a markdown section on stdout: one spawn (the one with the median call time), the median of each
#   hop's offset from the client's send and the median step from the hop before, over N spawns. LABEL is
#   added to the section's title (run-all.sh traces an older tree beside this one).
#   Summary row: the median time from the agent's exec to the daemon's reply (issue 13: within 0.3 ms).
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

N=50 WARMUP=5 LABEL=''
while getopts "n:w:L:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	w) WARMUP=$OPTARG ;;
	L) LABEL=$OPTARG ;;
	*) sed -n '2,14p' "$0"; exit 2 ;;
	esac
done
bench_require_root
bench_require_build
bench_init
BENCH_EXTRA_CONFIG='log_level = debug'
bench_daemon_start

"${CLIENT[@]}" spawn -n "$WARMUP" -- /bin/true >/dev/null
bench_purge
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
"${CLIENT[@]}" spawn -T -n "$N" -- /bin/true >"$BENCH_TMP/client.out" 2>"$BENCH_TMP/client.trace"
cat "$BENCH_TMP/client.out" >&2
grep -h 'spawn-trace ' "$BENCH_TMP/daemon.log" >"$BENCH_TMP/daemon.trace" || true
[[ -s $BENCH_TMP/daemon.trace ]] || die "the daemon wrote no spawn-trace lines (is it this tree's?)"

# One line per spawn: "hop=ns ..." of the client and the daemon joined by the agent's id.
awk '
	/^spawn-client / { id = $2; for (i = 3; i <= NF; i++) { split($i, kv, "="); c[id] = c[id] " client_" kv[1] "=" kv[2] } next }
	/spawn-trace / {
		for (i = 1; i <= NF; i++) if ($i == "spawn-trace") break
		id = $(i - 1); sub(/:$/, "", id)
		line = ""; for (j = i + 1; j <= NF; j++) line = line " " $j
		d[id] = line
	}
	END { for (id in c) if (id in d) print id c[id] d[id] }
' "$BENCH_TMP/client.trace" "$BENCH_TMP/daemon.trace" >"$BENCH_TMP/joined"
cat "$BENCH_TMP/joined" >&2
[[ -s $BENCH_TMP/joined ]] || die "no spawn of the client matched a daemon spawn-trace line"

echo "## Spawn trace: one spawn of /bin/true, hop by hop${LABEL:+ ($LABEL)}"
echo
echo "bench/trace-spawn.sh: $(wc -l <"$BENCH_TMP/joined") spawns through libdescartes (bench-client spawn -T, the exit event awaited before the next), daemon at log_level debug; load $LOAD. Offsets are µs from the client's send (CLOCK_MONOTONIC, one clock for every process); a step is the time from the hop above it. \"one spawn\" is the spawn whose call took the median time."
echo
awk '
	BEGIN {
		split("client_send arrived launch shim_exec shim_main view agent_fork agent_exec shim_sent spawned started replied client_reply client_end", order, " ")
		where["client_send"] = "client: descartes_spawn called"
		where["arrived"] = "daemon: request read and decoded"
		where["launch"] = "daemon: state dir, record, cgroups done; shim clone3"
		where["shim_exec"] = "daemon: the shim exec'"'"'d (error pipe closed)"
		where["shim_main"] = "shim: main()"
		where["view"] = "shim: mount view and namespaces done"
		where["agent_fork"] = "shim: agent clone3"
		where["agent_exec"] = "shim: the agent exec'"'"'d"
		where["shim_sent"] = "shim: STARTED sent"
		where["spawned"] = "daemon: watches, record written, back in the loop"
		where["started"] = "daemon: STARTED read"
		where["replied"] = "daemon: reply handed to the ROUTER"
		where["client_reply"] = "client: reply received"
		where["client_end"] = "client: exit event received"
	}
	function med(arr, n,   i, j, t, k) {
		k = 0; for (i = 1; i <= n; i++) v[++k] = arr[i]
		for (i = 2; i <= k; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
		return k ? v[int((k + 1) / 2)] : 0
	}
	{
		n++; delete h
		for (i = 2; i <= NF; i++) { split($i, kv, "="); h[kv[1]] = kv[2] }
		t0 = h["client_send"]; prev = t0
		for (o = 1; o in order; o++) {
			k = order[o]
			if (!(k in h) || h[k] == 0) { miss[k] = 1; continue }
			off[k, n] = (h[k] - t0) / 1000
			step[k, n] = (h[k] - prev) / 1000
			prev = h[k]
		}
		call[n] = (h["client_reply"] - t0) / 1000
		idx[n] = n
	}
	END {
		m = med(call, n)
		for (i = 1; i <= n; i++) if (call[i] == m) { one = i; break }
		print "| hop | where | one spawn, µs | median µs from send | median step µs |"
		print "| --- | --- | --- | --- | --- |"
		for (o = 1; o in order; o++) {
			k = order[o]
			if (k in miss) { printf "| %s | %s | - | - | - |\n", k, where[k]; continue }
			for (i = 1; i <= n; i++) { a[i] = off[k, i]; b[i] = step[k, i] }
			printf "| %s | %s | %.0f | %.0f | %.0f |\n", k, where[k], off[k, one], med(a, n), med(b, n)
		}
		printf "\nThe spawn call (send to reply) took %.0f µs median over %d spawns.\n", m, n
	}
' "$BENCH_TMP/joined"
# the reply's distance from the agent's exec, per spawn, then its median
exec_to_reply=$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); h[kv[1]] = kv[2] }
	if (h["agent_exec"] && h["replied"]) print (h["replied"] - h["agent_exec"]) / 1000 }' "$BENCH_TMP/joined" | median)
echo
echo "From the agent's exec to the daemon's reply: $exec_to_reply µs (median of each spawn's own)."
summary_row "spawn reply after the agent's exec (trace${LABEL:+, $LABEL})" "$exec_to_reply µs" "—" "—" "≤ 300 µs" "$(verdict "$exec_to_reply" '<=' 300)"
