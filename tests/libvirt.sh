# tests/libvirt.sh: glue between tests/lib.sh and the libvirt harness
# (tests/vm/libvirt-env.sh) for tests and benchmarks with real guests.
# Source it after lib.sh and cdt_init.
#
#   lv_test_init      set the harness up under this test's prefix (skip, 77,
#                     when libvirtd/QEMU are not installed)
#   lv_test_start     start the private libvirtd; lv_stop runs at exit from
#                     lib.sh's cleanup (the harness's own trap is off)
#   lv_host_agent [CONF LINES...]
#                     host hv1 = the harness's namespace (where libvirtd and
#                     the guests' bridge live), cabled to the controller's
#                     management bridge like topo_host; keys, enrolment and
#                     an agent.conf with inventory = libvirt (+ CONF LINES);
#                     the harness's bridge is the public scope. Needs
#                     topo_controller first.
#   lv_controller_and_host [CONF LINES...]
#                     lib.sh's controller (netns, keys, cordond.conf) and
#                     lv_host_agent: everything before starting the daemons
#   lv_daemons_up     controller and hv1's agent started and connected
#   lv_guest_up NAME IP
#                     NAME known to the controller, booted, answers ping
#   lv_boot_guest NAME MAC IP [noacpi|nohotplug]
#                     define and start a guest on the harness's bridge, its
#                     serial console shown with the logs on failure
# and probes of what the agent and libvirt say: ctl_mech, agent_mech,
# iface_live/conf/gone/has, state_has, elapsed_ms.

lv_test_init() {
	LV_NO_TRAP=1
	LV_NS=$CDT_PREFIX-lv # named after the test: tests/run reaps leftovers
	LV_PROBE_NS=$CDT_PREFIX-lvp
	LV_DIR=$CDT_TMP/lv
	. "$CDT_ROOT/tests/vm/libvirt-env.sh"
	if ! lv_check_tools; then
		echo "# skipped: libvirtd / QEMU not installed (scripts/install-deps.sh)"
		exit 77
	fi
}

lv_test_start() {
	on_exit lv_stop
	lv_start || fail "private libvirtd starts (tests/vm/libvirt-env.sh)"
	_log_register "$LV_DIR/libvirtd.log"
}

lv_host_agent() {
	H_NS[hv1]=$LV_NS
	H_IDX[hv1]=1
	ip -n "$CTL_NS" link add hv1 type veth peer name mgmt0 netns "$LV_NS"
	ip -n "$CTL_NS" link set hv1 master mgmt up
	ip -n "$LV_NS" addr add 198.18.0.11/24 dev mgmt0
	ip -n "$LV_NS" link set mgmt0 up
	mkdir -p "$CDT_TMP/hv1/state"
	agent_keygen hv1
	enroll_agent hv1
	write_agent_conf hv1 hv1 "inventory = libvirt" "libvirt_uri = $LV_URI" "$@"
	echo "$LV_BRIDGE = public" >>"$CDT_TMP/hv1/agent.conf" # [scopes] is last
}

lv_controller_and_host() {
	topo_controller
	ctl_keygen
	write_controller_conf
	lv_host_agent "$@"
}

# lv_daemons_up: lib.sh's controller and hv1's agent started, connected.
lv_daemons_up() {
	start_controller
	start_agent hv1
	wait_agent_connected hv1
}

# lv_guest_up NAME IP: the controller knows NAME, it booted and answers
# ping from the probe at IP.
lv_guest_up() {
	wait_vm_known "$1"
	lv_wait_ready "$1" 120 || fail "$1 boots to its ready marker"
	lv_wait_ping "$2" 30 || fail "$1 answers ping from the probe"
}

lv_boot_guest() {
	_log_register "$LV_DIR/guests/$1.serial"
	lv_define_guest "$1" "$2" "$LV_BRIDGE" "$3/24" ${4:+"$4"} || fail "virsh define $1"
	lv_start_guest "$1" || fail "virsh start $1"
}

elapsed_ms() { now_ms; echo $((NOW_MS - $1)); }
# ctl_mech NAME: the mechanisms the agent last reported for NAME.
ctl_mech() { ctl --json vm show "$1" | jq -r '[.. | objects | .mechanisms? | strings] | first // ""'; }
ctl_mech_is() { [ "$(ctl_mech "$1")" = "$2" ]; }
# agent_mech UUID: the mechanisms cordon-agent status shows for UUID.
agent_mech() { agent_status hv1 --json | jq -r --arg u "$1" '.vms[] | select(.uuid == $u) | .mechanisms'; }
agent_mech_is() { [ "$(agent_mech "$1")" = "$2" ]; }
# iface_live NAME MAC / iface_conf NAME MAC: the NIC is in the live /
# persistent domain XML.
iface_live() { lv_iface_xml "$1" "$2" >/dev/null 2>&1; }
iface_conf() { lv_iface_xml "$1" "$2" --inactive >/dev/null 2>&1; }
iface_gone() { ! iface_live "$1" "$2" && ! iface_conf "$1" "$2"; }
# iface_has NAME MAC PATTERN [--inactive]: its <interface> element matches
# (captured first: grep -q closing the pipe early fails under pipefail).
iface_has() { local x; x=$(lv_iface_xml "$1" "$2" "${@:4}") && grep -q "$3" <<<"$x"; }
state_has() { grep -q "$1" "$CDT_TMP/hv1/state/state.json" 2>/dev/null; }
