#!/bin/bash
# Man pages, as an operator meets them: `make man` builds every page, each
# renders without a warning, and the pages keep up with the code: every
# option and command the programs' --help lists is in its man page, every
# key the configuration parsers accept is defined in cordond.conf(5) or
# agent.conf(5), every policy keyword policy.c knows is in cordon.policy(5).
# The lists come from --help and from the parsers' source, not from here.
# `make install` puts the pages and the bash completion in place.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

command -v scdoc >/dev/null || fail "scdoc is installed (scripts/install-deps.sh)"
MB=$CDT_TMP/b
out=$(make -s -C "$CDT_ROOT" B="$MB" man 2>&1) || fail "make man builds the pages: $out"
pages=(cordonctl.1 cordond.8 cordon-agent.8 cordon-sendmail.8 cordond.conf.5 agent.conf.5 cordon.policy.5)
declare -A TEXT=()
for p in "${pages[@]}"; do
	f=$MB/man/$p
	check "make man built $p" [ -s "$f" ]
	warn=$(MANWIDTH=100 man --warnings -l "$f" 2>&1 >/dev/null)
	check "man -l $p renders without warnings${warn:+: ${warn:0:300}}" [ -z "$warn" ]
	# Wide lines and no hyphenation: an option is never split in two.
	warn=$(groff -man -Tutf8 -ww -rHY=0 -rLL=250n "$f" 2>&1 >/dev/null)
	check "groff -man $p renders without warnings${warn:+: ${warn:0:300}}" [ -z "$warn" ]
	TEXT[$p]=$(groff -man -Tutf8 -rHY=0 -rLL=250n "$f" 2>/dev/null | col -bx)
	check "$p has NAME, SYNOPSIS, DESCRIPTION and SEE ALSO" \
		eval 'for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do grep -qx "$s" <<<"${TEXT[$p]}" || exit 1; done'
done

# has_word PAGE WORD: WORD in PAGE's text, not as part of a longer option.
has_word() {
	grep -qE -- "(^|[^a-z_-])$(sed 's/[.[]/\\&/g' <<<"$2")([^a-z_-]|\$)" <<<"${TEXT[$1]}"
}
# check_options PAGE HELP_TEXT: its long options, "-x, --long" pairs.
check_options() {
	local page=$1 help=$2 o missing=()
	for o in $(grep -oE -- '--[a-z][a-z-]*' <<<"$help" | sort -u); do
		has_word "$page" "$o" || missing+=("$o")
	done
	while read -r o; do
		[ -z "$o" ] || grep -qF -- "$o" <<<"${TEXT[$page]}" || missing+=("$o")
	done < <(grep -oE -- '-[a-zA-Z], --[a-z-]+' <<<"$help" | sort -u)
	check "$page: every option --help lists is in it${missing[*]:+ (missing: ${missing[*]})}" \
		[ ${#missing[@]} = 0 ]
}
check_options cordonctl.1 "$("$CORDONCTL" --help) $("$CORDONCTL" keygen --help)"
check_options cordond.8 "$("$CORDOND" --help)"
check_options cordon-agent.8 "$("$CORDON_AGENT" --help) $("$CORDON_AGENT" keygen --help)"
check_options cordon-sendmail.8 "$("$CORDON_SENDMAIL" --help)"

# cordonctl's commands and subcommands: the command column of --help.
help=$("$CORDONCTL" --help)
cmds=$(sed -nE 's/^  ([a-z].*)$/\1/p' <<<"$help" | sed -E 's/   +.*//')
missing=()
for c in $(awk '{print $1}' <<<"$cmds" | sort -u); do
	has_word cordonctl.1 "$c" || missing+=("$c")
done
while read -r c; do
	[ -z "$c" ] || grep -qF -- "$c" <<<"${TEXT[cordonctl.1]}" || missing+=("'$c'")
done < <(grep -oE '(case|policy|clock|vm) [a-z]+' <<<"$cmds" | sort -u)
check "cordonctl.1: every command and subcommand of --help is in it${missing[*]:+ (missing: ${missing[*]})}" \
	[ ${#missing[@]} = 0 ]
for code in $(sed -nE 's/^#define EXIT_[A-Z]+ ([0-9]+)$/\1/p' "$CDT_ROOT/controller/cordonctl.h"); do
	check "cordonctl.1: EXIT STATUS lists $code (controller/cordonctl.h)" \
		q grep -qE "^ +$code\$" <<<"$(sed -n '/^EXIT STATUS/,/^FILES/p' <<<"${TEXT[cordonctl.1]}")"
done

# keys_of FILE: the keys a config parser accepts (STR(key) and
# strcmp(key, "key") in its source).
keys_of() {
	{ grep -oE 'STR\([a-z_]+\)' "$1" | sed -E 's/STR\((.*)\)/\1/' | grep -vx name
	  grep -oE 'strcmp\(key, "[a-z_]+"\)' "$1" | sed -E 's/.*"(.*)".*/\1/'; } | sort -u
}
for pair in "controller/config.c cordond.conf.5" "agent/config.c agent.conf.5"; do
	set -- $pair
	keys=$(keys_of "$CDT_ROOT/$1")
	n=$(wc -w <<<"$keys")
	check "$1 accepts keys (found $n)" [ "$n" -ge 10 ]
	missing=()
	for k in $keys; do
		grep -qE "^ +$k = " <<<"${TEXT[$2]}" || missing+=("$k")
	done
	check "$2 defines every key $1 accepts${missing[*]:+ (missing: ${missing[*]})}" \
		[ ${#missing[@]} = 0 ]
done

# The policy language: keys, actions and conditions of controller/policy.c.
P=$CDT_ROOT/controller/policy.c
words=$( { grep -E 'keys\[\] = \{' "$P" | grep -oE '"[a-z-]+"'
	   grep -oE '\[POLICY_[A-Z]+\] = "[a-z-]+"' "$P" | grep -oE '"[a-z-]+"'
	   grep -oE 'strcmp\(tok\[i\], "[a-z-]+"\)' "$P" | grep -oE '"[a-z-]+"'; } | tr -d '"' | sort -u)
check "policy.c has keys, actions and conditions (found $(wc -w <<<"$words"))" \
	[ "$(wc -w <<<"$words")" -ge 10 ]
missing=()
for w in $words; do has_word cordon.policy.5 "$w" || missing+=("$w"); done
check "cordon.policy.5 names every keyword policy.c parses${missing[*]:+ (missing: ${missing[*]})}" \
	[ ${#missing[@]} = 0 ]

# make install: pages under share/man/manN, the completion beside them.
D=$CDT_TMP/root
out=$(make -s -C "$CDT_ROOT" DESTDIR="$D" PREFIX=/usr install 2>&1) || fail "make install: $out"
for p in "${pages[@]}"; do
	check "make install: /usr/share/man/man${p##*.}/$p" [ -s "$D/usr/share/man/man${p##*.}/$p" ]
done
check "make install: the bash completion in /usr/share/bash-completion/completions" \
	[ -s "$D/usr/share/bash-completion/completions/cordonctl" ]
check "make install: binaries and units still installed" \
	eval '[ -x "$D/usr/bin/cordonctl" ] && [ -x "$D/usr/sbin/cordond" ] && [ -s "$D/lib/systemd/system/cordond.service" ]'
out=$(MANWIDTH=100 man --warnings -M "$D/usr/share/man" 5 agent.conf 2>&1) || true
check "man -M finds the installed agent.conf(5)" q grep -q 'host_id' <<<"$out"

cdt_done
