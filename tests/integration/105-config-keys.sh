#!/bin/bash
# Keys and configuration, as an operator installing cordon meets them:
# keygen writes a public and a 0600 secret file, --check-config accepts a
# good configuration and rejects a broken one with a message, without
# starting anything.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

topo_controller
mkdir -p "$CDT_TMP/hv1/state"
echo '{ "vms": [] }' >"$CDT_TMP/hv1/inventory.json"
ctl_keygen
agent_keygen hv1
enroll_agent hv1

mode() { stat -c %a "$1"; }
check "controller.cert_secret is mode 600 (got $(mode "$CDT_TMP/ctl/controller.cert_secret"))" \
	[ "$(mode "$CDT_TMP/ctl/controller.cert_secret")" = 600 ]
check "agent.cert_secret is mode 600 (got $(mode "$CDT_TMP/hv1/agent.cert_secret"))" \
	[ "$(mode "$CDT_TMP/hv1/agent.cert_secret")" = 600 ]
check "the public agent.cert holds no secret key" \
	not grep -q secret-key "$CDT_TMP/hv1/agent.cert"
check "agent.cert carries host-id = hv1 (keygen --host)" \
	q grep -E 'host-id *= *"?hv1"?' "$CDT_TMP/hv1/agent.cert"
check "keygen keys differ between runs" \
	not cmp -s "$CDT_TMP/ctl/controller.cert" "$CDT_TMP/hv1/agent.cert"

# keygen into a directory others can write: a link planted at either
# name is refused, not followed; nothing is created anywhere.
K=$CDT_TMP/keys-shared
mkdir -m 1777 "$K"
ln -s "$CDT_TMP/planted-secret" "$K/a.cert_secret"
ln -s "$CDT_TMP/planted-public" "$K/b.cert"
check "keygen refuses a symlink at FILE_secret (dangling, pointing elsewhere)" \
	not q "$CORDON_AGENT" keygen --out "$K/a.cert"
check "keygen refuses a symlink at FILE" not q "$CORDONCTL" keygen --out "$K/b.cert"
check "nothing was written through the links, no half pair left" \
	eval '[ ! -e "$CDT_TMP/planted-secret" ] && [ ! -e "$CDT_TMP/planted-public" ] &&
	      [ ! -e "$K/a.cert" ] && [ ! -e "$K/b.cert_secret" ]'
(umask 0; "$CORDONCTL" keygen --out "$K/c.cert" >/dev/null)
check "with umask 0, the secret is still 0600 and the public 0644 ($(mode "$K/c.cert_secret"), $(mode "$K/c.cert"))" \
	[ "$(mode "$K/c.cert_secret") $(mode "$K/c.cert")" = "600 644" ]
check "keygen leaves no temporary files next to the key" \
	[ "$(find "$K" -name '.keygen*' | wc -l)" = 0 ]

write_controller_conf
write_agent_conf hv1

# check_config WHAT EXPECT(ok|bad) CMD...
check_config() {
	local what=$1 want=$2 rc=0 out
	shift 2
	out=$("$@" 2>&1 </dev/null) || rc=$?
	if [ "$want" = ok ] && [ $rc = 0 ]; then
		ok "$what: --check-config accepts it"
	elif [ "$want" = bad ] && [ $rc != 0 ] && [ -n "$out" ]; then
		ok "$what: --check-config rejects it (exit $rc: $(head -n 1 <<<"$out"))"
	elif [ "$want" = ok ]; then
		fail "$what: --check-config accepts it (exit $rc: $out)"
	else
		fail "$what: --check-config rejects it with a message (exit $rc: ${out:-no output})"
	fi
}
C=$CDT_TMP/ctl/cordond.conf
# cordond runs in the controller namespace, where its listen address exists.
incl() { ip netns exec "$CTL_NS" "$@"; }
A=$CDT_TMP/hv1/agent.conf

check_config "cordond: the test configuration" ok incl "$CORDOND" -c "$C" --check-config
check_config "cordon-agent: the test configuration" ok "$CORDON_AGENT" -c "$A" --check-config
check "--check-config created no control socket" \
	not test -e "$CDT_TMP/ctl/control.sock"

sed 's|^key = .*|key = /nonexistent/controller.cert_secret|' "$C" >"$CDT_TMP/bad1.conf"
check_config "cordond: a missing key file" bad incl "$CORDOND" -c "$CDT_TMP/bad1.conf" --check-config
sed 's|^resend_ms = .*|resend_ms = soon|' "$C" >"$CDT_TMP/bad2.conf"
check_config "cordond: resend_ms = soon" bad incl "$CORDOND" -c "$CDT_TMP/bad2.conf" --check-config
check_config "cordond: a config file that does not exist" bad \
	incl "$CORDOND" -c "$CDT_TMP/nonexistent.conf" --check-config

grep -v '^host_id' "$A" >"$CDT_TMP/bad3.conf"
check_config "cordon-agent: no host_id" bad "$CORDON_AGENT" -c "$CDT_TMP/bad3.conf" --check-config
grep -v '^controller =' "$A" >"$CDT_TMP/bad4.conf"
check_config "cordon-agent: no controller" bad "$CORDON_AGENT" -c "$CDT_TMP/bad4.conf" --check-config
sed 's|^br-pub = public|br-pub = publik|' "$A" >"$CDT_TMP/bad5.conf"
check_config "cordon-agent: a scope 'publik'" bad "$CORDON_AGENT" -c "$CDT_TMP/bad5.conf" --check-config
echo '{ "vms": [ { "uuid": ' >"$CDT_TMP/bad-inv.json"
sed "s|^inventory_file = .*|inventory_file = $CDT_TMP/bad-inv.json|" "$A" >"$CDT_TMP/bad6.conf"
check_config "cordon-agent: an inventory file that is not JSON" bad \
	"$CORDON_AGENT" -c "$CDT_TMP/bad6.conf" --check-config

# The usual "check before restart": with cordond running.
start_controller
check_config "cordond: the running configuration, while cordond runs" ok \
	incl "$CORDOND" -c "$C" --check-config
check "cordond still answers after that" q ctl status

cdt_done
