#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest suite of the meson test `vm` (run inside the guest by vmrun): kernel-level proof that the pure
# cgroup v2 limits descartes relies on hold (the peer baseline), then the same limits set by descartesd from
# the build tree and driven through descartesctl. usage: guest-limits.sh HOG   (HOG: the vmtest-hog binary)
. "$(dirname "$0")/guest-lib.sh"
. "$(dirname "$0")/guest-daemon.sh"

HOG=${1:?usage: guest-limits.sh HOG}
# agents start in their own working directory
case $HOG in
/*) ;;
*) HOG=$PWD/$HOG ;;
esac
# Agents see the root read-only but their own private /tmp, so a build tree under /tmp (a checkout there) is
# hidden from them: they run a copy of the hog from /var/tmp.
AGENT_HOG=/var/tmp/vmtest-agent-bin/vmtest-hog
mkdir -p "${AGENT_HOG%/*}" && cp "$HOG" "$AGENT_HOG" && chmod 755 "${AGENT_HOG%/*}" "$AGENT_HOG" ||
        AGENT_HOG=$HOG

check_build_tree() {
        note "$VMTEST_BUILD_DIR"
        [ -d "$VMTEST_BUILD_DIR" ] && [ -x "$HOG" ] && "$HOG" spin 0.01 >/dev/null
}

check_controllers() {
        _ctl=$(cat /sys/fs/cgroup/cgroup.controllers)
        _opts=$(awk '$2 == "/sys/fs/cgroup" { print $3 ":" $4 }' /proc/mounts)
        note "/sys/fs/cgroup $_opts; controllers: $_ctl"
        case $_opts in
        cgroup2:*nsdelegate*) ;;
        *) return 1 ;;
        esac
        if grep -q ' cgroup ' /proc/mounts; then
                note "cgroup v1 hierarchies are mounted"
                return 1
        fi
        _cg=$(cg_new controllers) || return 1
        _leaf=$(cat "$_cg/cgroup.controllers")
        note "a child cgroup gets: $_leaf"
        cg_remove "$_cg"
        for _c in cpu memory pids; do
                has_word "$_ctl" $_c && has_word "$_leaf" $_c || return 1
        done
}

check_memory_oom() {
        _cg=$(cg_new memory) || return 1
        echo 32M >"$_cg/memory.max" || return 1
        echo 0 >"$_cg/memory.swap.max" || return 1
        "$HOG" --cgroup "$_cg" alloc 200 >"$VMTEST_JOB/memory.log" 2>&1
        _rc=$?
        _kills=$(cg_key "$_cg/memory.events" oom_kill)
        note "200 MiB allocation under memory.max $(cat "$_cg/memory.max"): exit $_rc, oom_kill $_kills," \
                "memory.peak $(($(cat "$_cg/memory.peak") / 1048576)) MiB, last output '$(tail -n 1 "$VMTEST_JOB/memory.log")'"
        cg_remove "$_cg"
        [ "$_rc" = 137 ] && [ "$_kills" -ge 1 ]
}

# cpu_ratio CGROUP SECONDS: spins in CGROUP and prints "RATIO NR_THROTTLED" (CPU time over wall time).
cpu_ratio() {
        _t=$(uptime_s)
        "$HOG" --cgroup "$1" spin "$2" >/dev/null || return 1
        _wall=$(elapsed "$_t")
        awk -v u="$(cg_key "$1/cpu.stat" usage_usec)" -v w="$_wall" -v t="$(cg_key "$1/cpu.stat" nr_throttled)" \
                'BEGIN { printf "%.3f %d\n", u / 1e6 / w, t }'
}

check_cpu_max() {
        _base=$(cg_new cpu-unlimited) || return 1
        _cg=$(cg_new cpu-limited) || return 1
        echo "20000 100000" >"$_cg/cpu.max" || return 1
        # shellcheck disable=SC2046 # the words are the sample's fields, split on purpose
        set -- $(cpu_ratio "$_base" 1) $(cpu_ratio "$_cg" 3)
        note "busy loop without limit: $1 CPU; with cpu.max '$(cat "$_cg/cpu.max")' over 3 s: $3 CPU, nr_throttled $4"
        cg_remove "$_base"
        cg_remove "$_cg"
        [ "${4:-0}" -gt 0 ] && awk -v r="${3:-1}" 'BEGIN { exit !(r > 0 && r <= 0.3) }'
}

check_pids_max() {
        _cg=$(cg_new pids) || return 1
        echo 32 >"$_cg/pids.max" || return 1
        bg_start forkbomb "$HOG" --cgroup "$_cg" forkbomb 4
        wait_for 10 awk '$1 == "max" && $2 > 0 { f = 1 } END { exit !f }' "$_cg/pids.events"
        _cur=$(cat "$_cg/pids.current")
        _t=$(uptime_s)
        _alive=$(timeout 30 sh -c 'echo alive')
        _lat=$(elapsed "$_t")
        wait "$(bg_pid forkbomb)"
        _max=$(cg_key "$_cg/pids.events" max)
        note "fork bomb under pids.max $(cat "$_cg/pids.max"): pids.current $_cur, pids.events max $_max;" \
                "a shell outside answered '$_alive' in $_lat s; $(tail -n 1 "$VMTEST_JOB/forkbomb.log")"
        cg_remove "$_cg"
        [ "$_max" -gt 0 ] && [ "$_cur" -le 32 ] && [ "$_alive" = alive ]
}

frozen_is() {
        grep -qx "frozen $2" "$1/cgroup.events"
}

check_freeze() {
        _cg=$(cg_new freeze) || return 1
        bg_start freeze_load "$HOG" --cgroup "$_cg" spin 120
        wait_for 10 grep -q . "$_cg/cgroup.procs" || return 1
        sleep 0.3
        _t=$(uptime_s)
        echo 1 >"$_cg/cgroup.freeze"
        wait_for 10 frozen_is "$_cg" 1 || {
                note "not frozen after 10 s"
                return 1
        }
        _tf=$(elapsed "$_t")
        _u1=$(cg_key "$_cg/cpu.stat" usage_usec)
        sleep 1
        _frozen=$(($(cg_key "$_cg/cpu.stat" usage_usec) - _u1))
        _t=$(uptime_s)
        echo 0 >"$_cg/cgroup.freeze"
        wait_for 10 frozen_is "$_cg" 0 || {
                note "still frozen 10 s after thaw"
                return 1
        }
        _tt=$(elapsed "$_t")
        _u2=$(cg_key "$_cg/cpu.stat" usage_usec)
        sleep 0.5
        _u3=$(cg_key "$_cg/cpu.stat" usage_usec)
        note "busy cgroup frozen 1 after $_tf s, CPU used in 1 s frozen: $_frozen us;" \
                "frozen 0 after $_tt s, CPU used in 0.5 s thawed: $((_u3 - _u2)) us"
        cg_remove "$_cg"
        bg_stop freeze_load
        [ "$_frozen" -lt 20000 ] && [ $((_u3 - _u2)) -gt 1000 ]
}

# --- descartesd: the same limits, set by the daemon on each agent's cgroup ---

VMT_DROOT=/sys/fs/cgroup/descartes-vm
VMT_DRUN=/run/descartes-vm
VMT_DSTATE=/tmp/descartes-vm-state
VMT_MANY=50
export DESCARTES_HOST="ipc://$VMT_DRUN/control"

daemon_cleanup() {
        bg_stop events
        bg_stop descartesd
        cg_remove_tree "$VMT_DROOT"
}

daemon_alive() {
        _dp=$(bg_pid descartesd)
        if [ -z "$_dp" ] || ! kill -0 "$_dp" 2>/dev/null; then
                note "descartesd is not running (log: $VMTEST_JOB/descartesd.log)"
                return 1
        fi
}

health_ok() {
        ctl --timeout 2s health >/dev/null 2>&1
}

check_daemon() {
        mkdir "$VMT_DROOT" || return 1
        at_finish daemon_cleanup
        _t=$(uptime_s)
        # asked for the systemd driver on a host without systemd: cgroupfs on the given root, saying so
        bg_start descartesd daemon_exec --state-dir "$VMT_DSTATE" --runtime-dir "$VMT_DRUN" --cgroup-root "$VMT_DROOT" \
                --cgroup-driver systemd
        if ! wait_for 30 health_ok; then
                note "no answer to health within 30 s (log: $VMTEST_JOB/descartesd.log)"
                return 1
        fi
        _h=$(ctl health)
        _cgl=${_h##*cgroup:}
        _cgl=$(echo $_cgl)
        _fb=$(grep -m1 'using the cgroupfs driver' "$VMTEST_JOB/descartesd.log")
        note "$("$VMT_DAEMON" --version) answers health $(elapsed "$_t") s after its start; cgroup $_cgl;" \
                "daemon in $(cut -d: -f3 "/proc/$(bg_pid descartesd)/cgroup"); --cgroup-driver systemd: '$_fb'"
        [ -n "$_fb" ] || return 1
        bg_start events "$VMT_CTL" events -f
        for _c in cpu memory pids; do
                case $_cgl in
                *"$_c"*) ;;
                *) return 1 ;;
                esac
        done
}

# json_obj JSON KEY: the flat object (no nested objects) that "KEY": holds, or null.
json_obj() {
        _jo=${1#*\""$2"\":}
        case $_jo in
        \{*) echo "${_jo%%\}*}}" ;;
        *) echo null ;;
        esac
}

# peak_watch AGENTS_DIR SKIP SECONDS: waits for an agent cgroup under AGENTS_DIR/*/ whose name does not end in
# SKIP, reads its memory.peak until the daemon removes the cgroup (at the agent's end) and prints the last
# value read (0 if none). Shell builtins only: the loop must not slow the agent down.
peak_watch() {
        _pw='' _pk=0 _n=0
        read -r _up _ </proc/uptime
        _end=$((${_up%.*} + $3))
        while :; do
                if [ -z "$_pw" ]; then
                        for _d in "$1"/*/a-*; do
                                case $_d in
                                *"$2" | *"*"*) ;;
                                *) _pw=$_d ;;
                                esac
                        done
                elif read -r _v 2>/dev/null <"$_pw/memory.peak"; then
                        _pk=$_v
                else
                        break
                fi
                _n=$((_n + 1))
                if [ $((_n % 64)) = 0 ]; then
                        read -r _up _ </proc/uptime
                        [ "${_up%.*}" -lt "$_end" ] || break
                fi
        done
        echo "$_pk"
}

check_agent_oom() {
        daemon_alive || return 1
        _nb=$(ctl spawn --name neighbour -- sleep 600) || return 1
        wait_state neighbour running 20 || return 1
        _nbpid=$(agent_field neighbour pid)
        _t=$(uptime_s)
        ctl spawn --name oom --memory 32M --wait -- "$AGENT_HOG" alloc 200 >"$VMTEST_JOB/agent-oom.log" 2>&1 &
        _sp=$!
        _peak=$(peak_watch "$VMT_DROOT/agents" "$_nb" 60)
        wait "$_sp"
        _rc=$?
        _wall=$(elapsed "$_t")
        _j=$(agent_json oom) || return 1
        _reason=$(json_get "$_j" reason)
        # inspect reports usage only while the agent's cgroup exists; the daemon removes it when the agent ends.
        _ipeak=$(json_get "$_j" memory_peak) || _ipeak=none
        [ "$_ipeak" = none ] || _peak=$_ipeak
        _nbstate=$(agent_field neighbour state)
        _nbproc=gone
        kill -0 "$_nbpid" 2>/dev/null && _nbproc="alive (pid $_nbpid)"
        _t=$(uptime_s)
        _health=failed
        ctl health >/dev/null && _health="answered in $(elapsed "$_t") s"
        note "spawn --memory 32M of 'alloc 200': spawn --wait exit $_rc after $_wall s, state $(json_get "$_j" state)," \
                "reason $_reason, signal $(json_get "$_j" signal), limits $(json_obj "$_j" limits);" \
                "memory.peak $((_peak / 1048576)) MiB ($_peak; inspect after the end: $_ipeak);" \
                "neighbour $_nbstate, its process $_nbproc; health $_health"
        ctl kill neighbour >/dev/null && wait_state neighbour exited 20 && ctl rm neighbour oom >/dev/null
        [ "$_rc" = 137 ] && [ "$_reason" = oom_killed ] && [ "$_peak" -gt $((16 * 1048576)) ] &&
                [ "$_peak" -le 33554432 ] && [ "$_nbstate" = running ] && [ "$_nbproc" != gone ] &&
                [ "$_health" != failed ]
}

# usage_sample AGENT: "UPTIME CPU_USEC" from inspect, the uptime taken halfway through the call.
usage_sample() {
        read -r _u0 _ </proc/uptime
        _j=$(agent_json "$1") || return 1
        read -r _u1 _ </proc/uptime
        echo "$(awk -v a="$_u0" -v b="$_u1" 'BEGIN { printf "%.3f", (a + b) / 2 }') $(json_get "$_j" cpu_usec)"
}

# cpu_share T1 U1 T2 U2: CPU time over wall time between two usage samples.
cpu_share() {
        awk -v t1="$1" -v u1="$2" -v t2="$3" -v u2="$4" 'BEGIN { printf "%.3f", (u2 - u1) / 1e6 / (t2 - t1) }'
}

agent_end() {
        ctl kill "$1" >/dev/null 2>&1
        wait_state "$1" exited 20 && ctl rm "$1" >/dev/null
}

check_agent_cpu() {
        daemon_alive || return 1
        # it spins far longer than the window (a loaded host slows the guest down) and is killed after it
        ctl spawn --name cpu --cpu 0.2 -- "$AGENT_HOG" spin 120 >/dev/null || return 1
        wait_state cpu running 20 || return 1
        _cg=$(cg_abs "$(agent_field cpu cgroup)")
        sleep 0.5
        _thr0=$(cg_key "$_cg/cpu.stat" nr_throttled)
        # shellcheck disable=SC2046 # the words are the sample's fields, split on purpose
        set -- $(usage_sample cpu)
        sleep 5
        # shellcheck disable=SC2046 # the words are the sample's fields, split on purpose
        set -- "$@" $(usage_sample cpu)
        _thr=$(($(cg_key "$_cg/cpu.stat" nr_throttled) - _thr0))
        if [ $# != 4 ] || ! agent_state_is cpu running; then
                note "the agent is not running through the whole window (samples: $*)"
                agent_end cpu
                return 1
        fi
        _share=$(cpu_share "$@")
        note "spawn --cpu 0.2 of a busy loop: cpu.max '$(cat "$_cg/cpu.max")'; usage.cpu_usec grew" \
                "$(($4 - $2)) us over $(awk -v a="$1" -v b="$3" 'BEGIN { printf "%.2f", b - a }') s of wall time:" \
                "$_share CPU; nr_throttled +$_thr in the window ($(cg_key "$_cg/cpu.stat" nr_periods) periods in all)"
        agent_end cpu
        [ "$_thr" -gt 0 ] && awk -v r="$_share" 'BEGIN { exit !(r >= 0.15 && r <= 0.25) }'
}

# agent_pids_events DIR: pids.events max of an agent's cgroup and its shim/ and payload/ leaves together.
# Kernels before commit 73e75e6fc352 (2024, Debian 12's 6.1 among them) count a refused fork in the forking
# task's own cgroup, the leaf, not in the ancestor whose pids.max refused it.
agent_pids_events() {
        cat "$1/pids.events" "$1/shim/pids.events" "$1/payload/pids.events" 2>/dev/null |
                awk '$1 == "max" { n += $2 } END { print n + 0 }'
}

pids_hit() {
        [ "$(agent_pids_events "$1")" -gt 0 ]
}

check_agent_pids() {
        daemon_alive || return 1
        _t0=$(uptime_s)
        # 15 s of bombing: the agent's cgroup is gone once it ends, so everything read from it below is read
        # first, and a loaded host (TCG beside other work) still leaves it alive that long.
        ctl spawn --name forkbomb --pids 32 -- "$AGENT_HOG" forkbomb 15 >/dev/null || return 1
        _cg=$(cg_abs "$(agent_field forkbomb cgroup)")
        _pmax=$(cat "$_cg/pids.max")
        _t=$(uptime_s)
        wait_for 5 pids_hit "$_cg" || note "pids.events max still 0 after 5 s"
        _th=$(elapsed "$_t")
        _cur=$(cat "$_cg/pids.current")
        _max=$(agent_pids_events "$_cg")
        _own=$(cg_key "$_cg/pids.events" max)
        _leaf=$(cg_key "$_cg/payload/pids.events" max)
        _peak=$(cat "$_cg/pids.peak" 2>/dev/null || echo -)
        _t=$(uptime_s)
        _alive=$(timeout 30 sh -c 'echo alive')
        _lat=$(elapsed "$_t")
        _t=$(uptime_s)
        _health=failed
        ctl health >/dev/null && _health="answered in $(elapsed "$_t") s"
        wait_state forkbomb exited 60 || note "not exited 60 s later"
        _tx=$(elapsed "$_t0")
        _j=$(agent_json forkbomb)
        _reason=$(json_get "$_j" reason)
        _hits=$(awk -v id="$(json_get "$_j" id)" '/limit_hit/ && index($0, id) { n++ } END { print n + 0 }' \
                "$VMTEST_JOB/events.log")
        note "spawn --pids 32 of a fork bomb: pids.max $_pmax, pids.current $_cur, pids.peak $_peak," \
                "pids.events max $_max ($_own in the agent's cgroup, $_leaf in payload/) $_th s after the spawn; a shell outside answered" \
                "'$_alive' in $_lat s, health $_health; ended ${_tx} s after the spawn: state" \
                "$(json_get "$_j" state), reason $_reason, exit code $(json_get "$_j" exit_code);" \
                "its limit_hit events: $_hits"
        ctl rm forkbomb >/dev/null
        [ "$_max" -gt 0 ] && [ "$_cur" -le 32 ] && [ "$_alive" = alive ] && [ "$_health" != failed ] &&
                [ "$(json_get "$_j" state)" = exited ] || return 1
        case $_peak in
        - | [0-9] | [12][0-9] | 3[0-2]) ;;
        *) return 1 ;;
        esac
        # The bomb exits 1 after refused forks: pids_limit (protocol: a refused fork, then a failure), with a
        # limit_hit event.
        [ "$_reason" = pids_limit ] && [ "$_hits" -ge 1 ]
}

check_agent_pause() {
        daemon_alive || return 1
        ctl spawn --name busy -- "$AGENT_HOG" spin 120 >/dev/null || return 1
        wait_state busy running 20 || return 1
        _cg=$(cg_abs "$(agent_field busy cgroup)")
        sleep 0.5
        _t=$(uptime_s)
        ctl pause busy >/dev/null || note "pause failed"
        _tp=$(elapsed "$_t")
        _st=$(agent_field busy state)
        _fz=$(cg_key "$_cg/payload/cgroup.events" frozen)
        # shellcheck disable=SC2046 # the words are the sample's fields, split on purpose
        set -- $(usage_sample busy)
        sleep 1
        # shellcheck disable=SC2046 # the words are the sample's fields, split on purpose
        set -- "$@" $(usage_sample busy)
        _t=$(uptime_s)
        ctl resume busy >/dev/null || note "resume failed"
        _tr=$(elapsed "$_t")
        _st2=$(agent_field busy state)
        _fz2=$(cg_key "$_cg/payload/cgroup.events" frozen)
        # shellcheck disable=SC2046 # the words are the sample's fields, split on purpose
        set -- "$@" $(usage_sample busy)
        sleep 1
        # shellcheck disable=SC2046 # the words are the sample's fields, split on purpose
        set -- "$@" $(usage_sample busy)
        if [ $# != 8 ]; then
                note "usage samples missing: $*"
                agent_end busy
                return 1
        fi
        _paused=$(($4 - $2))
        _resumed=$(($8 - $6))
        note "busy loop: pause returned in $_tp s, state $_st, payload frozen $_fz, CPU +$_paused us in" \
                "$(awk -v a="$1" -v b="$3" 'BEGIN { printf "%.2f", b - a }') s paused;" \
                "resume returned in $_tr s, state $_st2, frozen $_fz2, CPU +$_resumed us in" \
                "$(awk -v a="$5" -v b="$7" 'BEGIN { printf "%.2f", b - a }') s"
        agent_end busy
        [ "$_st" = paused ] && [ "$_fz" = 1 ] && [ "$_paused" -lt 20000 ] && [ "$_st2" = running ] &&
                [ "$_fz2" = 0 ] && [ "$_resumed" -gt 100000 ]
}

# on_all ACTION ID...: descartesctl ACTION on every agent at once; prints how many calls failed.
on_all() {
        _act=$1
        shift
        _ps=''
        for _id in "$@"; do
                ctl --timeout 60s "$_act" "$_id" >/dev/null 2>>"$VMTEST_JOB/agent-many.log" &
                _ps="$_ps $!"
        done
        _bad=0
        for _p in $_ps; do
                wait "$_p" || _bad=$((_bad + 1))
        done
        echo "$_bad"
}

many_count() {
        _ml=$(ctl -o json ps --label vmtest=many) || return 1
        json_count "$_ml" "\"state\":\"$1\""
}

many_are() {
        [ "$(many_count "$1")" = "$VMT_MANY" ]
}

frozen_payloads() {
        grep -l '^frozen 1' "$VMT_DROOT"/agents/*/a-*/payload/cgroup.events 2>/dev/null | wc -l
}

check_agent_pause_many() {
        daemon_alive || return 1
        mkdir -p /tmp/many
        _t=$(uptime_s)
        _i=0
        while [ "$_i" -lt "$VMT_MANY" ]; do
                # ten spawns in flight at a time
                _ps=''
                for _k in 0 1 2 3 4 5 6 7 8 9; do
                        ctl --timeout 60s spawn --label vmtest=many -- sleep 600 >"/tmp/many/$_i" \
                                2>>"$VMTEST_JOB/agent-many.log" &
                        _ps="$_ps $!"
                        _i=$((_i + 1))
                done
                for _p in $_ps; do
                        wait "$_p"
                done
        done
        _ids=$(cat /tmp/many/*)
        _ts=$(elapsed "$_t")
        wait_for 30 many_are running || {
                note "$VMT_MANY spawns in $_ts s, only $(many_count running) running"
                return 1
        }
        _t=$(uptime_s)
        _bad=$(on_all pause $_ids)
        _tc=$(elapsed "$_t")
        wait_for 30 many_are paused
        _np=$(many_count paused)
        _tp=$(elapsed "$_t")
        _nf=$(frozen_payloads)
        _t=$(uptime_s)
        _bad2=$(on_all resume $_ids)
        _tc2=$(elapsed "$_t")
        wait_for 30 many_are running
        _nr=$(many_count running)
        _tr=$(elapsed "$_t")
        _nf2=$(frozen_payloads)
        note "$VMT_MANY sleepers spawned in $_ts s; pause of all at once: calls done in $_tc s ($_bad failed)," \
                "$_np paused after $_tp s, $_nf payload cgroups frozen; resume: calls done in $_tc2 s ($_bad2 failed)," \
                "$_nr running after $_tr s, $_nf2 still frozen"
        # They end with the daemon's cgroup root at the end of the suite.
        [ "$_bad" = 0 ] && [ "$_np" = "$VMT_MANY" ] && [ "$_nf" = "$VMT_MANY" ] && [ "$_bad2" = 0 ] &&
                [ "$_nr" = "$VMT_MANY" ] && [ "$_nf2" = 0 ]
}

step build-tree check_build_tree
step controllers check_controllers
step memory-oom check_memory_oom
step cpu-max check_cpu_max
step pids-max check_pids_max
step freeze check_freeze
step descartesd check_daemon
step agent-memory-oom check_agent_oom
step agent-cpu check_agent_cpu
step agent-pids check_agent_pids
step agent-pause check_agent_pause
step agent-pause-50 check_agent_pause_many
finish
