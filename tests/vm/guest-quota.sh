#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest suite of the meson test `vm-quota` (vmrun -o: a writable root for the users it creates): tenant quotas
# set by descartesd on each tenant's cgroup (agents/uUID/). Tenants A and B are two users in group descartes;
# A's quota comes from the group rule (cpu 0.3, memory 96M, 2 agents), B's own user rule lifts it. A's agents
# together stay within A's cpu and memory quota while B's agent runs beside them at its own pace, and A's
# spawn past its agent count is limit_exceeded. usage: guest-quota.sh HOG
. "$(dirname "$0")/guest-lib.sh"
. "$(dirname "$0")/guest-daemon.sh"

HOG=${1:?usage: guest-quota.sh HOG}
case $HOG in
/*) ;;
*) HOG=$PWD/$HOG ;;
esac
AGENT_HOG=/var/tmp/vmtest-agent-bin/vmtest-hog
mkdir -p "${AGENT_HOG%/*}" && cp "$HOG" "$AGENT_HOG" && chmod 755 "${AGENT_HOG%/*}" "$AGENT_HOG" ||
        AGENT_HOG=$HOG

VMT_DROOT=/sys/fs/cgroup/descartes-quota
VMT_DRUN=/run/descartes-quota
VMT_DSTATE=/tmp/descartes-quota-state
VMT_CONF=/tmp/descartes-quota.conf
VMT_A=vmqa
VMT_B=vmqb
export DESCARTES_HOST="ipc://$VMT_DRUN/control"

# as USER COMMAND...: runs COMMAND with USER's uid, gid and supplementary groups.
as() {
        _au=$1
        shift
        setpriv --reuid="$_au" --regid="$_au" --init-groups env HOME=/tmp DESCARTES_HOST="$DESCARTES_HOST" "$@"
}

daemon_cleanup() {
        bg_stop descartesd
        cg_remove_tree "$VMT_DROOT"
}

health_ok() {
        ctl --timeout 2s health >/dev/null 2>&1
}

tenant_cg() {
        echo "$VMT_DROOT/agents/u$(id -u "$1")"
}

check_quota_daemon() {
        getent group descartes >/dev/null || groupadd --system descartes || return 1
        for _u in $VMT_A $VMT_B; do
                id "$_u" >/dev/null 2>&1 ||
                        useradd --no-create-home --user-group --groups descartes --shell /bin/sh "$_u" || return 1
        done
        cat >"$VMT_CONF" <<EOF
quota.group.descartes = cpu=0.3 memory=96M agents=2
quota.user.$VMT_B = cpu=max memory=max agents=4
EOF
        mkdir "$VMT_DROOT" || return 1
        at_finish daemon_cleanup
        bg_start descartesd "$VMT_DAEMON" --state-dir "$VMT_DSTATE" --runtime-dir "$VMT_DRUN" \
                --cgroup-root "$VMT_DROOT" --shim "$VMT_SHIM" --config "$VMT_CONF" --policy-dir "$VMT_SRC/policies"
        wait_for 30 health_ok || {
                note "no answer to health within 30 s (log: $VMTEST_JOB/descartesd.log)"
                return 1
        }
        note "$VMT_A: $(id "$VMT_A"); $VMT_B: $(id "$VMT_B")"
        # no warning: every quota is enforceable here
        ! grep -q "cannot be enforced" "$VMTEST_JOB/descartesd.log"
}

# cpu_usec CGROUP
cpu_usec() {
        cg_key "$1/cpu.stat" usage_usec
}

check_quota_cpu() {
        as $VMT_B "$VMT_CTL" spawn --name qb1 -- "$AGENT_HOG" spin 60 >/dev/null || return 1
        as $VMT_A "$VMT_CTL" spawn --name qa1 -- "$AGENT_HOG" spin 60 >/dev/null || return 1
        as $VMT_A "$VMT_CTL" spawn --name qa2 -- "$AGENT_HOG" spin 60 >/dev/null || return 1
        # a third agent of A is past its count
        _err=$(as $VMT_A "$VMT_CTL" spawn --name qa3 -- sleep 60 2>&1 >/dev/null)
        _rc=$?
        _cga=$(tenant_cg $VMT_A)
        _cgb=$(cg_abs "$(agent_field "$VMT_B/qb1" cgroup)")
        wait_state "$VMT_A/qa2" running 20 || return 1
        sleep 1
        _t=$(uptime_s)
        _a0=$(cpu_usec "$_cga")
        _b0=$(cpu_usec "$_cgb")
        sleep 5
        _a1=$(cpu_usec "$_cga")
        _b1=$(cpu_usec "$_cgb")
        _w=$(elapsed "$_t")
        _ra=$(awk -v u=$((_a1 - _a0)) -v w="$_w" 'BEGIN { printf "%.3f", u / 1e6 / w }')
        _rb=$(awk -v u=$((_b1 - _b0)) -v w="$_w" 'BEGIN { printf "%.3f", u / 1e6 / w }')
        _thr=$(cg_key "$_cga/cpu.stat" nr_throttled)
        _cmax=$(cat "$_cga/cpu.max")
        note "tenant A's cpu.max '$_cmax': its 2 spinning agents together used $_ra CPU over $_w s" \
                "(nr_throttled $_thr); B's spinning agent beside them $_rb CPU; A's 3rd spawn: exit $_rc '$_err'"
        agent_end_all "$VMT_A/qa1" "$VMT_A/qa2" "$VMT_B/qb1"
        [ "$_cmax" = "30000 100000" ] && [ "$_rc" != 0 ] || return 1
        case $_err in
        *"agents=2 (quota.group.descartes)"*limit_exceeded*) ;;
        *) return 1 ;;
        esac
        # A's share is a ceiling whatever the host's load; B's agent alone gets more than A's two together (its
        # own share depends on how much CPU the guest gets from a loaded host: not asserted)
        awk -v a="$_ra" -v b="$_rb" 'BEGIN { exit !(a > 0.05 && a <= 0.36 && b > a) }' && [ "$_thr" -gt 0 ]
}

# agent_end_all AGENT...: kills and removes the agents (as root, an admin).
agent_end_all() {
        for _x in "$@"; do
                ctl kill "$_x" >/dev/null 2>&1
                wait_state "$_x" exited 20
                ctl rm "$_x" >/dev/null 2>&1
        done
}

agent_ended() {
        _s=$(agent_field "$1" state)
        [ "$_s" = exited ] || [ "$_s" = failed ]
}

one_ended() {
        agent_ended "$VMT_A/qa1" || agent_ended "$VMT_A/qa2"
}

mem_at_least() {
        [ "$(cat "$1/memory.current" 2>/dev/null || echo 0)" -ge "$2" ]
}

check_quota_memory() {
        as $VMT_B "$VMT_CTL" spawn --name qbm -- "$AGENT_HOG" hold 64 120 >/dev/null || return 1
        _cgb=$(cg_abs "$(agent_field "$VMT_B/qbm" cgroup)")
        wait_for 60 mem_at_least "$_cgb" $((60 << 20)) || note "B's agent holds less than 60 MiB after 60 s"
        _cga=$(tenant_cg $VMT_A)
        as $VMT_A "$VMT_CTL" spawn --name qa1 -- "$AGENT_HOG" hold 64 120 >/dev/null || return 1
        wait_for 60 mem_at_least "$_cga" $((60 << 20)) || note "A's first agent holds less than 60 MiB after 60 s"
        as $VMT_A "$VMT_CTL" spawn --name qa2 -- "$AGENT_HOG" hold 64 120 >/dev/null || return 1
        wait_for 90 one_ended || note "neither of A's agents ended within 90 s"
        _peak=$(cat "$_cga/memory.peak" 2>/dev/null || echo 0)
        _ooms=$(cg_key "$_cga/memory.events" oom_kill)
        _r1=$(agent_field "$VMT_A/qa1" reason)
        _r2=$(agent_field "$VMT_A/qa2" reason)
        _s1=$(agent_field "$VMT_A/qa1" state)
        _s2=$(agent_field "$VMT_A/qa2" state)
        _sb=$(agent_field "$VMT_B/qbm" state)
        _mb=$(cat "$_cgb/memory.current")
        _view=$(as $VMT_A "$VMT_CTL" -o json tenants)
        _all=$(ctl -o json tenants)
        note "tenant A's memory.max $(cat "$_cga/memory.max"), memory.swap.max $(cat "$_cga/memory.swap.max"):" \
                "2 agents of 64 MiB each: memory.peak $((_peak >> 20)) MiB, oom_kill $_ooms; qa1 $_s1 ($_r1)," \
                "qa2 $_s2 ($_r2); B's 64 MiB agent: $_sb, memory.current $((_mb >> 20)) MiB;" \
                "tenants seen by A: $(json_count "$_view" '"uid":'), by root: $(json_count "$_all" '"uid":')"
        ctl tenants >>"$VMTEST_JOB/tenants.txt"
        agent_end_all "$VMT_A/qa1" "$VMT_A/qa2" "$VMT_B/qbm"
        [ "$_peak" -le $((96 << 20)) ] && [ "$_ooms" -ge 1 ] && [ "$_sb" = running ] &&
                [ "$_mb" -ge $((60 << 20)) ] || return 1
        [ "$_r1" = oom_killed ] || [ "$_r2" = oom_killed ] || return 1
        # a tenant sees itself; root sees both tenants (and itself)
        [ "$(json_count "$_view" '"uid":')" = 1 ] && [ "$(json_count "$_all" '"uid":')" -ge 2 ]
}

step quota-daemon check_quota_daemon
step quota-cpu check_quota_cpu
step quota-memory check_quota_memory
finish
