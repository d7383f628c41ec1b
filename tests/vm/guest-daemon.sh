# shellcheck shell=sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# descartes in the guest suites (sourced after guest-lib.sh): the build tree's daemon, shim and descartesctl,
# JSON fields of descartesctl's `-o json` output, agent states. Every exec costs ~30 ms under TCG, so fields
# are cut out with the shell's own pattern matching, not with jq or sed.

VMT_SRC=$(cd "$(dirname "$0")/../.." && pwd)
VMT_DAEMON=$VMTEST_BUILD_DIR/supervisor/descartesd
VMT_SHIM=$VMTEST_BUILD_DIR/supervisor/shim/descartes-shim
VMT_CTL=$VMTEST_BUILD_DIR/client/descartesctl

ctl() {
        "$VMT_CTL" "$@"
}

# json_get JSON KEY: the value of the last "KEY": in JSON (a string without quotes, a number, null, true or
# false); 1 if KEY is absent. Enough for descartesctl's flat agent objects (no escaped quotes in our fields).
json_get() {
        _jv=${1##*\""$2"\":}
        [ "$_jv" != "$1" ] || return 1
        case $_jv in
        \"*)
                _jv=${_jv#\"}
                _jv=${_jv%%\"*}
                ;;
        *) _jv=${_jv%%[,\}\]]*} ;;
        esac
        printf '%s\n' "$_jv"
}

# json_count TEXT WORD: how many times WORD occurs in TEXT.
json_count() {
        _jc=0
        _jt=$1
        while :; do
                case $_jt in
                *"$2"*)
                        _jt=${_jt#*"$2"}
                        _jc=$((_jc + 1))
                        ;;
                *) break ;;
                esac
        done
        echo "$_jc"
}

# agent_json AGENT: descartesctl inspect -o json, on one line; 1 when it fails.
agent_json() {
        ctl -o json inspect "$1"
}

agent_field() {
        _aj=$(agent_json "$1") || return 1
        json_get "$_aj" "$2"
}

agent_state_is() {
        [ "$(agent_field "$1" state)" = "$2" ]
}

# wait_state AGENT STATE SECONDS
wait_state() {
        wait_for "$3" agent_state_is "$1" "$2"
}

# cg_abs PATH: the inspect `cgroup` field as a directory (absolute already, or relative to the cgroup2 mount).
cg_abs() {
        case $1 in
        /sys/fs/cgroup/*) echo "$1" ;;
        *) echo "/sys/fs/cgroup$1" ;;
        esac
}

# cg_remove_tree DIR: kills everything below DIR and removes the whole subtree (deepest first).
cg_remove_tree() {
        [ -d "$1" ] || return 0
        echo 0 >"$1/cgroup.freeze" 2>/dev/null
        echo 1 >"$1/cgroup.kill"
        wait_for 15 cg_empty "$1" || echo "vmtest: $1 still populated after cgroup.kill"
        find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
        [ ! -d "$1" ] || echo "vmtest: cannot remove all of $1"
}

# daemon_exec ARGS...: execs the build tree's daemon with ARGS (its directories, endpoints, cgroup root) and what
# every test daemon gets: the build's shim, no config file, the source tree's policies.
daemon_exec() {
        exec "$VMT_DAEMON" "$@" --shim "$VMT_SHIM" --config /dev/null --policy-dir "$VMT_SRC/policies"
}
