#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest suite of the meson test `vm-systemd` (vmrun -S: the host's systemd as PID 1, this script as
# vmtest.service with Delegate=yes, bare target: no dbus, so systemd-run/systemctl use systemd's private
# socket and units are polled instead of --wait). usage: guest-systemd.sh HOG
. "$(dirname "$0")/guest-lib.sh"

HOG=${1:?usage: guest-systemd.sh HOG}

check_pid1() {
        _fs=$(stat -fc %T /sys/fs/cgroup)
        note "PID 1 $(cat /proc/1/comm), /sys/fs/cgroup $_fs, systemd $(systemctl --version | awk 'NR == 1 { print $2 }')," \
                "virtualization $(systemd-detect-virt)"
        [ "$(cat /proc/1/comm)" = systemd ] && [ "$_fs" = cgroup2fs ]
}

check_delegation() {
        _self=${VMT_CG%/vmtest}
        _ctl=$(cat "$_self/cgroup.controllers")
        note "job cgroup ${_self#/sys/fs/cgroup} has: $_ctl"
        for _c in cpu memory pids; do
                has_word "$_ctl" $_c || return 1
        done
}

# The pattern a daemon under systemd uses: its own child cgroup with a limit, inside the delegated subtree.
check_delegated_oom() {
        _cg=$(cg_new memory) || return 1
        echo 32M >"$_cg/memory.max" || return 1
        "$HOG" --cgroup "$_cg" alloc 200 >"$VMTEST_JOB/delegated-memory.log" 2>&1
        _rc=$?
        _kills=$(cg_key "$_cg/memory.events" oom_kill)
        note "200 MiB in ${_cg#/sys/fs/cgroup} with memory.max $(cat "$_cg/memory.max"): exit $_rc, oom_kill $_kills"
        cg_remove "$_cg"
        [ "$_rc" = 137 ] && [ "$_kills" -ge 1 ]
}

unit_done() {
        case $(systemctl show -p SubState --value "$1") in
        exited | dead | failed) return 0 ;;
        *) return 1 ;;
        esac
}

check_transient_oom() {
        _u=vmtest-oom.service
        systemd-run --quiet --unit=$_u -p MemoryMax=20M -p MemorySwapMax=0 "$HOG" alloc 200 || return 1
        wait_for 60 unit_done $_u || {
                note "$_u did not finish in 60 s"
                return 1
        }
        _res=$(systemctl show -p Result --value $_u)
        note "systemd-run -p MemoryMax=20M alloc 200 MiB: Result=$_res"
        systemctl reset-failed $_u 2>/dev/null
        [ "$_res" = oom-kill ]
}

step pid1 check_pid1
step delegation check_delegation
step delegated-oom check_delegated_oom
step transient-oom check_transient_oom
finish
