#!/bin/bash
# smoke.sh — prove, on a real private libvirtd with real QEMU TCG guests, the
# primitives cordon's agent uses on KVM/libvirt hosts:
#   boot  two guests (one with ACPI, one without) answer ping from the probe;
#   (a)   detach-interface --live --config on the ACPI guest: device-removed
#         event, interface gone from live and persistent XML, ping fails;
#         attach-device of the saved XML: same MAC back, guest brings the
#         new NIC up by itself, ping passes;
#   (b)   domif-setlink down / up: ping fails / passes;
#   (c)   guests that do not release a detached NIC — "noacpi" (guest kernel
#         acpi=off: the unplug request is accepted, never answered) and
#         "nohotplug" (no <acpi/>: QEMU rejects the request) — keep it in the
#         live XML, still answer ping, send no device-removed; link-down works
#         as the fallback and link-up restores; a pending unplug completes
#         when the guest resets; what happens is reported;
#   (d)   virsh shutdown: the ACPI guest is shut off within SMOKE_SHUTDOWN_S;
#         the guests without ACPI ignore it and need destroy; the ACPI guest
#         starts again from its persistent XML.
# Every step is timed; a summary table is printed (and written to
# $SMOKE_REPORT when set).  Exit 0 all passed, 1 a check failed, 77 not root.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "smoke: needs root (namespaces, libvirtd)"; exit 77; }
# shellcheck source=libvirt-env.sh
. "$HERE/libvirt-env.sh"

: "${SMOKE_BOOT_S:=120}"       # guest boot to ready marker
: "${SMOKE_DETACH_S:=30}"      # ACPI guest: detach to device-removed
: "${SMOKE_SHUTDOWN_S:=30}"    # ACPI guest: virsh shutdown to shut off
: "${SMOKE_NOACPI_WAIT_S:=10}" # no-ACPI guest: how long to watch for a release

G1=cordon-smoke-acpi;   MAC1=52:54:00:18:32:0a; IP1=198.18.50.10
G2=cordon-smoke-noacpi; MAC2=52:54:00:18:32:0b; IP2=198.18.50.11
G3=cordon-smoke-nohp;   MAC3=52:54:00:18:32:0c; IP3=198.18.50.12
PASS=0; FAILN=0; ROWS=()
row()  { ROWS+=("$(printf '%-58s %-5s %8s' "$1" "$2" "$3")"); }
ok()   { PASS=$((PASS+1));  row "$1" ok "${2:-}";  echo "smoke: ok   $1 ${2:+(${2}s)}"; }
bad()  { FAILN=$((FAILN+1)); row "$1" FAIL "${2:-}"; echo "smoke: FAIL $1 ${2:+(${2}s)}"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
info() { row "$1" info "${2:-}"; echo "smoke: info $1 ${2:+(${2}s)}"; }
note() { echo "smoke: note $*"; NOTES+=("$*"); }
NOTES=()

EVPID=
finish() {
    local rc=$?
    [ -n "$EVPID" ] && kill "$EVPID" 2>/dev/null
    if [ "$FAILN" -gt 0 ] || [ "$PASS" -eq 0 ]; then
        if [ "$LV_STARTED" = 1 ]; then
            echo "---- libvirtd.log (tail)"; tail -15 "$LV_DIR/libvirtd.log" 2>/dev/null
            for g in "$G1" "$G2" "$G3"; do
                echo "---- $g serial"; cat "$(lv_guest_log "$g")" 2>/dev/null
            done
            echo "---- events"; cat "$LV_DIR/events.log" 2>/dev/null
        fi
    fi
    lv_stop
    summary
    if [ "$FAILN" -gt 0 ] || [ "$PASS" -eq 0 ]; then exit 1; fi
    exit "$rc"
}
summary() {
    local r
    {
        echo "== cordon libvirt smoke: $(date -u +%FT%TZ), kernel ${GUEST_KVER:-?}, machine $LV_MACHINE"
        printf '%-58s %-5s %8s\n' step result seconds
        for r in "${ROWS[@]}"; do echo "$r"; done
        for r in "${NOTES[@]}"; do echo "note: $r"; done
        echo "$PASS passed, $FAILN failed"
    } | tee ${SMOKE_REPORT:+"$SMOKE_REPORT"}
}
LV_NO_TRAP=1
trap finish EXIT
trap 'bad "interrupted by a signal"; exit 130' INT TERM

T_ALL=$(lv_now)
lv_start; rc=$?
[ $rc = 0 ] || { bad "lv_start (rc $rc)"; exit 1; }
info "libvirtd + virtlogd start" "$LV_START_SECS"

# All events of the run, timestamped, for the device-removed check and the log.
virsh -c "$LV_URI" event --all --loop --timestamp > "$LV_DIR/events.log" 2>&1 &
EVPID=$!
sleep 0.5
ev_count() { grep -c "$1" "$LV_DIR/events.log" 2>/dev/null; }
wait_event() { # pattern timeout -> 0 when seen more than $3 times
    local end; end=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        [ "$(ev_count "$1")" -gt "${3:-0}" ] && return 0
        sleep 0.1
    done
    return 1
}

# ---- boot --------------------------------------------------------------------
lv_define_guest "$G1" "$MAC1" "$LV_BRIDGE" "$IP1/24" || { bad "define $G1"; exit 1; }
lv_define_guest "$G2" "$MAC2" "$LV_BRIDGE" "$IP2/24" noacpi || { bad "define $G2"; exit 1; }
lv_define_guest "$G3" "$MAC3" "$LV_BRIDGE" "$IP3/24" nohotplug || { bad "define $G3"; exit 1; }
t=$(lv_now)
lv_start_guest "$G1" && lv_start_guest "$G2" && lv_start_guest "$G3" || { bad "virsh start"; exit 1; }
info "virsh start x3 (returns)" "$(lv_since "$t")"
if lv_wait_ready "$G1" "$SMOKE_BOOT_S"; then ok "$G1 boot to ready marker" "$(lv_since "$t")"
else bad "$G1 boot to ready marker"; exit 1; fi
if lv_wait_ready "$G2" "$SMOKE_BOOT_S"; then ok "$G2 boot to ready marker" "$(lv_since "$t")"
else bad "$G2 boot to ready marker"; exit 1; fi
if lv_wait_ping "$IP1" 30; then ok "$G1 answers ping from probe" "$(lv_since "$t")"
else bad "$G1 answers ping from probe"; exit 1; fi
if lv_wait_ping "$IP2" 30; then ok "$G2 answers ping from probe" "$(lv_since "$t")"
else bad "$G2 answers ping from probe"; exit 1; fi
if lv_wait_ready "$G3" "$SMOKE_BOOT_S" && lv_wait_ping "$IP3" 30; then
    ok "$G3 boot, answers ping" "$(lv_since "$t")"
else bad "$G3 boot, answers ping"; exit 1; fi

has_mac() { lv_iface_xml "$1" "$2" "${@:3}" >/dev/null 2>&1; }
no_mac()  { ! has_mac "$@"; }

# ---- (a) detach with ACPI ------------------------------------------------------
lv_iface_xml "$G1" "$MAC1" > "$LV_DIR/$G1-net.xml"
echo "smoke: saved live interface XML:"; sed 's/^/    /' "$LV_DIR/$G1-net.xml"
n0=$(ev_count "device-removed")
t=$(lv_now)
# detach-device with the saved XML and --live --config is one
# virDomainDetachDeviceFlags(LIVE|CONFIG) call: what the agent does.
if out=$(lv_virsh detach-device "$G1" "$LV_DIR/$G1-net.xml" --live --config 2>&1); then
    ok "(a) detach-device --live --config returns" "$(lv_since "$t")"
else
    bad "(a) detach-device --live --config returns: $out" "$(lv_since "$t")"
fi
[ -n "$out" ] && note "detach-device said: $out"
if wait_event "device-removed" "$SMOKE_DETACH_S" "$n0"; then
    ok "(a) device-removed event" "$(lv_since "$t")"
    grep device-removed "$LV_DIR/events.log" | tail -1 | sed 's/^/    /'
else
    bad "(a) device-removed event within ${SMOKE_DETACH_S}s"
fi
check "(a) interface gone from live XML" no_mac "$G1" "$MAC1"
check "(a) interface gone from persistent XML" no_mac "$G1" "$MAC1" --inactive
if lv_wait_noping "$IP1" 5; then ok "(a) ping fails after detach" "$(lv_since "$t")"
else bad "(a) ping fails after detach"; fi
sleep 1
grep -q "eth0 removed" "$(lv_guest_log "$G1")" && note "guest saw its eth0 disappear"

# Re-attach the saved live XML as is (target dev, alias and PCI address
# included) to both live and persistent definitions.
t=$(lv_now)
if out=$(lv_virsh attach-device "$G1" "$LV_DIR/$G1-net.xml" --live --config 2>&1); then
    ok "(a) attach-device saved XML --live --config" "$(lv_since "$t")"
else
    bad "(a) attach-device saved XML --live --config: $out" "$(lv_since "$t")"
fi
if lv_wait_ping "$IP1" 60; then ok "(a) ping passes after re-attach" "$(lv_since "$t")"
else bad "(a) ping passes after re-attach"; fi
check "(a) same MAC back in live XML" has_mac "$G1" "$MAC1"
check "(a) same MAC back in persistent XML" has_mac "$G1" "$MAC1" --inactive
if lv_iface_xml "$G1" "$MAC1" | grep -q "<source bridge='$LV_BRIDGE'" &&
   lv_iface_xml "$G1" "$MAC1" | grep -q "<model type='virtio'"; then
    ok "(a) same bridge and model after re-attach"
else bad "(a) same bridge and model after re-attach"; fi
grep "cordon-guest: eth" "$(lv_guest_log "$G1")" | tail -2 | sed 's/^/    guest: /'

# ---- (b) link down / up --------------------------------------------------------
t=$(lv_now)
if lv_virsh domif-setlink "$G1" "$MAC1" down >/dev/null; then
    ok "(b) domif-setlink down returns" "$(lv_since "$t")"
else bad "(b) domif-setlink down returns"; fi
if lv_wait_noping "$IP1" 5; then ok "(b) ping fails with link down" "$(lv_since "$t")"
else bad "(b) ping fails with link down"; fi
check "(b) live XML shows link state down" \
    sh -c "virsh -q -c '$LV_URI' domif-getlink '$G1' '$MAC1' | grep -q down"
t=$(lv_now)
lv_virsh domif-setlink "$G1" "$MAC1" up >/dev/null || bad "(b) domif-setlink up returns"
if lv_wait_ping "$IP1" 30; then ok "(b) ping passes with link up" "$(lv_since "$t")"
else bad "(b) ping passes with link up"; fi

# ---- (c) guests that do not release the NIC ---------------------------------
# $1 tag, $2 domain, $3 MAC, $4 IP
no_release() {
    local tag=$1 g=$2 mac=$3 ip=$4 n0 t out drc
    n0=$(ev_count "device-removed")
    lv_iface_xml "$g" "$mac" > "$LV_DIR/$g-net.xml"
    t=$(lv_now)
    out=$(lv_virsh detach-device "$g" "$LV_DIR/$g-net.xml" --live --config 2>&1); drc=$?
    info "(c) $tag: detach-device returns rc=$drc" "$(lv_since "$t")"
    [ -n "$out" ] && note "$tag: detach-device --live --config: rc=$drc: $(echo $out)"
    while [ "$(awk -v a="$t" -v b="$(lv_now)" 'BEGIN{print (b-a >= '"$SMOKE_NOACPI_WAIT_S"')}')" = 0 ]; do
        sleep 0.5
    done
    if [ "$(ev_count device-removed)" -gt "$n0" ]; then
        bad "(c) $tag: no device-removed (it arrived)" "$(lv_since "$t")"
    else
        ok "(c) $tag: no device-removed event" "$(lv_since "$t")"
    fi
    check "(c) $tag: NIC still in live XML" has_mac "$g" "$mac"
    if no_mac "$g" "$mac" --inactive; then info "(c) $tag: NIC gone from persistent XML"
    else info "(c) $tag: NIC still in persistent XML"; fi
    if lv_ping "$ip"; then ok "(c) $tag: guest still answers ping (NIC kept)"
    else bad "(c) $tag: guest still answers ping (NIC kept)"; fi
    t=$(lv_now)
    out=$(lv_virsh detach-device "$g" "$LV_DIR/$g-net.xml" --live 2>&1); drc=$?
    note "$tag: second detach request: rc=$drc ($(lv_since "$t")s): $(echo $out)"
    # The fallback cordon uses: link down holds, link up restores.
    t=$(lv_now)
    lv_virsh domif-setlink "$g" "$mac" down >/dev/null || bad "(c) $tag: domif-setlink down"
    if lv_wait_noping "$ip" 5; then ok "(c) $tag: link-down fallback cuts ping" "$(lv_since "$t")"
    else bad "(c) $tag: link-down fallback cuts ping"; fi
    t=$(lv_now)
    lv_virsh domif-setlink "$g" "$mac" up >/dev/null || bad "(c) $tag: domif-setlink up"
    if lv_wait_ping "$ip" 30; then ok "(c) $tag: link up restores ping" "$(lv_since "$t")"
    else bad "(c) $tag: link up restores ping"; fi
    # Restore the persistent definition if the request took it away.
    if no_mac "$g" "$mac" --inactive; then
        out=$(lv_virsh attach-device "$g" "$LV_DIR/$g-net.xml" --config 2>&1)
        check "(c) $tag: saved XML back into persistent XML" has_mac "$g" "$mac" --inactive
    fi
    out=$(lv_virsh attach-device "$g" "$LV_DIR/$g-net.xml" --live 2>&1); drc=$?
    note "$tag: live attach of the saved XML while the NIC is still there: rc=$drc: $(echo $out)"
    if [ "$tag" = nohotplug ]; then
        # virsh detach-interface --live --config makes two API calls (config,
        # then live): the config change sticks although the live one fails.
        out=$(lv_virsh detach-interface "$g" bridge --mac "$mac" --live --config 2>&1); drc=$?
        if no_mac "$g" "$mac" --inactive; then
            note "nohotplug: virsh detach-interface --live --config: rc=$drc, yet the NIC is gone from the persistent XML (virsh splits it in two calls)"
            lv_virsh attach-device "$g" "$LV_DIR/$g-net.xml" --config >/dev/null 2>&1
        else
            note "nohotplug: virsh detach-interface --live --config: rc=$drc, persistent XML unchanged"
        fi
    fi
}
no_release noacpi "$G2" "$MAC2" "$IP2"
no_release nohotplug "$G3" "$MAC3" "$IP3"

# A pending (never answered) unplug completes when the machine resets: the
# NIC is gone after the no-ACPI guest reboots, so a cut cannot come back with
# a reboot; restore is then attach-device (seen by this guest at next boot).
n0=$(ev_count "device-removed")
lv_virsh detach-device "$G2" "$LV_DIR/$G2-net.xml" --live --config >/dev/null 2>&1
boots=$(grep -c "cordon-guest: init done" "$(lv_guest_log "$G2")")
t=$(lv_now)
lv_virsh reset "$G2" >/dev/null || bad "(c) noacpi: virsh reset"
if wait_event "device-removed" 15 "$n0"; then ok "(c) noacpi: pending unplug completes at reset (device-removed)" "$(lv_since "$t")"
else bad "(c) noacpi: pending unplug completes at reset (device-removed)"; fi
check "(c) noacpi: NIC gone from live XML after reset" no_mac "$G2" "$MAC2"
check "(c) noacpi: NIC gone from persistent XML" no_mac "$G2" "$MAC2" --inactive
# Let the guest finish booting (no NIC, so no ready marker) before the attach.
for ((i = 0; i < 300; i++)); do
    [ "$(grep -c "cordon-guest: init done" "$(lv_guest_log "$G2")")" -gt "$boots" ] && break
    sleep 0.2
done
info "(c) noacpi: reboot without NIC to init done" "$(lv_since "$t")"
t=$(lv_now)
if out=$(lv_virsh attach-device "$G2" "$LV_DIR/$G2-net.xml" --live --config 2>&1); then
    ok "(c) noacpi: attach-device saved XML after reset"
else bad "(c) noacpi: attach-device saved XML after reset: $out"; fi
if lv_wait_ping "$IP2" 5; then info "(c) noacpi: hot-added NIC answers without reboot" "$(lv_since "$t")"
else
    info "(c) noacpi: hot-added NIC unseen by the running guest" "$(lv_since "$t")"
    t=$(lv_now)
    lv_virsh reset "$G2" >/dev/null
    if lv_wait_ping "$IP2" 30; then ok "(c) noacpi: re-attached NIC answers after reset" "$(lv_since "$t")"
    else bad "(c) noacpi: re-attached NIC answers after reset"; fi
fi

# ---- (d) shutdown --------------------------------------------------------------
t=$(lv_now)
lv_virsh shutdown "$G1" >/dev/null || bad "(d) virsh shutdown $G1"
if lv_wait_state "$G1" "shut off" "$SMOKE_SHUTDOWN_S"; then
    ok "(d) virsh shutdown: $G1 shut off" "$(lv_since "$t")"
else bad "(d) virsh shutdown: $G1 shut off within ${SMOKE_SHUTDOWN_S}s"; fi
grep -q "power button" "$(lv_guest_log "$G1")" && note "ACPI guest logged its power button"
check "(d) $G1 persistent XML still has its NIC after shutdown" has_mac "$G1" "$MAC1" --inactive
# Both non-ACPI guests at once: virsh shutdown is ignored, destroy is needed.
t=$(lv_now)
lv_virsh shutdown "$G2" >/dev/null 2>&1; src2=$?
lv_virsh shutdown "$G3" >/dev/null 2>&1; src3=$?
note "virsh shutdown rc: noacpi=$src2 nohotplug=$src3"
sleep "$SMOKE_NOACPI_WAIT_S"
for g in "$G2" "$G3"; do
    st=$(lv_virsh domstate "$g")
    if [ "$st" = running ]; then ok "(d) $g: virsh shutdown ignored, still running" "$(lv_since "$t")"
    else info "(d) $g: after virsh shutdown: $st" "$(lv_since "$t")"; fi
    t2=$(lv_now)
    lv_virsh destroy "$g" >/dev/null 2>&1
    if lv_wait_state "$g" "shut off" 10; then ok "(d) $g: virsh destroy -> shut off" "$(lv_since "$t2")"
    else bad "(d) $g: virsh destroy -> shut off"; fi
done
t=$(lv_now)
if lv_start_guest "$G1" && lv_wait_ready "$G1" "$SMOKE_BOOT_S" && lv_wait_ping "$IP1" 30; then
    ok "(d) $G1 starts again from persistent XML, answers ping" "$(lv_since "$t")"
else bad "(d) $G1 starts again from persistent XML, answers ping"; fi

info "whole smoke run" "$(lv_since "$T_ALL")"
echo "smoke: events seen:"; sed 's/^/    /' "$LV_DIR/events.log"
exit 0
