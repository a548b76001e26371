# Two cordond on one PostgreSQL store, for the high-availability tests
# (sourced after lib.sh and cases.sh). Instance a is the usual controller
# (CTL_NS, 198.18.0.1, $CDT_TMP/ctl, `ctl`); instance b runs in a namespace
# of its own (198.18.0.2, $CDT_TMP/ctlb, `ctlb`) with its own key pair;
# PostgreSQL in a third (198.18.0.5). All three hang off CTL's management
# bridge, as do the hosts, so a rule in one namespace cuts one instance off
# the database and nothing else. The agent lists both controllers and both
# keys.

HA_B_ADDR=198.18.0.2
HA_PG_ADDR=198.18.0.5
HA_B_NS=
HA_PG_NS=
CTLB_PID=
HA_DB=
HA_A=
HA_B=
HA_CONF_EXTRA=() # more cordond.conf lines for both instances

# _ha_ns_on_mgmt NS PEER ADDR: namespace NS with eth0 = ADDR/24 on CTL's
# management bridge (the bridge side of the veth named PEER).
_ha_ns_on_mgmt() {
	mkns "$1"
	ip -n "$1" link add eth0 type veth peer name "$2" netns "$CTL_NS"
	ip -n "$CTL_NS" link set "$2" master mgmt up
	ip -n "$1" addr add "$3/24" dev eth0
	ip -n "$1" link set eth0 up
}

# _ha_standby: PostgreSQL "hastandby", a synchronous streaming replica of
# "ha" in its own namespace (198.18.0.6): a commit cordonctl saw is on
# both. The store's conninfo names both hosts, the writable one wins.
HA_STANDBY_ADDR=198.18.0.6
_ha_sync() { [ "$(pg_sql ha "SELECT sync_state FROM pg_stat_replication")" = sync ]; }
_ha_standby() {
	local ns=$CDT_PREFIX-pgs
	_ha_ns_on_mgmt "$ns" pgsv "$HA_STANDBY_ADDR"
	PG_PRIMARY_ADDR=$HA_PG_ADDR pg_start_standby hastandby ha "$ns" "$HA_STANDBY_ADDR"
	pg_sql ha "ALTER SYSTEM SET synchronous_standby_names = '*'" >/dev/null &&
		pg_sql ha "SELECT pg_reload_conf()" >/dev/null || fail "synchronous replication on"
	wait_until 20 _ha_sync ||
		fail "the standby replicates synchronously within 20 s"
	HA_DB="postgresql:host=$HA_PG_ADDR,$HA_STANDBY_ADDR port=5432,5432 dbname=cordon user=cordon"
	HA_DB+=" target_session_attrs=read-write"
}

ctlb() {
	"$CORDONCTL" --socket "$CDT_TMP/ctlb/control.sock" "$@"
}

# _ha_conf_b: b's cordond.conf from a's: its own address, key, socket, name.
_ha_conf_b() {
	sed -e "s|^listen = .*|listen = tcp://$HA_B_ADDR:$CTL_PORT|" \
		-e "s|^key = .*|key = $CDT_TMP/ctlb/controller.cert_secret|" \
		-e "s|^control_socket = .*|control_socket = $CDT_TMP/ctlb/control.sock|" \
		-e "s|^instance = .*|instance = b|" \
		-e "s|^advertise = .*|advertise = tcp://$HA_B_ADDR:$CTL_PORT|" \
		"$CDT_TMP/ctl/cordond.conf" >"$CDT_TMP/ctlb/cordond.conf"
}

# ha_topology [NVMS]: PostgreSQL, both instances' configuration (a's
# written, b's derived), host hv1 with NVMS VMs (default 1) and its agent
# configured for both; nothing started but PostgreSQL.
ha_topology() {
	local n=${1:-1} v d=$CDT_TMP/hv1
	pg_require
	topo_controller
	ctl_keygen
	mkdir -p "$CDT_TMP/ctlb"
	"$CORDONCTL" keygen --out "$CDT_TMP/ctlb/controller.cert" >/dev/null ||
		fail "cordonctl keygen for instance b"
	HA_PG_NS=$CDT_PREFIX-pg
	HA_B_NS=$CDT_PREFIX-ctlb
	_ha_ns_on_mgmt "$HA_PG_NS" pgv "$HA_PG_ADDR"
	_ha_ns_on_mgmt "$HA_B_NS" ctlbv "$HA_B_ADDR"
	pg_start ha "$HA_PG_NS" "$HA_PG_ADDR"
	pg_createdb ha cordon
	HA_DB="postgresql:$(pg_tcp_conninfo ha "$HA_PG_ADDR" cordon)"
	[ "${HA_STANDBY:-0}" = 0 ] || _ha_standby
	HA_A=tcp://$CTL_ADDR:$CTL_PORT
	HA_B=tcp://$HA_B_ADDR:$CTL_PORT
	cases_setup_files
	cases_conf_lines
	CTL_DB=$HA_DB write_controller_conf "${CASES_CONF[@]}" "instance = a" \
		"advertise = $HA_A" "${HA_CONF_EXTRA[@]}"
	_ha_conf_b
	topo_host hv1 1
	for ((v = 1; v <= n; v++)); do topo_vm hv1 1 "$v"; done
	agent_keygen hv1
	enroll_agent hv1
	write_agent_conf hv1 hv1 "controller = $HA_A, $HA_B${HA_AGENT_EXTRA:+, $HA_AGENT_EXTRA}" \
		"controller_key = $d/controller.cert, $d/controller-b.cert${HA_AGENT_EXTRA:+, $d/controller.cert}"
	cp "$CDT_TMP/ctlb/controller.cert" "$d/controller-b.cert"
}

# start_b [ARGS...]: instance b, log ctlb/cordond.log; waits until its
# control socket answers status.
start_b() {
	local log=$CDT_TMP/ctlb/cordond.log
	_log_register "$log"
	[ -z "$CTLB_PID" ] || fail "start_b: already running"
	echo "=== start $(date +%T.%N)" >>"$log"
	ip netns exec "$HA_B_NS" "$CORDOND" -c "$CDT_TMP/ctlb/cordond.conf" \
		--log-level "$CDT_LOG_LEVEL" "$@" >>"$log" 2>&1 </dev/null &
	CTLB_PID=$!
	if [ "${_HA_B_REG:-0}" = 0 ]; then
		on_exit stop_b
		_HA_B_REG=1
	fi
	wait_until 20 _b_ready || fail "cordond b starts and answers cordonctl status within 20s"
	kill -0 "$CTLB_PID" 2>/dev/null || fail "cordond b is still running after start"
}

_b_ready() {
	kill -0 "$CTLB_PID" 2>/dev/null || return 0
	ctlb status >/dev/null 2>&1
}

stop_b() {
	_stop_pid "$CTLB_PID" "cordond b" TERM 2>/dev/null
	CTLB_PID=
}

kill9_b() {
	_stop_pid "$CTLB_PID" "cordond b" KILL 2>/dev/null
	CTLB_PID=
}

# role_is a|b ROLE [LEADER]: the instance's status says ROLE (and names
# LEADER as the leader).
role_is() {
	local s
	if [ "$1" = a ]; then s=$(ctl --json status 2>/dev/null); else s=$(ctlb --json status 2>/dev/null); fi
	jq -e --arg r "$2" --arg l "${3:-}" \
		'.controller.role == $r and ($l == "" or .controller.leader == $l)' >/dev/null <<<"$s"
}

term_of() {
	if [ "$1" = a ]; then ctl --json status; else ctlb --json status; fi | jq -r .controller.term
}

# agent_on ENDPOINT: hv1's agent is connected to that controller.
agent_on() {
	agent_status hv1 --json 2>/dev/null |
		jq -e --arg e "$1" '.controller.endpoint == $e and .controller.link == "connected"' >/dev/null
}

# ha_ctl a|b ARGS...: cordonctl against that instance.
ha_ctl() {
	local i=$1
	shift
	if [ "$i" = a ]; then ctl "$@"; else ctlb "$@"; fi
}

# step_events VIA CASE DETAIL INSTANCE: how many audit "step" rows of CASE
# whose detail matches DETAIL (a jq regex) INSTANCE wrote, asked of VIA;
# INSTANCE "" counts every instance's.
step_events() {
	ha_ctl "$1" --json audit --case "$2" |
		jq --arg d "$3" --arg i "$4" '[.[] | select(.action == "step" and (.detail | test($d))
			and ($i == "" or .instance == $i))] | length'
}

# ha_agent_up: hv1's agent started, on a, its VMs known and reachable.
ha_agent_up() {
	start_agent hv1
	check "the agent is on a" wait_until 15 agent_on "$HA_A"
	wait_vm_known vm11
	all_open vm11
}

# ha_phishing_case: the test clock at Monday 10:00, a phishing case on vm11
# opened (its id in CASE_ID).
ha_phishing_case() {
	clock_set 2026-11-23T10:00:00Z
	case_open --category phishing --vm vm11 --contact alice@example.org \
		--source "phish-reporter" --evidence - <<<"http://198.18.11.11/login.php"
}
