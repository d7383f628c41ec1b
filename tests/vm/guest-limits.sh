#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest suite of the meson test `vm` (run inside the guest by vmrun): kernel-level proof that the pure
# cgroup v2 limits descartes relies on hold. usage: guest-limits.sh HOG   (HOG: the vmtest-hog binary)
. "$(dirname "$0")/guest-lib.sh"

HOG=${1:?usage: guest-limits.sh HOG}

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

step build-tree check_build_tree
step controllers check_controllers
step memory-oom check_memory_oom
step cpu-max check_cpu_max
step pids-max check_pids_max
step freeze check_freeze
finish
