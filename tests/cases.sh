# tests/cases.sh: helpers for the abuse-case tests (tests/integration/3*.sh).
# Source it after tests/lib.sh and cdt_init:
#
#   . "$(dirname "$0")/../lib.sh"
#   . "$(dirname "$0")/../cases.sh"
#   cdt_init
#   topo_cases 2                  # controller (--test-clock), hv1, vm11 vm12
#   clock_set 2026-11-23T10:00:00Z
#   case_open --category phishing --vm vm11 --contact a@example.org
#   wait_mail "$CASE_ID" ...
#
# The controller runs the shipped policies and templates of the repository,
# a test calendar (09:00-18:00 Mon-Fri UTC, holiday 2026-12-25), and two
# recording notifiers: every message piped to notify_command becomes one
# file in $MAIL_DIR, every call hook run one file in $CALL_DIR (with the
# CORDON_* variables it was given).

CASES_REPO=$CDT_ROOT
MAIL_DIR=
CALL_DIR=
CASE_ID=
CASE_OUT=
CASES_CONF_EXTRA=() # more cordond.conf lines for topo_cases

# cases_setup_files: calendar and recording notifier scripts in $CDT_TMP.
cases_setup_files() {
	MAIL_DIR=$CDT_TMP/mail
	CALL_DIR=$CDT_TMP/calls
	mkdir -p "$MAIL_DIR" "$CALL_DIR"
	cat >"$CDT_TMP/calendar.conf" <<-'EOF'
		# test calendar
		hours = 09:00-18:00
		days = Mon-Fri
		zone = UTC
		holiday = 2026-12-25
	EOF
	# One file per message; the CORDON_* variables first, then the message.
	cat >"$CDT_TMP/notify.sh" <<-EOF
		#!/bin/sh
		f=\$(mktemp "$MAIL_DIR/mail.XXXXXX") || exit 75
		{ echo "env CORDON_CASE_ID=\$CORDON_CASE_ID CORDON_CONTACT=\$CORDON_CONTACT"; cat; } >"\$f.tmp"
		mv "\$f.tmp" "\$f.msg" && rm -f "\$f"
	EOF
	cat >"$CDT_TMP/call.sh" <<-EOF
		#!/bin/sh
		f=\$(mktemp "$CALL_DIR/call.XXXXXX") || exit 75
		printf 'case=%s\ncontact=%s\ncategory=%s\nvm=%s\nip=%s\n' "\$CORDON_CASE_ID" \\
			"\$CORDON_CONTACT" "\$CORDON_CATEGORY" "\$CORDON_VM" "\$CORDON_IP" >"\$f.tmp"
		mv "\$f.tmp" "\$f.call" && rm -f "\$f"
	EOF
	chmod +x "$CDT_TMP/notify.sh" "$CDT_TMP/call.sh"
}

# cases_private_dirs: private copies of the shipped policies and templates
# in $CDT_TMP/policies and $CDT_TMP/templates, for a test to change, and
# the controller of topo_cases runs them; the templates get a reminder
# (cases_make_reminder).
cases_private_dirs() {
	mkdir "$CDT_TMP/policies" "$CDT_TMP/templates"
	cp "$CASES_REPO"/policies/*.policy "$CDT_TMP/policies/"
	cp "$CASES_REPO"/templates/*.txt "$CDT_TMP/templates/"
	cases_make_reminder
	CASES_REPO_POLICIES=$CDT_TMP/policies
	CASES_REPO_TEMPLATES=$CDT_TMP/templates
}

# cases_make_reminder: $CDT_TMP/templates/reminder.txt, the warning with
# the Subject "[Abuse case N] Reminder: ...".
cases_make_reminder() {
	sed 's/\] Warning: /] Reminder: /' "$CASES_REPO/templates/warning.txt" >"$CDT_TMP/templates/reminder.txt"
}

# cases_conf_lines: the extra cordond.conf lines, one per array element, in
# CASES_CONF. CASES_REPO_POLICIES and CASES_REPO_TEMPLATES override the
# policies and templates directories, CASES_NOTIFY_COMMAND and
# CASES_CALL_HOOK the recording notifiers.
cases_conf_lines() {
	CASES_CONF=(
		"policies = ${CASES_REPO_POLICIES:-$CASES_REPO/policies}"
		"templates = ${CASES_REPO_TEMPLATES:-$CASES_REPO/templates}"
		"calendar = $CDT_TMP/calendar.conf"
		"notify_command = ${CASES_NOTIFY_COMMAND:-$CDT_TMP/notify.sh}"
		"notify_from = abuse@cordon.test"
		"call_hook = ${CASES_CALL_HOOK:-$CDT_TMP/call.sh}"
		"${CASES_CONF_EXTRA[@]}"
	)
}

# topo_cases [NVMS [CTL_ARGS...]]: controller with the case configuration,
# one host hv1 with NVMS (default 2) VMs vm11, vm12, ..., agent running,
# every VM known and reachable. CTL_ARGS default to --test-clock.
# CASES_CLOCK=TIME sets the test clock before the agent starts.
topo_cases() {
	local n=${1:-2} v
	shift || true
	local args=("$@")
	[ ${#args[@]} -gt 0 ] || args=(--test-clock)
	topo_controller
	ctl_keygen
	cases_setup_files
	cases_conf_lines
	write_controller_conf "${CASES_CONF[@]}"
	topo_host hv1 1
	for ((v = 1; v <= n; v++)); do topo_vm hv1 1 "$v"; done
	setup_agent hv1
	start_controller "${args[@]}"
	# A clock set before the agent's first inventory: the addresses'
	# history (report matching) starts at that moment of the test clock.
	[ -z "${CASES_CLOCK:-}" ] || clock_set "$CASES_CLOCK"
	start_agent hv1
	wait_until 20 agent_connected hv1 || fail "agent hv1 connects to cordond within 20s"
	for ((v = 1; v <= n; v++)); do wait_vm_known "vm1$v"; done
	ok "cordond (${args[*]}) and agent hv1 up; cordonctl vms lists $n VMs"
}

# ------------------------------------------------------------- clock

# clock_set TIME / clock_advance DURATION: must succeed.
clock_set() {
	local out
	out=$(ctl clock set "$1" 2>&1) || fail "cordonctl clock set $1 succeeds: $out"
}

clock_advance() {
	local out
	out=$(ctl clock advance "$1" 2>&1) || fail "cordonctl clock advance $1 succeeds: $out"
}

# epoch TIME: seconds since the epoch of an ISO time like 2026-11-23T10:00:00Z.
epoch() { date -u -d "$1" +%s; }

# ------------------------------------------------------------- cases

# case_open ARGS...: cordonctl case open ARGS, which must succeed; its output
# in CASE_OUT, the case id (the first number printed) in CASE_ID.
case_open() {
	CASE_OUT=$(ctl case open "$@" 2>&1) || fail "cordonctl case open $* succeeds: $CASE_OUT"
	CASE_ID=$(grep -oE 'case [0-9]+' <<<"$CASE_OUT" | head -n 1 | grep -oE '[0-9]+' || true)
	[ -n "$CASE_ID" ] || fail "cordonctl case open $* prints a case id: $CASE_OUT"
}

# case_ok ID ACTION ARGS...: cordonctl case ACTION ID ARGS, must succeed.
case_ok() {
	local id=$1 action=$2 out
	shift 2
	out=$(ctl case "$action" "$id" "$@" 2>&1) ||
		fail "cordonctl case $action $id $* succeeds: $out"
	LAST_OUT=$out
}

# case_jq ID FILTER [JQ ARGS...]: jq -e FILTER over cordonctl --json case show ID.
case_jq() {
	local id=$1
	shift
	ctl --json case show "$id" | jq -e "$@" >/dev/null
}

# case_get ID FILTER: jq -r FILTER over the same.
case_get() {
	ctl --json case show "$1" | jq -r "$2"
}

# list_jq FILTER [JQ ARGS...]: jq -e over cordonctl --json case list --state all.
list_jq() {
	ctl --json case list --state all | jq -e "$@" >/dev/null
}

# step_state ID ACTION: state of the (first) step whose action is ACTION.
step_state() {
	case_get "$1" "[.steps[] | select(.action == \"$2\")][0].state"
}

# step_is ID ACTION STATE
step_is() { [ "$(step_state "$1" "$2")" = "$3" ]; }

# capture CMD...: runs CMD (set -e or not), its output (stdout and stderr)
# in OUT, its exit status in RC.
capture() {
	set +e
	OUT=$("$@" 2>&1)
	RC=$?
	set -e
}

# ------------------------------------------------------------- notifiers

# mails_for ID: the message files whose Subject names case ID.
mails_for() {
	grep -lE "^Subject: \[Abuse case $1\]" "$MAIL_DIR"/*.msg 2>/dev/null || true
}

mail_count() { mails_for "$1" | grep -c . || true; }

# has_mails ID N: at least N messages for case ID.
has_mails() { [ "$(mail_count "$1")" -ge "$2" ]; }

# subject_count ID WORD: messages of case ID whose Subject is "WORD: ...".
subject_count() {
	grep -lE "^Subject: \[Abuse case $1\] $2: " "$MAIL_DIR"/*.msg 2>/dev/null | grep -c . || true
}

has_reminder() { [ "$(subject_count "$1" Reminder)" -ge 1 ]; }

# calls_for ID: the call hook records for case ID.
calls_for() {
	grep -lx "case=$1" "$CALL_DIR"/*.call 2>/dev/null || true
}

call_count() { calls_for "$1" | grep -c . || true; }

has_calls() { [ "$(call_count "$1")" -ge "$2" ]; }

# ------------------------------------------------------------- probes

# smtp_listen: TCP listeners on 25, 465, 587 and 80 at hv1's public probe.
SMTP_PROBE=198.18.11.254
smtp_listen() {
	local port pns=${H_NS[hv1]}-public
	command -v nc >/dev/null || fail "nc (netcat-openbsd) is installed"
	for port in 25 465 587 80; do
		ip netns exec "$pns" nc -l -k "$SMTP_PROBE" "$port" </dev/null >/dev/null 2>&1 &
		on_exit kill "$!"
	done
}

# tcp_ok VM PORT: VM opens a TCP connection to the public probe's PORT.
tcp_ok() {
	ip netns exec "${VM_NS[$1]}" nc -z -w 2 "$SMTP_PROBE" "$2" >/dev/null 2>&1
}

# vm_all_cut VM: neither public nor private ping answers (one try each).
vm_any_answers() { vm_ping "$1" public || vm_ping "$1" private; }

# ------------------------------------------------------------- snapshots

# case_views: cordonctl --json case list --state all, then case show of
# each case (its steps, notifications, calls and events).
case_views() {
	local id
	ctl --json case list --state all
	for id in $(ctl --json case list --state all | jq -r '.[].id'); do
		ctl --json case show "$id"
	done
}

# snapshot: what a refused command must leave unchanged: every case (with
# its steps, notifications, calls and events), every VM's desired state, the
# clock, and the notifier outputs.
snapshot() {
	{
		case_views
		ctl --json vms | jq -S 'sort_by(.uuid)'
		ctl --json clock show | jq 'if .offset == 0 then "real clock" else .now end'
		ls "$MAIL_DIR" "$CALL_DIR"
	} 2>&1
}
