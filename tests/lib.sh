# tests/lib.sh: shared helpers for cordon's integration tests and demo.
#
# Source it from a bash script running with `set -euo pipefail`:
#
#   . "$(dirname "$0")/../lib.sh"
#   cdt_init                      # root check (exit 77), tmpdir, EXIT trap
#   topo_two_hosts                # or build piece by piece, see below
#   vm_suspend vm11 public
#   expect_cut vm11 public "public ping to vm11 fails after suspend"
#   cdt_done
#
# Everything a test creates is named after $CDT_PREFIX (default cdt$$):
# network namespaces "$CDT_PREFIX-ctl", "$CDT_PREFIX-hv1", ... and the
# temporary directory /tmp/$CDT_PREFIX.XXXXXX. Interfaces are created inside
# those namespaces only (never in the caller's), so their names are short and
# fixed. One EXIT trap runs the cleanup registry (on_exit) in reverse order,
# on success, failure and Ctrl-C alike.
#
# Address plan (only 198.18.0.0/15, only inside the test's namespaces):
#
#   management  198.18.0.0/24     netns CTL: bridge "mgmt" = 198.18.0.1
#                                 host IDX: veth "mgmt0" = 198.18.0.(10+IDX)
#   host IDX    public  198.18.(10*IDX+1).0/24 on the host's bridge br-pub
#               private 198.18.(10*IDX+2).0/24 on the host's bridge br-priv
#               probe namespaces (one per bridge) = .254
#               VM VMIDX = .(10+VMIDX) on both (eth0 public, eth1 private)
#   VM MACs     eth0 52:54:00:IDX:VMIDX:01, eth1 52:54:00:IDX:VMIDX:02 (hex)
#   VM uuid     c0d0c0d0-0000-4000-8000-IIIIIIVVVVVV (IDX, VMIDX in hex)
#   VM name     vmIDXVMIDX (vm11, vm12, vm21, ...) unless given
#
# So with IDX 1: vm11 = 198.18.11.11 (public) / 198.18.12.11 (private),
# probes 198.18.11.254 / 198.18.12.254; hv1's agent talks to 198.18.0.1
# from 198.18.0.11. Nothing is routed anywhere: no namespace has a default
# route.
#
# IPv6 is off in every namespace unless the test sets CDT_IPV6=1 before
# building its topology; then (only 2001:2::/48, the benchmarking range of
# RFC 5180, only inside the test's namespaces, no DAD):
#
#   host IDX    public  2001:2:0:(10*IDX+1)::/64, private 2001:2:0:(10*IDX+2)::/64
#               probes ::254, VM VMIDX ::(10+VMIDX) (VM_PUB6 / VM_PRIV6)
#
# e.g. vm11 = 2001:2:0:11::11, its public probe 2001:2:0:11::254. IPv6
# addresses are not in the inventory file.

export LC_ALL=C

CDT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CDT_BUILD=${CDT_BUILD:-$CDT_ROOT/build}
CORDOND=${CORDOND:-$CDT_BUILD/cordond}
CORDONCTL=${CORDONCTL:-$CDT_BUILD/cordonctl}
CORDON_AGENT=${CORDON_AGENT:-$CDT_BUILD/cordon-agent}
CORDON_SENDMAIL=${CORDON_SENDMAIL:-$CDT_BUILD/cordon-sendmail}
CDT_PREFIX=${CDT_PREFIX:-cdt$$}
CTL_PORT=${CTL_PORT:-7440}
CTL_ADDR=198.18.0.1
CDT_LOG_LEVEL=${CDT_LOG_LEVEL:-debug}
# Timeout (s) of one ping probe; the tamper timing test uses less.
PING_W=${PING_W:-1}
# 1: namespaces keep IPv6 and get the addresses of the plan above.
CDT_IPV6=${CDT_IPV6:-0}
# The raw frame sender / counter (tests/tools/rawsend.c).
RAWSEND=${RAWSEND:-$CDT_BUILD/tools/rawsend}

CDT_TMP=
CDT_FAILED=0
CDT_IN_CLEANUP=0
CDT_CLEANUP=()
CDT_LOGS=()
CDT_NS=()
CTL_NS=
CTL_PID=
declare -A H_NS=() H_IDX=() AGENT_PID=()
declare -A VM_HOST=() VM_UUID=() VM_IDX=() VM_PUB=() VM_PRIV=() VM_NS=() VM_PUB6=() VM_PRIV6=()

# ---------------------------------------------------------------- reporting

ok() { echo "ok - $*"; }

# Reports a failed check and ends the test (exit 1), unless CDT_KEEP_GOING=1.
fail() {
	echo "not ok - $*"
	CDT_FAILED=1
	if [ "${CDT_KEEP_GOING:-0}" != 1 ] && [ "$CDT_IN_CLEANUP" = 0 ]; then
		exit 1
	fi
	return 0
}

note() { echo "# $*"; }

# check DESC CMD...: ok if CMD succeeds, else fail.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}

# not CMD...: succeeds when CMD fails (for wait_until / check).
not() { ! "$@"; }

# Milliseconds since the epoch, into NOW_MS (no fork).
now_ms() {
	local t=${EPOCHREALTIME//[.,]/}
	NOW_MS=$((t / 1000))
}

# wait_until SECONDS CMD...: runs CMD every 50 ms until it succeeds (0) or
# SECONDS have passed (1). CMD's output is discarded.
wait_until() {
	local secs=$1 deadline
	shift
	now_ms
	deadline=$((NOW_MS + secs * 1000))
	while :; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		now_ms
		if ((NOW_MS >= deadline)); then return 1; fi
		sleep 0.05
	done
}

# --------------------------------------------------------- setup / cleanup

# test_users GROUP USER...: a group and users in it (no home, no shell),
# removed at exit; USER "-NAME" is a user in no group of ours.
test_users() {
	local group=$1 u
	shift
	command -v useradd >/dev/null && command -v setpriv >/dev/null ||
		fail "useradd and setpriv are installed"
	groupadd "$group"
	on_exit groupdel "$group"
	for u in "$@"; do
		if [ "${u#-}" != "$u" ]; then
			useradd -M -N -s /usr/sbin/nologin "${u#-}"
		else
			useradd -M -N -s /usr/sbin/nologin -G "$group" "$u"
		fi
		on_exit userdel "${u#-}"
	done
}

# as USER CMD...: CMD as USER (with USER's groups), output in OUT, status in RC.
as() {
	local user=$1
	shift
	RC=0
	OUT=$(setpriv --reuid="$user" --regid=users --init-groups "$@" 2>&1) || RC=$?
}

# on_exit CMD [ARGS...]: registers a cleanup command (run in reverse order).
on_exit() {
	local q
	q=$(printf '%q ' "$@")
	CDT_CLEANUP+=("$q")
}

_cdt_exit() {
	local rc=$? i
	set +e
	trap - EXIT
	trap '' INT TERM
	CDT_IN_CLEANUP=1
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ "$rc" != 130 ]; then
		_cdt_diagnostics
	fi
	for ((i = ${#CDT_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${CDT_CLEANUP[i]}" >/dev/null 2>&1
	done
	exit "$rc"
}

_cdt_diagnostics() {
	local f h
	echo "# ---- diagnostics ----"
	local pid rc
	for h in ctl "${!AGENT_PID[@]}"; do
		if [ "$h" = ctl ]; then pid=$CTL_PID; else pid=${AGENT_PID[$h]}; fi
		[ -n "$pid" ] || continue
		if kill -0 "$pid" 2>/dev/null; then
			echo "# ${h/#ctl/cordond}: running (pid $pid)"
		else
			rc=0
			wait "$pid" 2>/dev/null || rc=$?
			echo "# ${h/#ctl/cordond}: NOT running (pid $pid, exit status $rc)"
		fi
	done
	if [ -n "$CTL_PID" ] && [ -n "$CDT_TMP" ]; then
		echo "# cordonctl agents / vms:"
		timeout 5 "$CORDONCTL" --socket "$CDT_TMP/ctl/control.sock" agents 2>&1 | sed 's/^/#   /'
		timeout 5 "$CORDONCTL" --socket "$CDT_TMP/ctl/control.sock" vms 2>&1 | sed 's/^/#   /'
	fi
	for h in "${!H_NS[@]}"; do
		if ip netns list 2>/dev/null | grep -qw -- "${H_NS[$h]}"; then
			echo "# nft ruleset in $h:"
			timeout 5 ip netns exec "${H_NS[$h]}" nft list ruleset 2>&1 | head -n 40 | sed 's/^/#   /'
		fi
	done
	for f in "${CDT_LOGS[@]}"; do
		[ -f "$f" ] || continue
		echo "# ---- last 30 lines of ${f#"$CDT_TMP"/} ----"
		tail -n 30 "$f" | sed 's/^/#   /'
		# A sanitizer report's stacks come before its shadow map: show them.
		if grep -q -m1 -E '^==[0-9]+==ERROR: |runtime error:' "$f"; then
			echo "# ---- sanitizer report in ${f#"$CDT_TMP"/} ----"
			grep -m1 -A 60 -E '^==[0-9]+==ERROR: |runtime error:' "$f" | sed 's/^/#   /'
		fi
	done
}

# cdt_init: skip (77) unless root, check tools and binaries, make the tmpdir
# and install the EXIT trap. NEED_BINARIES=0 to build topology only.
cdt_init() {
	if [ "$(id -u)" != 0 ]; then
		echo "# skipped: needs root (network namespaces, nftables)"
		exit 77
	fi
	trap _cdt_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	local t
	for t in ip nft ping jq timeout; do
		command -v "$t" >/dev/null || fail "tool $t is installed (scripts/install-deps.sh)"
	done
	if [ "${NEED_BINARIES:-1}" = 1 ]; then
		for t in "$CORDOND" "$CORDONCTL" "$CORDON_AGENT"; do
			[ -x "$t" ] || fail "$t is built (run make)"
		done
	fi
	make_tmpdir
	# raw_count runs in $(...): its log is registered here, shown if written.
	_log_register "$CDT_TMP/rawsend.log"
}

# make_tmpdir: CDT_TMP = a new directory, removed at exit (CDT_KEEP=1 keeps).
make_tmpdir() {
	CDT_TMP=$(mktemp -d "/tmp/$CDT_PREFIX.XXXXXX")
	if [ "${CDT_KEEP:-0}" = 1 ]; then
		note "keeping $CDT_TMP"
	else
		on_exit rm -rf -- "$CDT_TMP"
	fi
}

# cdt_done: the last line of a test script. Stops the daemons still running
# (agents, then controller), failing if one does not exit cleanly on SIGTERM
# (this is also where sanitizer builds report leaks).
cdt_done() {
	local h
	for h in "${!AGENT_PID[@]}"; do
		[ -z "${AGENT_PID[$h]}" ] || stop_agent "$h"
	done
	[ -z "$CTL_PID" ] || stop_controller
	local f
	for f in "${CDT_LOGS[@]}"; do
		if grep -qE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$f" 2>/dev/null; then
			fail "no sanitizer report in ${f#"$CDT_TMP"/}: $(grep -m1 -E 'Sanitizer|runtime error:' "$f")"
		fi
	done
	if [ "$CDT_FAILED" != 0 ]; then exit 1; fi
	exit 0
}

# ---------------------------------------------------------------- topology

# mkns NAME: a new network namespace with lo up and IPv6 off (CDT_IPV6=1:
# IPv6 on, without duplicate address detection).
mkns() {
	ip netns add "$1"
	on_exit ip netns del "$1"
	CDT_NS+=("$1")
	ip -n "$1" link set lo up
	if [ "$CDT_IPV6" = 1 ]; then
		ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 \
			net.ipv6.conf.default.disable_ipv6=0 net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 >/dev/null 2>&1 ||
			fail "IPv6 can be enabled in namespace $1"
	else
		ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
	fi
}

# topo_controller: netns CTL with bridge mgmt = 198.18.0.1/24.
topo_controller() {
	CTL_NS=$CDT_PREFIX-ctl
	mkns "$CTL_NS"
	ip -n "$CTL_NS" link add mgmt type bridge
	ip -n "$CTL_NS" addr add "$CTL_ADDR/24" dev mgmt
	ip -n "$CTL_NS" link set mgmt up
	mkdir -p "$CDT_TMP/ctl/authorized"
}

_pub_net() { echo "198.18.$((10 * $1 + 1))"; }
_priv_net() { echo "198.18.$((10 * $1 + 2))"; }
_pub_net6() { echo "2001:2:0:$((10 * $1 + 1))"; }
_priv_net6() { echo "2001:2:0:$((10 * $1 + 2))"; }

# topo_host NAME IDX: a simulated hypervisor (netns) with bridges br-pub and
# br-priv, management veth mgmt0 = 198.18.0.(10+IDX) into CTL's mgmt
# bridge, and one probe namespace per bridge (.254). NAME: at most 13
# characters (it names the management veth's peer in CTL).
topo_host() {
	local name=$1 idx=$2 hns scope br pns addr addr6
	[ -n "$CTL_NS" ] || fail "topo_controller before topo_host"
	((idx >= 1 && idx <= 24)) || fail "host index $idx in 1..24"
	hns=$CDT_PREFIX-$name
	_host_mgmt "$name" "$idx"
	ip -n "$hns" link add br-pub type bridge
	ip -n "$hns" link add br-priv type bridge
	ip -n "$hns" link set br-pub up
	ip -n "$hns" link set br-priv up
	for scope in public private; do
		if [ "$scope" = public ]; then
			br="br-pub"
			addr=$(_pub_net "$idx").254
			addr6=$(_pub_net6 "$idx")::254
		else
			br="br-priv"
			addr=$(_priv_net "$idx").254
			addr6=$(_priv_net6 "$idx")::254
		fi
		pns=$hns-$scope
		mkns "$pns"
		ip -n "$hns" link add "probe-$scope" type veth peer name eth0 netns "$pns"
		ip -n "$hns" link set "probe-$scope" master "$br" up
		ip -n "$pns" addr add "$addr/24" dev eth0
		[ "$CDT_IPV6" != 1 ] || ip -n "$pns" addr add "$addr6/64" dev eth0 nodad
		ip -n "$pns" link set eth0 up
	done
	_host_files "$name"
}

# _host_mgmt NAME IDX: HOST's namespace with management veth mgmt0 =
# 198.18.0.(10+IDX) into CTL's mgmt bridge (peer named NAME).
_host_mgmt() {
	local name=$1 idx=$2 hns=$CDT_PREFIX-$1
	H_NS[$name]=$hns
	H_IDX[$name]=$idx
	mkns "$hns"
	ip -n "$hns" link add mgmt0 type veth peer name "$name" netns "$CTL_NS"
	ip -n "$CTL_NS" link set "$name" master mgmt up
	ip -n "$hns" addr add "198.18.0.$((10 + idx))/24" dev mgmt0
	ip -n "$hns" link set mgmt0 up
}

_host_files() {
	mkdir -p "$CDT_TMP/$1/state"
	echo '{ "vms": [] }' >"$CDT_TMP/$1/inventory.json"
}

# big_inventory HOST N UUID8 NAME MACBYTE: HOST's static inventory of N VMs
# (no namespaces: uuid UUID8-0000-4000-8000-<i>, name NAME<i>, one br-pub
# interface 02:MACBYTE:<i>:01 without a port or IPs, so cut by MAC).
big_inventory() {
	python3 - "$2" "$CDT_TMP/$1/inventory.json" "$3" "$4" "$5" <<'PY'
import json, sys
n, path, uuid8, name, mb = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5], 16)
vms = [{"uuid": "%s-0000-4000-8000-%012d" % (uuid8, i), "name": "%s%d" % (name, i),
        "interfaces": [{"mac": "02:%02x:%02x:%02x:%02x:01" % (mb, i >> 16 & 255, i >> 8 & 255, i & 255),
                        "bridge": "br-pub", "ips": []}]} for i in range(n)]
json.dump({"vms": vms}, open(path, "w"))
PY
}

vm_uuid_of() { printf 'c0d0c0d0-0000-4000-8000-%06x%06x' "$1" "$2"; }

# topo_vm HOST IDX VMIDX [NAME]: a simulated VM (netns) with eth0 on the
# host's br-pub and eth1 on br-priv, added to the host's inventory file.
topo_vm() {
	local host=$1 idx=$2 vmidx=$3 name=${4:-vm$2$3}
	local hns=${H_NS[$host]:-} vns uuid inv
	[ -n "$hns" ] || fail "topo_host $host before topo_vm"
	[ "${H_IDX[$host]}" = "$idx" ] || fail "host $host has index ${H_IDX[$host]}, not $idx"
	((vmidx >= 1 && vmidx <= 200)) || fail "vm index $vmidx in 1..200"
	vns=$hns-vm$vmidx
	uuid=$(vm_uuid_of "$idx" "$vmidx")
	mkns "$vns"
	VM_HOST[$name]=$host
	VM_UUID[$name]=$uuid
	VM_IDX[$name]=$vmidx
	VM_PUB[$name]=$(_pub_net "$idx").$((10 + vmidx))
	VM_PRIV[$name]=$(_priv_net "$idx").$((10 + vmidx))
	VM_NS[$name]=$vns
	if [ "$CDT_IPV6" = 1 ]; then
		VM_PUB6[$name]=$(_pub_net6 "$idx")::$((10 + vmidx))
		VM_PRIV6[$name]=$(_priv_net6 "$idx")::$((10 + vmidx))
	fi
	vm_plug "$name" public
	vm_plug "$name" private
	inv=$CDT_TMP/$host/inventory.json
	jq --arg uuid "$uuid" --arg name "$name" \
		--arg mac0 "$(vm_mac "$name" public)" --arg mac1 "$(vm_mac "$name" private)" \
		--arg pub "${VM_PUB[$name]}" --arg priv "${VM_PRIV[$name]}" \
		--arg port0 "vm$vmidx-pub" --arg port1 "vm$vmidx-priv" \
		'.vms += [{ uuid: $uuid, name: $name, interfaces: [
		   { mac: $mac0, bridge: "br-pub", port: $port0, ips: [$pub] },
		   { mac: $mac1, bridge: "br-priv", port: $port1, ips: [$priv] } ] }]' \
		"$inv" >"$inv.new"
	mv "$inv.new" "$inv"
}

# vm_mac NAME SCOPE: the VM's provisioned MAC in SCOPE.
vm_mac() {
	local idx=${H_IDX[${VM_HOST[$1]}]} n=01
	[ "$2" = public ] || n=02
	printf '52:54:00:%02x:%02x:%s' "$idx" "${VM_IDX[$1]}" "$n"
}

# vm_plug NAME SCOPE: plugs the VM's interface in SCOPE (eth0 public, eth1
# private) in, as a hypervisor does at VM start: host-side veth vmN-pub /
# vmN-priv (its port) on br-pub / br-priv, the peer in the VM's namespace
# with its MAC and addresses, up. Also to re-create a port a test deleted.
vm_plug() {
	local name=$1 scope=$2 hns=${H_NS[${VM_HOST[$1]}]} vns=${VM_NS[$1]}
	local port=vm${VM_IDX[$1]}-pub dev=eth0 br=br-pub ip=${VM_PUB[$1]} ip6=${VM_PUB6[$1]:-}
	if [ "$scope" = private ]; then
		port=vm${VM_IDX[$1]}-priv dev=eth1 br=br-priv ip=${VM_PRIV[$1]} ip6=${VM_PRIV6[$1]:-}
	fi
	ip -n "$hns" link add "$port" type veth peer name "$dev" netns "$vns"
	ip -n "$hns" link set "$port" master "$br" up
	ip -n "$vns" link set "$dev" address "$(vm_mac "$name" "$scope")"
	ip -n "$vns" addr add "$ip/24" dev "$dev"
	[ -z "$ip6" ] || ip -n "$vns" addr add "$ip6/64" dev "$dev" nodad
	ip -n "$vns" link set "$dev" up
}

# probe_ping HOST SCOPE IP: one ping from HOST's probe namespace on the
# SCOPE (public|private) bridge; returns ping's status.
probe_ping() {
	ip netns exec "${H_NS[$1]}-$2" ping -n -q -c 1 -W "$PING_W" "$3" >/dev/null 2>&1
}

# vm_ip NAME SCOPE
vm_ip() {
	if [ "$2" = public ]; then echo "${VM_PUB[$1]}"; else echo "${VM_PRIV[$1]}"; fi
}

# vm_ping NAME SCOPE: probe_ping towards VM NAME's address in SCOPE.
vm_ping() {
	probe_ping "${VM_HOST[$1]}" "$2" "$(vm_ip "$1" "$2")"
}

# expect_reach VM SCOPE [TIMEOUT]: ping VM on SCOPE passes (retried).
expect_reach() {
	local vm=$1 scope=$2 t=${3:-10}
	if wait_until "$t" vm_ping "$vm" "$scope"; then
		ok "$scope ping to $vm passes"
	else
		fail "$scope ping to $vm passes (none answered within ${t}s)"
	fi
}

# expect_cut VM SCOPE [TIMEOUT]: ping VM on SCOPE fails within TIMEOUT, and
# two more pings right after fail too.
expect_cut() {
	local vm=$1 scope=$2 t=${3:-10}
	if ! wait_until "$t" not vm_ping "$vm" "$scope"; then
		fail "$scope ping to $vm fails (still answered after ${t}s)"
		return 0
	fi
	if vm_ping "$vm" "$scope" || vm_ping "$vm" "$scope"; then
		fail "$scope ping to $vm fails (it failed once, then answered again)"
		return 0
	fi
	ok "$scope ping to $vm fails"
}

# expect_stays_cut VM SCOPE SECONDS: every ping for SECONDS fails.
expect_stays_cut() {
	local vm=$1 scope=$2 secs=$3 end n=0
	now_ms
	end=$((NOW_MS + secs * 1000))
	while :; do
		if vm_ping "$vm" "$scope"; then
			fail "$scope ping to $vm keeps failing for ${secs}s (answered after $n failed pings)"
			return 0
		fi
		n=$((n + 1))
		now_ms
		((NOW_MS < end)) || break
		sleep 0.2
	done
	ok "$scope ping to $vm keeps failing for ${secs}s ($n pings)"
}

# expect_vm_open VM / expect_vm_cut VM: both scopes.
expect_vm_open() {
	expect_reach "$1" public "${2:-10}"
	expect_reach "$1" private "${2:-10}"
}

# ------------------------------------------------------- keys and configs

# ctl ARGS...: cordonctl against the test controller's control socket.
ctl() {
	"$CORDONCTL" --socket "$CDT_TMP/ctl/control.sock" "$@"
}

# ctl_keygen: the controller's key pair in $CDT_TMP/ctl/controller.cert*.
ctl_keygen() {
	"$CORDONCTL" keygen --out "$CDT_TMP/ctl/controller.cert" >/dev/null ||
		fail "cordonctl keygen --out $CDT_TMP/ctl/controller.cert"
	[ -s "$CDT_TMP/ctl/controller.cert_secret" ] ||
		fail "cordonctl keygen wrote controller.cert_secret"
}

# write_controller_conf [EXTRA LINES...]: $CDT_TMP/ctl/cordond.conf. The
# database is $CTL_DB if set (e.g. on a filesystem the test mounted).
write_controller_conf() {
	local l db=${CTL_DB:-$CDT_TMP/ctl/cordon.db}
	if [ -z "${CTL_DB:-}" ] && [ "$CDT_STORE" = postgresql ]; then
		pg_store_ensure
		db=$PG_STORE_URL
	fi
	{
		echo "[controller]"
		echo "listen = tcp://$CTL_ADDR:$CTL_PORT"
		echo "key = $CDT_TMP/ctl/controller.cert_secret"
		echo "authorized_agents = $CDT_TMP/ctl/authorized"
		echo "database = $db"
		echo "control_socket = $CDT_TMP/ctl/control.sock"
		echo "control_group = root"
		echo "resend_ms = 500"
		echo "agent_timeout_ms = 3000"
		for l in "$@"; do echo "$l"; done
	} >"$CDT_TMP/ctl/cordond.conf"
}

# agent_keygen HOST [KEYHOST]: HOST's key pair in $CDT_TMP/HOST/agent.cert*,
# with host-id metadata KEYHOST (default HOST; "-": no metadata).
agent_keygen() {
	local host=$1 keyhost=${2:-$1}
	local hostarg=(--host "$keyhost")
	[ "$keyhost" != - ] || hostarg=()
	"$CORDON_AGENT" keygen --out "$CDT_TMP/$host/agent.cert" "${hostarg[@]}" >/dev/null ||
		fail "cordon-agent keygen --out $CDT_TMP/$host/agent.cert ${hostarg[*]}"
	[ -s "$CDT_TMP/$host/agent.cert_secret" ] ||
		fail "cordon-agent keygen wrote agent.cert_secret"
}

# enroll_agent HOST [FILENAME]: copies HOST's public cert into the
# controller's authorized directory (as HOST.cert by default).
enroll_agent() {
	cp "$CDT_TMP/$1/agent.cert" "$CDT_TMP/ctl/authorized/${2:-$1.cert}"
}

# write_agent_conf HOST [HOST_ID [EXTRA LINES...]]: $CDT_TMP/HOST/agent.conf,
# plus HOST's public copy of the controller key.
write_agent_conf() {
	local host=$1 hid=${2:-$1} d=$CDT_TMP/$1 l
	shift $(($# >= 2 ? 2 : 1))
	cp "$CDT_TMP/ctl/controller.cert" "$d/controller.cert"
	{
		echo "[agent]"
		echo "host_id = $hid"
		echo "controller = tcp://$CTL_ADDR:$CTL_PORT"
		echo "controller_key = $d/controller.cert"
		echo "key = $d/agent.cert_secret"
		echo "state_dir = $d/state"
		echo "status_socket = $d/status.sock"
		echo "nft_table = cordon"
		echo "heartbeat_ms = 500"
		echo "verify_ms = 2000"
		echo "inventory_file = $d/inventory.json"
		for l in "$@"; do echo "$l"; done
		echo
		echo "[scopes]"
		echo "br-pub = public"
		echo "br-priv = private"
		echo "unmapped = public"
	} >"$d/agent.conf"
}

# setup_agent HOST: keygen, enrolment and config for a well-behaved agent.
setup_agent() {
	agent_keygen "$1"
	enroll_agent "$1"
	write_agent_conf "$1"
}

# ---------------------------------------------------------------- daemons

_log_register() {
	local f
	for f in "${CDT_LOGS[@]}"; do [ "$f" = "$1" ] && return 0; done
	CDT_LOGS+=("$1")
}

# _stop_pid PID WHAT SIGNAL: signal, wait up to 10 s, then SIGKILL. A
# SIGTERM'd daemon must exit with 0 or 143; anything else fails the test.
_stop_pid() {
	local pid=$1 what=$2 sig=${3:-TERM} rc
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; } # already gone
	kill -s "$sig" "$pid" 2>/dev/null || true
	if ! wait_until 10 not kill -0 "$pid"; then
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null
		if [ "$CDT_IN_CLEANUP" = 0 ]; then
			fail "$what exits within 10 s of SIG$sig (had to SIGKILL it)"
		fi
		return 0
	fi
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	if [ "$sig" = TERM ] && [ "$rc" != 0 ] && [ "$rc" != 143 ]; then
		if [ "$CDT_IN_CLEANUP" = 0 ]; then
			fail "$what exits cleanly on SIGTERM (exit status $rc)"
		else
			note "$what exited with status $rc on SIGTERM"
		fi
	fi
	return 0
}

# start_controller [ARGS...]: cordond in CTL's netns, log ctl/cordond.log;
# waits until `cordonctl status` answers.
start_controller() {
	local log=$CDT_TMP/ctl/cordond.log
	_log_register "$log"
	[ -z "$CTL_PID" ] || fail "start_controller: already running"
	echo "=== start $(date +%T.%N)" >>"$log"
	ip netns exec "$CTL_NS" "$CORDOND" -c "$CDT_TMP/ctl/cordond.conf" \
		--log-level "$CDT_LOG_LEVEL" "$@" >>"$log" 2>&1 </dev/null &
	CTL_PID=$!
	if [ "${_CDT_CTL_REG:-0}" = 0 ]; then
		on_exit stop_controller
		_CDT_CTL_REG=1
	fi
	if ! wait_until 20 _ctl_ready; then
		fail "cordond starts and answers cordonctl status within 20s"
	fi
	kill -0 "$CTL_PID" 2>/dev/null || fail "cordond is still running after start"
}

_ctl_ready() {
	kill -0 "$CTL_PID" 2>/dev/null || return 0 # died: stop waiting
	ctl status >/dev/null 2>&1
}

stop_controller() {
	_stop_pid "$CTL_PID" cordond TERM 2>/dev/null
	CTL_PID=
}

kill9_controller() {
	_stop_pid "$CTL_PID" cordond KILL 2>/dev/null
	CTL_PID=
}

# start_agent HOST [ARGS...]: cordon-agent in HOST's netns, log
# HOST/agent.log; waits until its status socket answers. AGENT_WRAP: a
# command line the agent runs under (e.g. setpriv with the unit's
# capabilities).
AGENT_WRAP=()
start_agent() {
	local host=$1 log=$CDT_TMP/$1/agent.log
	shift
	_log_register "$log"
	[ -z "${AGENT_PID[$host]:-}" ] || fail "start_agent $host: already running"
	echo "=== start $(date +%T.%N)" >>"$log"
	ip netns exec "${H_NS[$host]}" "${AGENT_WRAP[@]}" "$CORDON_AGENT" -c "$CDT_TMP/$host/agent.conf" \
		--log-level "$CDT_LOG_LEVEL" "$@" >>"$log" 2>&1 </dev/null &
	AGENT_PID[$host]=$!
	if [ -z "${_CDT_AGENT_REG[$host]:-}" ]; then
		on_exit stop_agent "$host"
		_CDT_AGENT_REG[$host]=1
	fi
	if ! wait_until 20 _agent_ready "$host"; then
		fail "cordon-agent on $host starts and answers status within 20s"
	fi
	kill -0 "${AGENT_PID[$host]}" 2>/dev/null ||
		fail "cordon-agent on $host is still running after start"
}
declare -A _CDT_AGENT_REG=()

_agent_ready() {
	kill -0 "${AGENT_PID[$1]}" 2>/dev/null || return 0
	agent_status "$1" >/dev/null 2>&1
}

stop_agent() {
	_stop_pid "${AGENT_PID[$1]:-}" "cordon-agent on $1" TERM 2>/dev/null
	AGENT_PID[$1]=
}

kill9_agent() {
	_stop_pid "${AGENT_PID[$1]:-}" "cordon-agent on $1" KILL 2>/dev/null
	AGENT_PID[$1]=
}

# agent_status HOST [--json]: `cordon-agent status` of HOST's agent.
agent_status() {
	local host=$1
	shift
	"$CORDON_AGENT" status --socket "$CDT_TMP/$host/status.sock" "$@"
}

# ------------------------------------------------- controller-side queries

# agent_connected HOST: cordonctl agents --json says HOST is connected.
agent_connected() {
	ctl --json agents | jq -e --arg h "$1" 'any(.[]; .host == $h and .connected == true)' >/dev/null
}

agent_disconnected() {
	ctl --json agents | jq -e --arg h "$1" 'any(.[]; .host == $h and .connected == false)' >/dev/null
}

# agent_listed HOST: HOST appears in cordonctl agents --json at all.
agent_listed() {
	ctl --json agents | jq -e --arg h "$1" 'any(.[]; .host == $h)' >/dev/null
}

# vm_json NAME: the VM's object from cordonctl vms --json.
vm_json() {
	ctl --json vms | jq -e --arg n "$1" '.[] | select(.name == $n)'
}

# vm_field NAME FIELD: one field of it (jq -r).
vm_field() {
	ctl --json vms | jq -r --arg n "$1" --arg f "$2" '.[] | select(.name == $n) | .[$f]'
}

vm_known() { vm_json "$1" >/dev/null; }

vm_state_is() { [ "$(vm_field "$1" state)" = "$2" ]; }

# vm_enforced NAME: state "enforced" and acked_generation == generation.
vm_enforced() {
	ctl --json vms | jq -e --arg n "$1" \
		'any(.[]; .name == $n and .state == "enforced" and .acked_generation == .generation)' >/dev/null
}

wait_agent_connected() {
	if wait_until "${2:-20}" agent_connected "$1"; then
		ok "cordonctl agents shows $1 connected"
	else
		fail "cordonctl agents shows $1 connected within ${2:-20}s"
	fi
}

wait_vm_known() {
	wait_until "${2:-20}" vm_known "$1" || fail "cordonctl vms lists $1 within ${2:-20}s"
}

# ----------------------------------------------------------- composites

# topo_two_hosts: controller + hv1, hv2 with vm11 vm12 / vm21 vm22, keys,
# configs, all three daemons running and every VM known to the controller.
# START_AGENTS=0 builds and configures without starting the agents.
topo_two_hosts() {
	local h i v
	topo_controller
	ctl_keygen
	write_controller_conf
	for i in 1 2; do
		h=hv$i
		topo_host "$h" "$i"
		for v in 1 2; do topo_vm "$h" "$i" "$v"; done
		setup_agent "$h"
	done
	start_controller
	if [ "${START_AGENTS:-1}" = 1 ]; then
		for h in hv1 hv2; do start_agent "$h"; done
		for h in hv1 hv2; do
			wait_until 20 agent_connected "$h" || fail "agent $h connects to cordond within 20s"
		done
		for v in vm11 vm12 vm21 vm22; do wait_vm_known "$v"; done
		ok "controller and agents hv1, hv2 up; cordonctl vms lists vm11 vm12 vm21 vm22"
	fi
}

# topo_hosts NHOSTS NVMS: controller + hosts hv1..hvNHOSTS with NVMS VMs
# each (vm11.., vm21.., ...), keys, configs, all daemons running and every VM
# known to the controller.
topo_hosts() {
	local i v
	topo_controller
	ctl_keygen
	write_controller_conf
	for ((i = 1; i <= $1; i++)); do
		topo_host "hv$i" "$i"
		for ((v = 1; v <= $2; v++)); do topo_vm "hv$i" "$i" "$v"; done
		setup_agent "hv$i"
	done
	start_controller
	for ((i = 1; i <= $1; i++)); do start_agent "hv$i"; done
	for ((i = 1; i <= $1; i++)); do
		wait_agent_connected "hv$i"
		wait_vm_known "vm$i$2"
	done
}

# topo_one_host_unstarted N: the controller's namespace, keys and config,
# host hv1 with VMs vm11..vm1N; nothing started, no agent set up.
topo_one_host_unstarted() {
	local v
	topo_controller
	ctl_keygen
	write_controller_conf
	topo_host hv1 1
	for ((v = 1; v <= $1; v++)); do topo_vm hv1 1 "$v"; done
}

# topo_one_host N: controller + hv1 with vm11 .. vm1N, keys, configs, both
# daemons running and every VM known to the controller.
topo_one_host() {
	topo_one_host_unstarted "$1"
	setup_agent hv1
	start_controller
	start_agent hv1
	wait_agent_connected hv1
	wait_vm_known "vm1$1"
}

# vm_suspend VM-REF SCOPE: cordonctl suspend, which must succeed.
vm_suspend() {
	local out
	out=$(ctl suspend "$1" --scope "$2" --reason "cordon test" 2>&1) ||
		fail "cordonctl suspend $1 --scope $2 succeeds: $out"
	LAST_OUT=$out
}

# vm_cut_all VM: suspend --scope all, both scopes' pings fail (probes),
# and cordonctl vms shows it enforced.
vm_cut_all() {
	vm_suspend "$1" all
	expect_cut "$1" public
	expect_cut "$1" private
	check "cordonctl vms: $1 enforced" wait_until 10 vm_enforced "$1"
}

vm_restore() {
	local out
	out=$(ctl restore "$1" 2>&1) || fail "cordonctl restore $1 succeeds: $out"
	LAST_OUT=$out
}

# all_open VM...: every listed VM answers on both scopes.
all_open() {
	local v
	for v in "$@"; do
		expect_reach "$v" public
		expect_reach "$v" private
	done
}

# q CMD...: CMD with its output discarded (for check).
q() { "$@" >/dev/null 2>&1; }

# vms_jq FILTER / agents_jq FILTER: jq -e FILTER over cordonctl vms|agents
# --json (status 0 when FILTER yields true).
vms_jq() { ctl --json vms | jq -e "$@" >/dev/null; }
agents_jq() { ctl --json agents | jq -e "$@" >/dev/null; }

# expect_stays_open VM SCOPE SECONDS: every ping for SECONDS passes (the
# first one is retried for up to 10 s).
expect_stays_open() {
	local vm=$1 scope=$2 secs=$3 end n=0
	if ! wait_until 10 vm_ping "$vm" "$scope"; then
		fail "$scope ping to $vm keeps passing for ${secs}s (none answered within 10s)"
		return 0
	fi
	now_ms
	end=$((NOW_MS + secs * 1000))
	while :; do
		if ! vm_ping "$vm" "$scope" && ! vm_ping "$vm" "$scope"; then
			fail "$scope ping to $vm keeps passing for ${secs}s (stopped after $n)"
			return 0
		fi
		n=$((n + 1))
		now_ms
		((NOW_MS < end)) || break
		sleep 0.2
	done
	ok "$scope ping to $vm keeps passing for ${secs}s ($n pings)"
}

# mgmt_link HOST up|down: HOST's management link (the agent's path to the
# controller).
mgmt_link() {
	ip -n "${H_NS[$1]}" link set mgmt0 "$2"
}

# host_nft HOST ARGS...: nft inside HOST's namespace.
host_nft() {
	local h=$1
	shift
	ip netns exec "${H_NS[$h]}" nft "$@"
}

# iface_field HOST MAC FIELD: FIELD (port, enforcement) of the cut interface
# MAC in HOST's `cordon-agent status --json`; fails if it is not cut there.
iface_field() {
	agent_status "$1" --json | jq -er --arg m "$2" --arg f "$3" \
		'[.vms[].interfaces[]? | select(.mac == ($m | ascii_downcase))][0] | .[$f] // "" | strings'
}

# host_holds HOST MAC: HOST's kernel holds a cut of interface MAC: chains
# on the port the agent names for it, or MAC in the bridge map.
host_holds() {
	local port
	port=$(iface_field "$1" "$2" port 2>/dev/null) || return 1
	if [ -n "$port" ]; then
		host_nft "$1" list chain netdev cordon "in_$port" >/dev/null 2>&1
	else
		host_nft "$1" list map bridge cordon cut 2>/dev/null | grep -qi "$2"
	fi
}

# host_lifted HOST MAC PORT: no chain for PORT and MAC in no bridge map.
host_lifted() {
	! host_nft "$1" list table netdev cordon 2>/dev/null | grep -q "chain in_$3 " &&
		! host_nft "$1" list ruleset 2>/dev/null | grep -qi "$2"
}

pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# never_within SECONDS CMD...: polls CMD every 0.25 s for SECONDS; fails
# (returns 1) as soon as CMD succeeds once.
never_within() {
	local secs=$1 end
	shift
	now_ms
	end=$((NOW_MS + secs * 1000))
	while :; do
		if "$@" >/dev/null 2>&1; then return 1; fi
		now_ms
		((NOW_MS < end)) || return 0
		sleep 0.25
	done
}

# start_agent_nowait HOST [ARGS...]: like start_agent, but does not wait
# for (or require) the status socket: for agents that may be refused.
start_agent_nowait() {
	local host=$1 log=$CDT_TMP/$1/agent.log
	shift
	_log_register "$log"
	echo "=== start $(date +%T.%N)" >>"$log"
	ip netns exec "${H_NS[$host]}" "${AGENT_WRAP[@]}" "$CORDON_AGENT" -c "$CDT_TMP/$host/agent.conf" \
		--log-level "$CDT_LOG_LEVEL" "$@" >>"$log" 2>&1 </dev/null &
	AGENT_PID[$host]=$!
	if [ -z "${_CDT_AGENT_REG[$host]:-}" ]; then
		on_exit stop_agent "$host"
		_CDT_AGENT_REG[$host]=1
	fi
}

# vm_converged NAME: the agent acked the VM's current generation.
vm_converged() {
	vms_jq "any(.[]; .name == \"$1\" and .acked_generation == .generation)"
}

# ------------------------------------------------- the tenant's own tools

# vm_exec NAME CMD...: CMD inside VM NAME's namespace (as its root would).
vm_exec() {
	local ns=${VM_NS[$1]}
	shift
	ip netns exec "$ns" "$@"
}

# probe_exec HOST SCOPE CMD...: CMD inside HOST's SCOPE probe namespace.
probe_exec() {
	local ns=${H_NS[$1]}-$2
	shift 2
	ip netns exec "$ns" "$@"
}

# ns_mac NS IFACE: IFACE's MAC inside namespace NS.
ns_mac() {
	ip -n "$1" -j link show dev "$2" | jq -r '.[0].address'
}

# raw_count NS IFACE [-u] DPORT CMD...: starts `rawsend listen` on IFACE in
# namespace NS, runs CMD (the sender) once it listens, and prints how many
# TCP (-u: UDP) frames to DPORT arrived within RAW_LISTEN_S (default 1) s.
# Fails (status 1, nothing printed) if the listener or CMD failed: a broken
# sender must never look like a cut. The listener's per-frame lines go to
# $CDT_TMP/rawsend.log (shown in the diagnostics of a failed test).
raw_count() {
	local ns=$1 ifc=$2 udp=() port out pid rc=0 log=$CDT_TMP/rawsend.log
	shift 2
	if [ "$1" = -u ]; then
		udp=(-u)
		shift
	fi
	port=$1
	shift
	[ -x "$RAWSEND" ] || { echo "# $RAWSEND is not built" >&2; return 1; }
	out=$(mktemp "$CDT_TMP/rawlisten.XXXXXX")
	echo "--- listen ${udp[*]} $ns $ifc $port; sender: $*" >>"$log"
	ip netns exec "$ns" "$RAWSEND" listen "${udp[@]}" -v "$ifc" "$port" \
		"${RAW_LISTEN_S:-1}" >"$out" 2>>"$log" &
	pid=$!
	if ! wait_until 5 grep -q '^ready' "$out"; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		echo "# rawsend listen on $ns/$ifc did not start" >&2
		return 1
	fi
	"$@" >>"$log" 2>&1 || rc=$?
	wait "$pid" || rc=$?
	if [ "$rc" != 0 ]; then
		echo "# rawsend failed (status $rc), see rawsend.log" >&2
		return 1
	fi
	tail -n 1 "$out"
	echo "    counted $(tail -n 1 "$out")" >>"$log"
	rm -f -- "$out"
}

# shared_mount DIR MOUNT-ARGS...: mounts a filesystem for the test on DIR/fs
# (mount MOUNT-ARGS DIR/fs), under DIR, a small tmpfs made shared. Every ip
# netns exec (ours, and other tests' running meanwhile) gives its process a
# copy of the mounts; under a shared parent the copies follow an umount of
# DIR/fs, instead of keeping the filesystem and its device busy. Both are
# unmounted at exit.
shared_mount() {
	local dir=$1
	shift
	mkdir -p "$dir"
	mount -t tmpfs -o size=64k,mode=0755 cdt-shared "$dir"
	on_exit umount -l "$dir"
	mount --make-shared "$dir"
	mkdir "$dir/fs"
	mount "$@" "$dir/fs"
	on_exit umount -l "$dir/fs"
}

# ------------------------------------------------------------ many VMs

_judge_one() { # VM SCOPE cut|open RESULT-FILE
	local r=bad
	if [ "$3" = cut ]; then
		if wait_until 15 not vm_ping "$1" "$2" && ! vm_ping "$1" "$2" && ! vm_ping "$1" "$2"; then
			r=ok
		fi
	elif wait_until 15 vm_ping "$1" "$2"; then
		r=ok
	fi
	echo "$r" >"$4"
}

# judge_vms VM=SCOPES...: the probes judge many VMs at once (one background
# ping loop per VM and scope). SCOPES: the scopes that must be cut, comma
# separated ("public", "private,public"), "-" for none. A cut scope's ping
# must fail within 15 s and twice more right after; every other scope's must
# pass within 15 s. One ok/fail line per VM and scope.
judge_vms() {
	local spec vm scopes scope want dir f pids=()
	dir=$(mktemp -d "$CDT_TMP/judge.XXXXXX")
	for spec in "$@"; do
		vm=${spec%%=*} scopes=${spec#*=}
		for scope in public private; do
			want=open
			[[ ",$scopes," != *",$scope,"* ]] || want=cut
			_judge_one "$vm" "$scope" "$want" "$dir/$vm.$scope.$want" &
			pids+=($!)
		done
	done
	wait "${pids[@]}" || true
	for spec in "$@"; do
		vm=${spec%%=*}
		for f in "$dir/$vm".*; do
			scope=${f#"$dir/$vm".}
			want=${scope#*.} scope=${scope%.*}
			if [ "$want" = cut ]; then
				if [ "$(cat "$f")" = ok ]; then ok "$scope ping to $vm fails"
				else fail "$scope ping to $vm fails (answered within 15 s, or again after failing)"; fi
			elif [ "$(cat "$f")" = ok ]; then ok "$scope ping to $vm passes"
			else fail "$scope ping to $vm passes (none answered within 15 s)"; fi
		done
	done
}

# vm_cut_specs: VM=SCOPES for every VM of cordonctl --json vms, from its
# desired scopes (for judge_vms).
vm_cut_specs() {
	ctl --json vms | jq -r '.[] | "\(.name)=\(if .scopes == [] then "-" else (.scopes | sort | join(",")) end)"'
}

# latency_series N LIMIT_MS WHAT CMD...: runs CMD N times (0.3 s apart, each
# given 10 s); fails for each run without an answer. Sets LAT_MEDIAN and
# LAT_MAX (ms) and LAT_SLOW (how many took over LIMIT_MS), and notes them.
latency_series() {
	local n=$1 limit=$2 what=$3 i t0 t1 ms lats=() sorted
	shift 3
	LAT_SLOW=0
	for ((i = 1; i <= n; i++)); do
		t0=${EPOCHREALTIME//[.,]/}
		if timeout 10 "$@" >/dev/null 2>&1; then
			t1=${EPOCHREALTIME//[.,]/}
			ms=$(((t1 - t0) / 1000))
		else
			fail "$what answers (try $i: no answer within 10 s)"
			ms=10000
		fi
		lats+=("$ms")
		((ms <= limit)) || LAT_SLOW=$((LAT_SLOW + 1))
		sleep 0.3
	done
	sorted=$(printf '%s\n' "${lats[@]}" | sort -n)
	LAT_MEDIAN=$(sed -n "$(((n + 1) / 2))p" <<<"$sorted")
	LAT_MAX=$(tail -n 1 <<<"$sorted")
	note "$what latency (ms, $n tries): median $LAT_MEDIAN, max $LAT_MAX"
}
# ------------------------------------------------- many hosts (load)

# topo_sim_host NAME IDX: a host for load tests: its own namespace with the
# management veth only (198.18.0.(10+IDX), IDX 1..245), no bridges. The
# VMs sim_vms lists for it have no device: the agent cuts them by MAC.
topo_sim_host() {
	[ -n "$CTL_NS" ] || fail "topo_controller before topo_sim_host"
	(($2 >= 1 && $2 <= 245)) || fail "host index $2 in 1..245"
	_host_mgmt "$1" "$2"
	_host_files "$1"
}

# sim_vms HOST N: VMs 1..N of HOST (index IDX) in its inventory, named
# hIDXvV, uuid and MACs of the address plan, IP 198.19.IDX.V, ports tVp
# and tVq that do not exist. A uuid the inventory has already (a VM of
# topo_vm) keeps its entry. IDX and N at most 255.
sim_vms() {
	local inv=$CDT_TMP/$1/inventory.json
	jq --argjson idx "${H_IDX[$1]}" --argjson n "$2" '
	  def hex2: ("0123456789abcdef" | split("")) as $d | $d[(. / 16 | floor)] + $d[. % 16];
	  def mac($v; $k): "52:54:00:\($idx | hex2):\($v | hex2):\($k)";
	  (.vms | map({ (.uuid): 1 }) | add // {}) as $have
	  | .vms += [range(1; $n + 1) as $v
	      | { uuid: "c0d0c0d0-0000-4000-8000-0000\($idx | hex2)0000\($v | hex2)",
	          name: "h\($idx)v\($v)",
	          interfaces: [
	            { mac: mac($v; "01"), bridge: "br-pub", port: "t\($v)p", ips: ["198.19.\($idx).\($v)"] },
	            { mac: mac($v; "02"), bridge: "br-priv", port: "t\($v)q", ips: [] } ] }
	      | select($have[.uuid] | not)]' "$inv" >"$inv.new"
	mv "$inv.new" "$inv"
}

# stop_agents_all: SIGTERM to every running agent at once, then each
# awaited as stop_agent does (hundreds of agents stop in parallel).
stop_agents_all() {
	local h
	for h in "${!AGENT_PID[@]}"; do
		[ -z "${AGENT_PID[$h]}" ] || kill -TERM "${AGENT_PID[$h]}" 2>/dev/null || true
	done
	for h in "${!AGENT_PID[@]}"; do
		[ -z "${AGENT_PID[$h]}" ] || stop_agent "$h"
	done
}

# status_jq FILTER: jq -e FILTER over cordonctl --json status.
status_jq() { ctl --json status | jq -e "$@" >/dev/null; }

# proc_kb PID FIELD: FIELD of /proc/PID/status (VmRSS, VmHWM) in KiB.
proc_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# proc_cpu_s PID: user + system CPU seconds PID has used.
proc_cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"
}

# ctl_each P LOG OP [ARGS...] <REFS: `cordonctl OP REF ARGS...` for each VM
# reference on stdin, P processes at a time. One line per reference in LOG:
# REF CLASS EXIT T0_MS T1_MS TRIES, CLASS as in test 500: ok (exit 0),
# refused (cordond said no), unknown (sent, then the connection broke:
# cordond may have done it), unreachable (exit 3: it never got it). An
# unreachable call is tried again every 0.2 s, for up to 60 s (cordond
# restarting); T0 is its first try.
ctl_each() {
	local p=$1 log=$2
	shift 2
	CTL_EACH_LOG=$log CTL_EACH_SOCK=$CDT_TMP/ctl/control.sock CORDONCTL=$CORDONCTL \
		xargs -P "$p" -I{} bash -c '_ctl_one "$@"' _ "$1" {} "${@:2}"
}

_ctl_one() {
	local op=$1 ref=$2 rc msg t0 tries=0 cls
	shift 2
	t0=${EPOCHREALTIME//[.,]/}
	while :; do
		tries=$((tries + 1))
		rc=0
		msg=$("$CORDONCTL" --socket "$CTL_EACH_SOCK" "$op" "$ref" "$@" 2>&1 >/dev/null) || rc=$?
		[ "$rc" = 3 ] && ((tries < 300)) || break
		sleep 0.2
	done
	case $rc:$msg in
	0:*) cls=ok ;;
	3:*) cls=unreachable ;;
	*"cordond may have done it"*) cls=unknown ;;
	*) cls=refused ;;
	esac
	local t1=${EPOCHREALTIME//[.,]/}
	echo "$ref $cls $rc $((t0 / 1000)) $((t1 / 1000)) $tries" >>"$CTL_EACH_LOG"
	[ "$cls" = ok ] || echo "$ref: exit $rc: $msg" >>"$CTL_EACH_LOG.err"
}
export -f _ctl_one

. "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
