# libvirt-env.sh — sourceable helpers for end-to-end tests against a real,
# private libvirtd + virtlogd running QEMU TCG guests.  Bash only; needs root.
#
#   . tests/vm/libvirt-env.sh
#   lv_start                       # netns + bridge + probe + daemons; sets EXIT trap
#   lv_define_guest g1 52:54:00:c0:de:01 "$LV_BRIDGE" 198.18.50.10/24
#   lv_start_guest g1 && lv_wait_ready g1 120 && lv_wait_ping 198.18.50.10 30
#   lv_virsh detach-interface g1 bridge --mac 52:54:00:c0:de:01 --live --config
#   lv_guest_exec g1 'ip -o link show eth0'   # as root inside the guest
#   lv_stop                        # also run by the trap, idempotent
#
# Isolation (nothing here can clash with, or touch, a system libvirt):
#   - a network namespace $LV_NS holds bridge $LV_BRIDGE (198.18.50.1/24), the
#     daemons, and so every tap libvirt creates and every QEMU process;
#   - a probe namespace $LV_PROBE_NS (198.18.50.2/24) is cabled to the bridge
#     by a veth: lv_ping/lv_wait_ping ping guests from there;
#   - the daemons run in a private mount namespace (unshare -m) where /run,
#     /var and /etc/libvirt are replaced by directories under $LV_DIR, so
#     every fixed privileged path libvirt uses (/run/libvirt, virtlogd-sock,
#     /var/lib/libvirt/qemu, /var/log/libvirt, /etc/libvirt/qemu.conf,
#     persistent domain XML) is ours; the system D-Bus is hidden too, so
#     nothing registers with the host's machined/firewalld;
#   - the client socket lives outside the private mounts, in $LV_DIR/sock,
#     and is reached with $LV_URI = qemu+unix:///system?socket=... — a plain
#     remote connection, so domain lifecycle and device-removed events work
#     exactly as against qemu:///system (qemu:///embed was rejected: the
#     driver lives inside one client process, so a second process — virsh,
#     the agent, an event watcher — cannot share it).
#
# Variables (override before lv_start):
#   LV_DIR        runtime root (default: mktemp -d /tmp/cordon-lv.XXXXXX)
#   LV_NS         libvirt netns   (default cordon-lv-$$)
#   LV_PROBE_NS   probe netns     (default cordon-lvp-$$)
#   LV_BRIDGE     bridge in LV_NS (default cbr0); LV_BR_IP, LV_PROBE_IP
#   LV_GUEST_DIR  guest artefacts (default <repo>/build/guest, built on demand)
#   LV_CAPS_CACHE libvirt's QEMU capabilities cache, kept between runs
#                 (default <LV_GUEST_DIR>/libvirt-cache; saves ~6 s a start)
#   LV_MACHINE    QEMU machine type (default pc: ACPI PCI hotplug)
#   LV_GUEST_EXEC lv_guest_exec's client (default $CDT_BUILD/tools/guestexec)
#   LV_KEEP=1     keep $LV_DIR after lv_stop (logs)
#   LV_NO_TRAP=1  lv_start does not install its EXIT/INT/TERM trap
# Exported after lv_start: LV_URI, LIBVIRT_DEFAULT_URI.

LV_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LV_REPO=$(cd "$LV_HERE/../.." && pwd)
: "${LV_NS:=cordon-lv-$$}"
: "${LV_PROBE_NS:=cordon-lvp-$$}"
: "${LV_BRIDGE:=cbr0}"
: "${LV_BR_IP:=198.18.50.1/24}"
: "${LV_PROBE_IP:=198.18.50.2/24}"
: "${LV_GUEST_DIR:=$LV_REPO/build/guest}"
: "${LV_MACHINE:=pc}"
: "${LV_CAPS_CACHE:=$LV_GUEST_DIR/libvirt-cache}"
LV_STARTED=0

lv_log()  { echo "lv: $*" >&2; }
lv_now()  { date +%s.%N; }
lv_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }
lv_virsh() { virsh -q -c "$LV_URI" "$@"; }
lv_in()    { ip netns exec "$LV_NS" "$@"; }
lv_probe() { ip netns exec "$LV_PROBE_NS" "$@"; }

# Packages the harness needs (Debian 12), for install scripts.
LV_PACKAGES="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 busybox-static cpio iproute2 iputils-ping"

lv_check_tools() {
    local missing=() t
    for t in libvirtd virtlogd virsh qemu-system-x86_64 ip ping unshare; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        lv_log "missing: ${missing[*]} (apt-get install --no-install-recommends $LV_PACKAGES)"
        return 1
    fi
}

lv_start() {
    [ "$(id -u)" = 0 ] || { lv_log "must run as root"; return 77; }
    lv_check_tools || return 1
    if [ "${LV_NO_TRAP:-0}" != 1 ]; then
        trap 'lv_stop' EXIT
        trap 'exit 130' INT TERM
    fi
    local t0; t0=$(lv_now)
    "$LV_HERE/build-guest.sh" "$LV_GUEST_DIR" || return 1
    # shellcheck disable=SC1091
    . "$LV_GUEST_DIR/guest.env"

    : "${LV_DIR:=$(mktemp -d /tmp/cordon-lv.XXXXXX)}"
    mkdir -p "$LV_DIR"
    LV_DIR=$(cd "$LV_DIR" && pwd)
    LV_STARTED=1
    mkdir -p "$LV_DIR"/{sock,guests,etc,var/lib/libvirt,var/log/libvirt,var/cache/libvirt,var/tmp}
    chmod 700 "$LV_DIR/sock"
    mkdir -p "$LV_CAPS_CACHE"
    ln -sfn /run "$LV_DIR/var/run"
    ln -sfn /run/lock "$LV_DIR/var/lock"

    cat > "$LV_DIR/etc/libvirtd.conf" <<EOF
unix_sock_dir = "$LV_DIR/sock"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:$LV_DIR/libvirtd.log"
EOF
    cat > "$LV_DIR/etc/virtlogd.conf" <<EOF
log_outputs = "3:file:$LV_DIR/virtlogd.log"
EOF
    cat > "$LV_DIR/etc/qemu.conf" <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
EOF

    # libvirtd (Debian build) resolves its compiled-in QEMU user/group
    # (libvirt-qemu) before it reads qemu.conf; without libvirt-daemon-system
    # that user does not exist.  The daemons get private copies of
    # /etc/passwd and /etc/group with it added: the host's are not changed.
    cp /etc/passwd "$LV_DIR/passwd"; cp /etc/group "$LV_DIR/group"
    grep -q '^libvirt-qemu:' "$LV_DIR/group" ||
        echo 'libvirt-qemu:x:64055:' >> "$LV_DIR/group"
    grep -q '^kvm:' "$LV_DIR/group" || echo 'kvm:x:64056:' >> "$LV_DIR/group"
    grep -q '^libvirt-qemu:' "$LV_DIR/passwd" ||
        echo 'libvirt-qemu:x:64055:64055:cordon test:/var/lib/libvirt:/usr/sbin/nologin' >> "$LV_DIR/passwd"

    # Network: libvirt netns with the bridge, probe netns on a veth.
    ip netns add "$LV_NS" || return 1
    ip netns add "$LV_PROBE_NS" || return 1
    lv_in ip link set lo up
    lv_probe ip link set lo up
    lv_in ip link add "$LV_BRIDGE" type bridge stp_state 0 forward_delay 0 || return 1
    lv_in ip addr add "$LV_BR_IP" dev "$LV_BRIDGE"
    lv_in ip link set "$LV_BRIDGE" up
    lv_in ip link add vprobe0 type veth peer name eth0 netns "$LV_PROBE_NS" || return 1
    lv_in ip link set vprobe0 master "$LV_BRIDGE" up
    lv_probe ip addr add "$LV_PROBE_IP" dev eth0
    lv_probe ip link set eth0 up

    # Daemons: private mount namespace inside the libvirt netns.
    local etc_target=/etc/libvirt
    [ -d "$etc_target" ] || mkdir -p "$etc_target"   # empty mount point only
    LV_URI="qemu+unix:///system?socket=$LV_DIR/sock/libvirt-sock"
    export LV_URI LIBVIRT_DEFAULT_URI=$LV_URI
    ip netns exec "$LV_NS" unshare --mount --propagation private /bin/sh -ec '
        D=$1
        mount -t tmpfs -o mode=0755 lv-run /run
        mkdir -p /run/lock /run/libvirt
        mount --bind "$D/var" /var
        mount --bind "$D/etc" /etc/libvirt
        mount --bind "$2" /var/cache/libvirt
        mount --bind "$D/passwd" /etc/passwd
        mount --bind "$D/group" /etc/group
        virtlogd -d -f /etc/libvirt/virtlogd.conf -p "$D/virtlogd.pid"
        libvirtd -d -f /etc/libvirt/libvirtd.conf -p "$D/libvirtd.pid"
    ' lv-daemons "$LV_DIR" "$LV_CAPS_CACHE" || { lv_log "daemons failed to start"; return 1; }

    local i
    for ((i = 0; i < 300; i++)); do
        virsh -q -c "$LV_URI" version >/dev/null 2>&1 && break
        sleep 0.1
    done
    if ! virsh -q -c "$LV_URI" version >/dev/null 2>&1; then
        lv_log "libvirtd did not answer on $LV_URI"; tail -20 "$LV_DIR/libvirtd.log" >&2
        return 1
    fi
    LV_START_SECS=$(lv_since "$t0")
    lv_log "libvirtd up in ${LV_START_SECS}s: $LV_URI (netns $LV_NS, bridge $LV_BRIDGE)"
}

lv_pidfile_kill() { # pidfile: TERM, wait, KILL — only that pid
    local f=$1 p i
    [ -s "$f" ] || return 0
    p=$(cat "$f")
    kill -0 "$p" 2>/dev/null || return 0
    kill -TERM "$p" 2>/dev/null
    for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
}

# lv_stop_libvirtd / lv_start_libvirtd: stop or (re)start only libvirtd,
# in the same network and mount namespaces (entered through virtlogd, which
# keeps running), e.g. to test that an agent survives a libvirtd restart.
# Running guests keep running; the new libvirtd reconnects to them.
lv_stop_libvirtd() { lv_pidfile_kill "$LV_DIR/libvirtd.pid"; rm -f "$LV_DIR/libvirtd.pid"; }
lv_start_libvirtd() {
    local vl i; vl=$(cat "$LV_DIR/virtlogd.pid" 2>/dev/null)
    [ -n "$vl" ] && kill -0 "$vl" 2>/dev/null || { lv_log "virtlogd is not running"; return 1; }
    nsenter --target "$vl" --mount --net \
        libvirtd -d -f /etc/libvirt/libvirtd.conf -p "$LV_DIR/libvirtd.pid" || return 1
    for ((i = 0; i < 300; i++)); do
        virsh -q -c "$LV_URI" version >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    lv_log "libvirtd did not come back"; return 1
}
lv_restart_libvirtd() { lv_stop_libvirtd && lv_start_libvirtd; }

lv_stop() {
    [ "$LV_STARTED" = 1 ] || return 0
    LV_STARTED=0
    local d p
    if [ -n "${LV_URI:-}" ] && virsh -q -c "$LV_URI" version >/dev/null 2>&1; then
        for d in $(virsh -q -c "$LV_URI" list --all --name 2>/dev/null); do
            virsh -q -c "$LV_URI" destroy "$d" >/dev/null 2>&1
            virsh -q -c "$LV_URI" undefine "$d" >/dev/null 2>&1
        done
    fi
    lv_pidfile_kill "$LV_DIR/libvirtd.pid"
    lv_pidfile_kill "$LV_DIR/virtlogd.pid"
    # Anything still inside our own netns (a QEMU left behind) is ours.
    if ip netns list 2>/dev/null | grep -qw "$LV_NS"; then
        for p in $(ip netns pids "$LV_NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$LV_NS" 2>/dev/null
    fi
    ip netns list 2>/dev/null | grep -qw "$LV_PROBE_NS" && ip netns del "$LV_PROBE_NS" 2>/dev/null
    if [ "${LV_KEEP:-0}" = 1 ]; then
        lv_log "kept $LV_DIR"
    else
        rm -rf "$LV_DIR"
    fi
    return 0
}

# lv_define_guest NAME MAC BRIDGE IP[/PREFIX] [noacpi|nohotplug]
# Persistent domain: QEMU TCG, 256 MiB, 1 vCPU, direct kernel boot, one
# virtio-net NIC on BRIDGE, serial console to $LV_DIR/guests/NAME.serial, a
# second serial port (the guest's command channel, lv_guest_exec) on the unix
# socket $LV_DIR/guests/NAME.exec.
#   noacpi     the guest kernel boots with acpi=off while QEMU keeps ACPI: a
#              hot-unplug request is accepted but the guest never answers it,
#              so the NIC is never released (and the power button is ignored);
#   nohotplug  no <acpi/> feature at all: QEMU's i440fx bus then has no
#              hotplug and rejects the unplug request outright.
lv_define_guest() {
    local name=$1 mac=$2 br=$3 ip=$4 mode=${5:-} acpi='<acpi/>' extra=
    case "$ip" in */*) ;; *) ip=$ip/24;; esac
    case "$mode" in
        '') ;;
        noacpi) extra=' acpi=off';;
        nohotplug) acpi=;;
        *) lv_log "lv_define_guest: unknown mode $mode"; return 1;;
    esac
    local xml=$LV_DIR/guests/$name.xml sock; sock=$(lv_guest_sock "$name")
    # sun_path holds 107 bytes: QEMU could not create a longer socket.
    [ ${#sock} -lt 108 ] || { lv_log "lv_define_guest: $sock: path too long for a unix socket"; return 1; }
    : > "$LV_DIR/guests/$name.serial"
    cat > "$xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='$LV_MACHINE'>hvm</type>
    <kernel>$GUEST_KERNEL</kernel>
    <initrd>$GUEST_INITRD</initrd>
    <cmdline>console=ttyS0 quiet cordon.ip=$ip$extra</cmdline>
  </os>
  <features>$acpi</features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <controller type='usb' model='none'/>
    <interface type='bridge'>
      <mac address='$mac'/>
      <source bridge='$br'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='$LV_DIR/guests/$name.serial' append='on'/>
      <target port='0'/>
    </serial>
    <serial type='unix'>
      <source mode='bind' path='$sock'/>
      <target port='1'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
    lv_virsh define "$xml" >/dev/null
}

lv_guest_log() { echo "$LV_DIR/guests/$1.serial"; }
lv_guest_sock() { echo "$LV_DIR/guests/$1.exec"; }

# lv_guest_exec [-t SECS] NAME COMMAND...: run COMMAND (one line of sh) as
# root inside guest NAME, as its tenant would, through the guest's second
# serial port (QEMU's end is the unix socket lv_guest_sock NAME): prints its
# stdout and stderr, returns its exit status; the guest kills it after SECS
# (default 30). 255: no answer (guest not booted within SECS + 15 s, no
# channel) — the reason goes to stderr. Waits for the guest's boot if needed.
# The client is tests/tools/guestexec.c (built by make; $LV_GUEST_EXEC).
: "${LV_GUEST_EXEC:=${CDT_BUILD:-$LV_REPO/build}/tools/guestexec}"
lv_guest_exec() {
    local t=30
    if [ "${1:-}" = -t ]; then t=$2; shift 2; fi
    local name=$1; shift
    [ -x "$LV_GUEST_EXEC" ] || { lv_log "$LV_GUEST_EXEC not built (make)"; return 255; }
    "$LV_GUEST_EXEC" -t "$t" "$(lv_guest_sock "$name")" "$@"
}
lv_start_guest() { : > "$(lv_guest_log "$1")"; lv_virsh start "$1" >/dev/null; }

# lv_wait_ready NAME TIMEOUT: wait for the guest's ready marker on serial.
lv_wait_ready() {
    local f; f=$(lv_guest_log "$1")
    local end=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        grep -q CORDON-GUEST-READY "$f" 2>/dev/null && return 0
        sleep 0.2
    done
    lv_log "$1 not ready after $2 s; serial log:"; tail -20 "$f" >&2
    return 1
}

lv_ping() { lv_probe ping -n -q -c 1 -W 1 "${1%/*}" >/dev/null 2>&1; }

# lv_wait_ping IP TIMEOUT: until a ping from the probe netns passes.
lv_wait_ping() {
    local end=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        lv_ping "$1" && return 0
        sleep 0.2
    done
    return 1
}

# lv_wait_noping IP TIMEOUT: until a ping fails (1 s per try).
lv_wait_noping() {
    local end=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        lv_ping "$1" || return 0
        sleep 0.2
    done
    return 1
}

# lv_wait_state NAME STATE TIMEOUT ("shut off", "running", ...)
lv_wait_state() {
    local end=$(( $(date +%s) + $3 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        [ "$(lv_virsh domstate "$1" 2>/dev/null)" = "$2" ] && return 0
        sleep 0.2
    done
    return 1
}

# lv_iface_xml NAME MAC [--inactive]: the <interface> element holding MAC.
lv_iface_xml() {
    local name=$1 mac=$2; shift 2
    lv_virsh dumpxml "$name" "$@" | awk -v mac="$mac" '
        /<interface[ >]/ {buf=""; on=1}
        on {buf = buf $0 "\n"}
        /<\/interface>/ && on {on=0; if (index(tolower(buf), "address=\x27" tolower(mac) "\x27")) {printf "%s", buf; found=1}}
        END {exit !found}'
}
