#!/bin/bash
# The Debian packages as an operator installs them on this machine: built
# with dpkg-buildpackage (hardening flags reach the binaries), installed
# with dpkg, each daemon's --check-config passes on the shipped
# configuration, the user cordond runs as exists, the manuals are there;
# `dpkg -r` keeps the conffiles (an edit included), `dpkg -P` removes them.
# Skipped when either package is installed already: an operator's install
# is not ours to remove. The user and groups sysusers.d made stay, as
# Debian leaves them after a purge.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
skip() { echo "# skipped: $*"; exit 77; }

for p in cordon-controller cordon-agent; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed\|config-files'; then
		skip "$p is installed on this machine (not ours to remove)"
	fi
done
command -v dpkg-buildpackage >/dev/null || skip "dpkg-buildpackage missing (apt-get install debhelper)"

out=$(make -C "$CDT_ROOT" deb DEB_OUT="$CDT_TMP/deb" 2>&1) || fail "make deb: $(tail -n 20 <<<"$out")"
ctl_deb=$(ls "$CDT_TMP"/deb/cordon-controller_*.deb) agent_deb=$(ls "$CDT_TMP"/deb/cordon-agent_*.deb)
ok "make deb built $(basename "$ctl_deb") and $(basename "$agent_deb")"

purge() { dpkg -P cordon-controller cordon-agent >/dev/null 2>&1 || true; }
on_exit purge
out=$(dpkg -i "$ctl_deb" "$agent_deb" 2>&1) || fail "dpkg -i both packages: $out"
ok "dpkg -i installed both"

check "cordond --version" q /usr/sbin/cordond --version
check "cordond --check-config passes on the shipped /etc/cordon/cordond.conf" \
	q /usr/sbin/cordond --check-config
check "cordon-agent --check-config passes on the shipped /etc/cordon/agent.conf" \
	q /usr/sbin/cordon-agent --check-config
check "user cordon exists (sysusers.d)" q getent passwd cordon
check "groups cordon-monitor and cordon-report exist" \
	q eval 'getent group cordon-monitor && getent group cordon-report'
check "the controller's key was made, its secret cordon's only" \
	q test "$(stat -c '%U %a' /etc/cordon/controller.cert_secret)" = "cordon 600"
check "cordon-sendmail is installed beside cordond (its default notify_command)" \
	q /usr/sbin/cordon-sendmail --version
for page in cordond.8 cordon-sendmail.8 cordonctl.1 cordond.conf.5 cordon.policy.5 cordon-agent.8 agent.conf.5; do
	check "man page ${page%.*}(${page##*.}) installed" q man -w "${page##*.}" "${page%.*}"
done
check "units installed" q test -f /lib/systemd/system/cordond.service -a \
	-f /lib/systemd/system/cordon-agent.service
# (Read whole before grep: grep -q would end readelf early, and pipefail.)
hdr=$(readelf -h /usr/sbin/cordond) dyn=$(readelf -d /usr/sbin/cordond)
syms=$(readelf --dyn-syms -W /usr/sbin/cordon-agent)
check "cordond is PIE with immediate binding (dpkg-buildflags reached the link)" \
	q eval 'grep -q "Type: *DYN" <<<"$hdr" && grep -q BIND_NOW <<<"$dyn"'
check "cordon-agent is built with the stack protector and fortify" \
	q eval 'grep -q __stack_chk_fail <<<"$syms" && grep -q __snprintf_chk <<<"$syms"'

units=(/lib/systemd/system/cordond.service /lib/systemd/system/cordon-agent.service)
out=$(systemd-analyze verify "${units[@]}" 2>&1) || true
check "systemd-analyze verify: the installed units are clean${out:+: $out}" q test -z "$out"
for u in "${units[@]}"; do
	score=$(systemd-analyze security --offline=yes "$u" 2>&1 |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	check "$(basename "$u"): exposure ${score:-?} is at most 2.5" \
		q awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.5) }'
done
agent_unit=$(<"${units[1]}")
check "the agent's unit grants CAP_NET_ADMIN only, the status group by membership" \
	q eval 'grep -qx "CapabilityBoundingSet=CAP_NET_ADMIN" <<<"$agent_unit" &&
		grep -qx "SupplementaryGroups=cordon-monitor" <<<"$agent_unit"'
check "the agent package's sysusers.d makes cordon-monitor" \
	q grep -qx "g cordon-monitor -" /usr/lib/sysusers.d/cordon-agent.conf
check "the agent starts after nftables.service and before libvirt starts guests" \
	q eval 'grep -qx "After=.*nftables.service.*" <<<"$agent_unit" &&
		grep -qx "Before=.*libvirtd.service.*libvirt-guests.service.*" <<<"$agent_unit"'

echo "# an operator's edit" >>/etc/cordon/cordond.conf
out=$(dpkg -r cordon-controller cordon-agent 2>&1) || fail "dpkg -r: $out"
check "dpkg -r: the programs are gone" not q test -e /usr/sbin/cordond
check "dpkg -r: the conffiles stay, the edit in them" \
	q grep -qx "# an operator's edit" /etc/cordon/cordond.conf
check "dpkg -r: agent.conf stays" q test -f /etc/cordon/agent.conf
out=$(dpkg -P cordon-controller cordon-agent 2>&1) || fail "dpkg -P: $out"
check "dpkg -P: the conffiles are gone" not q test -e /etc/cordon/cordond.conf
check "dpkg -P: agent.conf is gone" not q test -e /etc/cordon/agent.conf
check "dpkg -P: the generated key is gone" not q test -e /etc/cordon/controller.cert_secret
cdt_done
