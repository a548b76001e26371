#!/bin/bash
# bash completion for cordonctl: sourced in bash as bash-completion would,
# it offers the commands, their subcommands, their options and the values
# of --scope and --state where an operator presses TAB.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

. "$CDT_ROOT/completions/cordonctl"
check "the completion registers _cordonctl for cordonctl" \
	q grep -q '_cordonctl' <<<"$(complete -p cordonctl)"

# complete_line WORDS...: the completions offered for the last word.
complete_line() {
	COMP_WORDS=(cordonctl "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_cordonctl
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
# expect DESC WANT WORDS...
expect() {
	local desc=$1 want=$2 got
	shift 2
	got=$(complete_line "$@")
	check "$desc: '$want' (got '$got')" [ "$got" = "$want " ]
}
expect "cordonctl s<TAB>" "status suspend" s
expect "cordonctl case re<TAB>" "replan resolve respond resume" case re
expect "cordonctl --json case re<TAB> (after a global option)" "replan resolve respond resume" --json case re
expect "cordonctl --socket /x po<TAB> (skips --socket's value)" "policy poweroff poweron" --socket /x po
expect "cordonctl policy <TAB>" "check list show" policy ""
expect "cordonctl clock <TAB>" "advance set show" clock ""
expect "cordonctl suspend web1 --<TAB>" "--json --reason --scope" suspend web1 --
expect "cordonctl suspend web1 --scope <TAB>" "all private public smtp" suspend web1 --scope ""
expect "cordonctl case open --c<TAB>" "--category --contact" case open --c
expect "cordonctl case list --state <TAB>" "all open resolved responded" case list --state ""
expect "cordonctl --v<TAB>" "--version" --v
expect "cordonctl suspend web1 --reason <TAB> (free text: nothing)" "" suspend web1 --reason ""

# Every command of cordonctl --help is offered at the first word.
first=$(complete_line "")
missing=()
for c in $("$CORDONCTL" --help | sed -nE 's/^  ([a-z]+).*/\1/p' | sort -u); do
	grep -qw -- "$c" <<<"$first" || missing+=("$c")
done
check "every command of cordonctl --help completes${missing[*]:+ (missing: ${missing[*]})}" \
	[ ${#missing[@]} = 0 ]

cdt_done
