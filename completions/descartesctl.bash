# shellcheck shell=bash
# bash completion for descartesctl. The commands, their options and the agents come from descartesctl itself
# (`descartesctl __complete`, read from its own tables and from the daemon), so they never drift from the CLI.

# _descartesctl_read_options CTL VERB: fills opts (every spelling) and argopt (the ones taking an argument).
_descartesctl_read_options() {
	local w n
	opts=()
	argopt=()
	while IFS=$'\t' read -r w n; do
		opts+=("$w")
		[[ $n == 1 ]] && argopt[$w]=1
	done < <("$1" __complete options "$2" 2>/dev/null)
}

_descartesctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} ctl=${COMP_WORDS[0]}
	local verb='' kind='' w n i
	local -a opts host=() verbs=()
	local -A argopt kinds

	_descartesctl_read_options "$ctl" ''
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		[[ $w == -H || $w == --host ]] && host=(-H "${COMP_WORDS[i + 1]}")
		[[ -n $verb ]] && continue
		if [[ $w == -* ]]; then
			[[ -n ${argopt[$w]:-} ]] && ((i++))
			continue
		fi
		verb=$w
	done
	while IFS=$'\t' read -r w n; do
		verbs+=("$w")
		kinds[$w]=$n
	done < <("$ctl" __complete verbs 2>/dev/null)
	[[ -n $verb ]] && _descartesctl_read_options "$ctl" "$verb"
	if [[ -n ${argopt[$prev]:-} ]]; then
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "${opts[*]}" -- "$cur")
		return
	fi
	if [[ -z $verb ]]; then
		mapfile -t COMPREPLY < <(compgen -W "${verbs[*]}" -- "$cur")
		return
	fi
	kind=${kinds[$verb]:-}
	if [[ $kind == agents ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$("$ctl" "${host[@]}" __complete agents 2>/dev/null)" -- "$cur")
	fi
}

complete -F _descartesctl -o default descartesctl
