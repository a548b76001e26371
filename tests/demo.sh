#!/bin/bash
# tests/demo.sh (make demo): cordon in under a minute, on this machine only.
# Builds a tiny cloud out of network namespaces (a controller, one
# hypervisor host with a public and a private bridge, two VMs), runs the
# real cordond and cordon-agent, cuts a VM's public network and restores it;
# then an abuse report mail runs the phishing ladder on the controller's
# test clock: warning mail, call task, the cut at the deadline, resolve.
# Everything it creates is removed when it ends, also on Ctrl-C.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cases.sh"
. "$(dirname "$0")/reports.sh"

if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root (it creates network namespaces and nftables tables): try sudo make demo" >&2
	exit 1
fi
CDT_LOG_LEVEL=${CDT_LOG_LEVEL:-info}
cdt_init

if [ -t 1 ]; then B=$'\e[1m' D=$'\e[2m' N=$'\e[0m'; else B='' D='' N=''; fi
say() { printf '\n%s\n' "${B}$*${N}"; }
# show [HOST] CMD...: prints the command as a user would type it, runs it,
# indents its output. HOST names where it runs, for the reader.
show() {
	local where='' ns=''
	if [[ $1 == @* ]]; then
		where=${1#@}
		shift
		case $where in
		public-probe) ns=${H_NS[hv1]}-public ;;
		private-probe) ns=${H_NS[hv1]}-private ;;
		hv1) ns=${H_NS[hv1]} ;;
		vm1) ns=${VM_NS[vm1]} ;;
		esac
	fi
	printf '  %s$ %s\n' "${where:+${D}(on $where)${N} }" "$(quote_args "$@")"
	# Shown by their short names; run from the build tree (ip netns exec
	# does not see shell functions).
	case $1 in
	cordonctl) set -- "$CORDONCTL" "${@:2}" ;;
	cordon-agent) set -- "$CORDON_AGENT" "${@:2}" ;;
	esac
	if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi 2>&1 | sed 's/^/      /'
	return "${PIPESTATUS[0]}"
}
# quote_args ARGS...: the words as a shell user would type them.
quote_args() {
	local a out=
	for a in "$@"; do
		if [[ -z $a || $a == *[^A-Za-z0-9_./:@=,+-]* ]]; then a="\"$a\""; fi
		out+="${out:+ }$a"
	done
	printf '%s' "$out"
}
cordonctl() { "$CORDONCTL" "$@"; }
cordon-agent() { "$CORDON_AGENT" "$@"; }
export CORDON_SOCKET

say "== cordon demo =="
echo "cordon cuts and restores VMs' network on hypervisor hosts, for abuse handling."
echo "Three programs: cordond (controller), cordon-agent (one per host), cordonctl (CLI)."
echo "This demo fakes a small cloud with network namespaces on this machine:"
echo "  controller  198.18.0.1   (namespace $CDT_PREFIX-ctl)"
echo "  host hv1    198.18.0.11  bridges br-pub 198.18.11.0/24, br-priv 198.18.12.0/24"
echo "  VMs vm1 (198.18.11.11, 198.18.12.11) and vm2 (198.18.11.12, 198.18.12.12)"
echo "  a 'probe' machine on each bridge (.254) that pings the VMs."

say "1. Building the network and the keys"
topo_controller
topo_host hv1 1
topo_vm hv1 1 1 vm1
topo_vm hv1 1 2 vm2
CORDON_SOCKET=$CDT_TMP/ctl/control.sock
show cordonctl keygen --out "$CDT_TMP/ctl/controller.cert"
show cordon-agent keygen --out "$CDT_TMP/hv1/agent.cert" --host hv1
echo "  Enrolling the agent: its public key goes into the controller's authorized-agents directory."
# The case configuration of the tests: shipped policies and templates, a
# calendar, and notifiers that keep each mail and call task as a file.
cases_setup_files
cases_conf_lines
write_controller_conf "${CASES_CONF[@]}"
write_agent_conf hv1
jq '(.vms[] | select(.name == "vm1")).contact = "owner@customer.example"' \
	"$CDT_TMP/hv1/inventory.json" >"$CDT_TMP/hv1/inventory.json.new"
mv "$CDT_TMP/hv1/inventory.json.new" "$CDT_TMP/hv1/inventory.json"
show cp "$CDT_TMP/hv1/agent.cert" "$CDT_TMP/ctl/authorized/hv1.cert"
echo "  hv1's inventory (normally from libvirt; here a static file):"
jq -c '.vms[] | {name, contact, interfaces: [.interfaces[] | {mac, bridge, ips}]}' \
	"$CDT_TMP/hv1/inventory.json" | sed 's/^/      /'

say "2. Starting cordond and cordon-agent (CURVE-encrypted ZeroMQ over TCP)"
start_controller --test-clock
# The test clock from before the agent's first inventory: the addresses'
# history (which VM held which address when) starts then.
clock_set 2026-12-07T09:00:00Z
echo "  cordond is running (log: $CDT_TMP/ctl/cordond.log), on a test clock for part 7"
start_agent hv1
echo "  cordon-agent on hv1 is running (log: $CDT_TMP/hv1/agent.log)"
wait_until 20 agent_connected hv1 || fail "the agent connects to the controller"
wait_until 20 vm_known vm1 || fail "the controller learns vm1 from the agent"
show cordonctl agents
show cordonctl vms

say "3. Before: vm1 answers on its public and private addresses"
wait_until 10 vm_ping vm1 public || fail "public ping to vm1"
show @public-probe ping -q -c 1 -W 1 198.18.11.11
show @private-probe ping -q -c 1 -W 1 198.18.12.11

say "4. An abuse report: cut vm1's public network"
show cordonctl suspend vm1 --scope public --reason "phishing page, ticket 4711"
wait_until 10 not vm_ping vm1 public || fail "public ping to vm1 fails after suspend"
echo "  Public ping now fails; the private network still works:"
show @public-probe ping -q -c 1 -W 1 198.18.11.11 || true
show @private-probe ping -q -c 1 -W 1 198.18.12.11
echo "  The agent hooks drop chains on vm1's public port (its host-side veth) in its"
echo "  nftables table 'netdev cordon': whatever vm1 does inside, its frames pass there."
show @hv1 nft list table netdev cordon
echo "  vm2 on the same bridge is untouched:"
show @public-probe ping -q -c 1 -W 1 198.18.11.12
echo "  The tenant inside vm1 (root there) picks another MAC and another address:"
show @vm1 ip link set dev eth0 address 52:54:00:aa:bb:cc
show @vm1 ip addr add 198.18.11.111/24 dev eth0
ip netns exec "${H_NS[hv1]}-public" ip neigh flush all
echo "  ... and stays cut, on both addresses:"
show @public-probe ping -q -c 1 -W 1 198.18.11.11 || true
show @public-probe ping -q -c 1 -W 1 198.18.11.111 || true

say "5. What the operator and the host admin see"
wait_until 10 vm_enforced vm1 || true
show cordonctl vms
show cordonctl agents
echo "  On the host, the agent's own view (also: --json):"
show @hv1 cordon-agent status --socket "$CDT_TMP/hv1/status.sock"

say "6. Case resolved: restore vm1"
show cordonctl restore vm1
wait_until 10 vm_ping vm1 public || fail "public ping to vm1 passes after restore"
show @public-probe ping -q -c 1 -W 1 198.18.11.11
wait_until 10 vm_converged vm1 || true
show cordonctl vms

say "7. An abuse report arrives by mail: the phishing ladder, on the controller's test clock"
show cordonctl clock set 2026-12-07T10:00:00Z
xarf4_mail 198.18.11.11 2026-12-07T09:58:00Z cert-2026-4711 content phishing >"$CDT_TMP/report.eml"
echo "  A CERT's X-ARF report about 198.18.11.11, as the MTA pipes it to 'cordonctl report ingest':"
sed -n '1,5p' "$CDT_TMP/report.eml" | sed 's/^/      /'
show cordonctl report ingest --types "$REPORTS_CONF/report-types.conf" \
	--rules "$REPORTS_CONF/report-rules.conf" "$CDT_TMP/report.eml"
id=$(ctl --json case list | jq -r 'first(.[] | select(.vm_name == "vm1")) | .id')
[ -n "$id" ] && [ "$id" != null ] || fail "the report opens a case on vm1"
echo "  Case $id: the owner's contact came from hv1's inventory; the ladder is the phishing policy."
wait_until 10 has_mails "$id" 1 || fail "the warning mail of case $id goes out"
echo "  The warning mail went out at once (the notifier here keeps it as a file):"
sed -n '/^To:/p;/^Subject:/p' $(mails_for "$id") | sed 's/^/      /'
show cordonctl case show "$id"
echo "  Two hours pass without an answer: a call task for the NOC."
show cordonctl clock advance 2h
wait_until 10 has_calls "$id" 1 || fail "the call task of case $id"
show cordonctl case list
echo "  Nobody answers the call for two more hours: the ladder cuts public and private."
show cordonctl clock advance 2h
wait_until 10 not vm_ping vm1 private || fail "private ping to vm1 fails at the deadline"
show @public-probe ping -q -c 1 -W 1 198.18.11.11 || true
show @private-probe ping -q -c 1 -W 1 198.18.12.11 || true
echo "  The customer removes the kit and confirms in writing: resolving lifts the case's cut."
show cordonctl case resolve "$id" --note "phishing kit removed, confirmed in writing (ticket 4711)"
wait_until 10 vm_ping vm1 private || fail "private ping to vm1 passes after resolve"
show @public-probe ping -q -c 1 -W 1 198.18.11.11
show @private-probe ping -q -c 1 -W 1 198.18.12.11
show cordonctl audit --case "$id"

say "Done. Cleaning up the namespaces, processes and files this demo created."
echo "Next: README.md, docs/interfaces.md, and 'make check' for the full test suite."
cdt_done
