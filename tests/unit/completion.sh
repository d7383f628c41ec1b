#!/bin/bash
# The bash completion of descartesctl (completions/descartesctl.bash) through its completion function, as bash
# calls it on TAB: commands, a command's options, an option's argument, and agents quietly absent when no
# daemon answers. Environment: DESCARTESCTL (the built CLI).
set -u
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PATH=$(dirname "$DESCARTESCTL"):$PATH
# shellcheck source=completions/descartesctl.bash
. "$SRC/completions/descartesctl.bash"
fail=0

# complete EXPECTED WORDS...: completes the last word and compares the sorted candidates.
complete_is() {
	local expected=$1 got
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_descartesctl
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' ')
	if [[ $got == "$expected" ]]; then
		echo "ok     '$*' completes to '$got'"
	else
		echo "FAILED '$*' completes to '$got', expected '$expected'"
		fail=1
	fi
}

complete_is 'spawn' descartesctl sp
complete_is 'pause ps' descartesctl p
complete_is '--name' descartesctl spawn --na
complete_is '--name' descartesctl -H ipc:///nonexistent spawn --na
complete_is '--grace' descartesctl stop --gr
complete_is '--help --host' descartesctl --h
complete_is 'logs' descartesctl -o json lo
# an option's argument is not a command
complete_is '' descartesctl -o spaw
# no daemon at this endpoint: no agents, and no error on the terminal
complete_is '' descartesctl -H ipc:///nonexistent/control logs ''
exit $fail
