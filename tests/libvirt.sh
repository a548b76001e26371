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
