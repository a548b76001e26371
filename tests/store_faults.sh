# tests/store_faults.sh: helpers for the tests of a failing controller
# database (tests/integration/53*.sh). Source after tests/lib.sh,
# tests/cases.sh and cdt_init; set CTL_DB before the topology is built.

# store_snapshot: what a refused change must not touch (desired state and
# generations, audit rows, cases).
store_snapshot() {
	ctl --json vms | jq -c 'map({name, scopes, power_off, generation}) | sort_by(.name)'
	ctl --json audit | jq length
	ctl --json case list --state all | jq -c 'map({id, state})'
}

# store_refused WHY DESC CMD...: cordonctl CMD exits 1 with one line
# "cordonctl: database not written (...)" matching WHY (an extended regex,
# any case).
store_refused() {
	local why=$1 desc=$2 out rc=0
	shift 2
	out=$(ctl "$@" 2>&1 >/dev/null) || rc=$?
	note "$desc: exit $rc: $out"
	check "$desc: exit 1, one line 'cordonctl: database not written (...)' that says why" \
		eval '[ "$rc" = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] &&
		      [[ "$out" == "cordonctl: database not written ("* ]] && grep -qiE "$why" <<<"$out"'
}

# store_reads_work WHAT: the read commands answer, and hv1 stays connected
# past agent_timeout_ms.
store_reads_work() {
	local cmd
	for cmd in vms agents status "case list" audit; do
		# shellcheck disable=SC2086
		check "cordonctl $cmd works ($1)" q ctl $cmd
	done
	check "hv1 stays connected past agent_timeout_ms ($1)" never_within 4 agent_disconnected hv1
}
