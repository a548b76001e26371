#!/bin/bash
# --scope smtp: the VM can no longer open connections to mail ports
# (25, 465, 587) but everything else still works: ping, other TCP ports,
# mail from other VMs. TCP probes: nc listeners in the public probe
# namespace, connections from inside the VM.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
command -v nc >/dev/null || fail "nc (netcat-openbsd) is installed"

topo_one_host 2

probe_ip=198.18.11.254
pns=${H_NS[hv1]}-public
for port in 25 465 587 80; do
	ip netns exec "$pns" nc -l -k "$probe_ip" "$port" </dev/null >/dev/null 2>&1 &
	on_exit kill "$!"
done

# tcp_ok VM PORT: VM opens a TCP connection to the probe's PORT.
tcp_ok() {
	ip netns exec "${VM_NS[$1]}" nc -z -w 2 "$probe_ip" "$2" >/dev/null 2>&1
}
ports_open() { # VM PORT...
	local vm=$1 p
	shift
	for p in "$@"; do tcp_ok "$vm" "$p" || return 1; done
}

check "before: vm11 connects to ports 25, 465, 587 and 80" \
	wait_until 10 ports_open vm11 25 465 587 80

vm_suspend vm11 smtp
ok "cordonctl suspend vm11 --scope smtp"
check "cordonctl vms: vm11 enforced with scopes [smtp]" wait_until 15 \
	vms_jq 'any(.[]; .name == "vm11" and .scopes == ["smtp"] and .state == "enforced")'
for port in 25 465 587; do
	check "vm11 can no longer connect to port $port" wait_until 10 not tcp_ok vm11 "$port"
done
check "vm11 still connects to port 80" tcp_ok vm11 80
expect_reach vm11 public
expect_reach vm11 private
check "vm12 still connects to port 25" tcp_ok vm12 25

vm_restore vm11
ok "cordonctl restore vm11"
check "after restore vm11 connects to ports 25, 465 and 587 again" \
	wait_until 10 ports_open vm11 25 465 587

# public,smtp: a list of scopes.
vm_suspend vm11 public,smtp
expect_cut vm11 public
expect_reach vm11 private
check "cordonctl vms: vm11 scopes [public, smtp]" wait_until 15 \
	vms_jq 'any(.[]; .name == "vm11" and (.scopes | sort) == ["public","smtp"] and .state == "enforced")'
vm_restore vm11
expect_reach vm11 public
check "and port 25 again" wait_until 10 tcp_ok vm11 25

cdt_done
