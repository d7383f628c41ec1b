# shellcheck shell=sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared functions of the tests/vm guest suites (sourced by the guest's /bin/sh, run by vmrun as root).
# A suite is a list of `step NAME FUNCTION [ARGS...]` lines and ends with `finish`; a step function returns
# 0 for pass, says what it measured with `note`, and removes what it created (the cgroup helpers below do).
# Every exec costs ~30 ms under TCG: keep steps lean and their time limits generous.

VMT_PASS=0
VMT_FAIL=0
VMT_CG=/sys/fs/cgroup/vmtest
VMT_BG=
VMT_NOTE=
VMT_AT_FINISH=

uptime_s() {
        read -r _up _ </proc/uptime
        echo "$_up"
}
VMT_T0=$(uptime_s)

# elapsed T0: seconds since the uptime T0, two decimals.
elapsed() {
        awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }'
}

note() {
        VMT_NOTE="${VMT_NOTE:+$VMT_NOTE; }$*"
}

# step NAME FUNCTION [ARGS...]; with VMT_ONLY="NAME..." in the environment (vmrun -E) only those steps run.
step() {
        _name=$1
        shift
        if [ -n "${VMT_ONLY:-}" ] && ! has_word "$VMT_ONLY" "$_name"; then
                return 0
        fi
        VMT_NOTE=
        _t0=$(uptime_s)
        if "$@"; then
                VMT_PASS=$((VMT_PASS + 1))
                echo "PASS $_name ($(elapsed "$_t0") s): $VMT_NOTE"
        else
                VMT_FAIL=$((VMT_FAIL + 1))
                echo "FAIL $_name ($(elapsed "$_t0") s): $VMT_NOTE"
        fi
}

# wait_for SECONDS COMMAND...: poll COMMAND every 50 ms until it succeeds; 1 on timeout.
wait_for() {
        _end=$(awk -v a="$(uptime_s)" -v s="$1" 'BEGIN { print a + s }')
        shift
        until "$@"; do
                awk -v a="$(uptime_s)" -v e="$_end" 'BEGIN { exit !(a > e) }' && return 1
                sleep 0.05
        done
}

# has_word "LIST" WORD
has_word() {
        case " $1 " in
        *" $2 "*) return 0 ;;
        *) return 1 ;;
        esac
}

# cg_key FILE KEY: the value of KEY in a flat-keyed cgroup file (memory.events, cpu.stat, ...), 0 if absent.
cg_key() {
        awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }' "$1"
}

# cg_new NAME: creates the leaf cgroup vmtest/NAME (cpu, memory and pids enabled) and prints its path.
cg_new() {
        if [ ! -d "$VMT_CG" ]; then
                mkdir "$VMT_CG" || return 1
                if ! echo "+cpu +memory +pids" >"$VMT_CG/cgroup.subtree_control"; then
                        note "cannot enable cpu, memory and pids in $VMT_CG"
                        return 1
                fi
        fi
        mkdir "$VMT_CG/$1" && echo "$VMT_CG/$1"
}

# cg_empty DIR: DIR holds no process (or is gone: systemd prunes the cgroups of units that ended).
cg_empty() {
        [ ! -e "$1/cgroup.events" ] || grep -qx 'populated 0' "$1/cgroup.events"
}

# cg_remove DIR: kills everything in DIR, waits until it is empty and removes it.
cg_remove() {
        [ -d "$1" ] || return 0
        echo 0 >"$1/cgroup.freeze" 2>/dev/null
        echo 1 >"$1/cgroup.kill"
        wait_for 10 cg_empty "$1" || echo "vmtest: $1 still populated after cgroup.kill"
        rmdir "$1"
}

# bg_start NAME COMMAND...: starts COMMAND (say a daemon from $VMTEST_BUILD_DIR) in the background, output
# in $VMTEST_JOB/NAME.log (kept on the host); NAME is [A-Za-z0-9_]. `bg_pid NAME` prints its pid,
# `bg_stop NAME` ends it, `finish` ends all that are left.
bg_start() {
        _n=$1
        shift
        case $_n in
        "" | *[!A-Za-z0-9_]*)
                echo "vmtest: bg_start: bad name '$_n'" >&2
                return 1
                ;;
        esac
        "$@" >"$VMTEST_JOB/$_n.log" 2>&1 &
        eval "VMT_BG_$_n=$!"
        VMT_BG="$VMT_BG $_n"
}

bg_pid() {
        eval "echo \${VMT_BG_$1:-}"
}

bg_stop() {
        _p=$(bg_pid "$1")
        [ -n "$_p" ] || return 0
        kill "$_p" 2>/dev/null
        wait "$_p" 2>/dev/null
        eval "VMT_BG_$1="
}

# at_finish FUNCTION: `finish` calls FUNCTION first (last registered, first called): a suite's own cleanup.
at_finish() {
        VMT_AT_FINISH="$1 $VMT_AT_FINISH"
}

# The suite's last command: runs the at_finish functions, stops background programs, removes test cgroups,
# prints the totals.
finish() {
        for _f in $VMT_AT_FINISH; do
                "$_f"
        done
        for _n in $VMT_BG; do
                bg_stop "$_n"
        done
        if [ -d "$VMT_CG" ]; then
                for _d in "$VMT_CG"/*/; do
                        [ -d "$_d" ] && cg_remove "${_d%/}"
                done
                rmdir "$VMT_CG"
        fi
        echo "suite time $(elapsed "$VMT_T0") s"
        echo "$VMT_PASS passed, $VMT_FAIL failed"
        [ "$VMT_FAIL" = 0 ] && [ "$VMT_PASS" -gt 0 ]
}

# Under systemd (vmtest.service, Delegate=yes) test cgroups go below our own delegated cgroup, as the daemon's
# will: every process of the service moves to a leaf first (no processes in an inner cgroup).
if [ -n "${VMTEST_SYSTEMD:-}" ]; then
        _self=/sys/fs/cgroup$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
        mkdir -p "$_self/suite"
        for _p in $(cat "$_self/cgroup.procs"); do
                echo "$_p" >"$_self/suite/cgroup.procs" 2>/dev/null
        done
        echo "+cpu +memory +pids" >"$_self/cgroup.subtree_control" ||
                echo "vmtest: cannot enable cpu, memory and pids in the delegated $_self" >&2
        VMT_CG=$_self/vmtest
fi

echo "vmtest: kernel $(uname -r), $(nproc) cpu(s), build tree ${VMTEST_BUILD_DIR:-none}, job dir $VMTEST_JOB"
