#!/bin/bash
# build-guest.sh OUTDIR — build the end-to-end test guest: Debian's
# linux-image-cloud-amd64 kernel (downloaded with apt-get download and
# unpacked with dpkg-deb -x, never installed on the host) plus a tiny
# busybox-static initramfs whose /init:
#   - mounts proc/sys/dev and loads the virtio + ACPI button modules in
#     dependency order (computed from modules.dep at build time);
#   - gives every ethX that exists or appears later (a NIC re-attached after
#     a detach) the address from the kernel command line, cordon.ip=A.B.C.D/NN,
#     and brings it up (polled every 0.5 s);
#   - powers off at once on the ACPI power button (busybox acpid), so a
#     graceful `virsh shutdown` works;
#   - prints "CORDON-GUEST-READY" on the serial console once eth0 is up;
#   - runs the tests' commands as root from its second serial port, ttyS1
#     (lv_guest_exec in libvirt-env.sh, protocol in tests/tools/guestexec.c).
#
# Output (OUTDIR): vmlinuz, initramfs.cpio.gz, guest.env (kernel version and
# file names).  Idempotent: when OUTDIR already holds artefacts built from the
# same inputs (this script, kernel package) nothing is done, and nothing is
# fetched.  Downloaded .debs are kept in OUTDIR/cache.
#
# Environment: CORDON_GUEST_KPKG (default linux-image-cloud-amd64),
#              CORDON_GUEST_REBUILD=1 to force a rebuild.
# Needs: apt-get, dpkg-deb, cpio, gzip, busybox-static (installed if missing).
set -euo pipefail

OUT=${1:?usage: build-guest.sh OUTDIR}
KPKG=${CORDON_GUEST_KPKG:-linux-image-cloud-amd64}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CACHE=$OUT/cache
SELF_SUM=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)

log() { echo "build-guest: $*" >&2; }

# ---- cached? --------------------------------------------------------------
if [ "${CORDON_GUEST_REBUILD:-0}" != 1 ] && [ -s "$OUT/vmlinuz" ] &&
   [ -s "$OUT/initramfs.cpio.gz" ] && [ -s "$OUT/guest.env" ] &&
   grep -qx "GUEST_BUILD_SUM=$SELF_SUM" "$OUT/guest.env"; then
    log "up to date in $OUT ($(grep ^GUEST_KVER= "$OUT/guest.env"))"
    exit 0
fi

# ---- tools ----------------------------------------------------------------
BUSYBOX=/bin/busybox
is_static() { [ -x "$BUSYBOX" ] && case "$(LC_ALL=C ldd "$BUSYBOX" 2>&1 || true)" in *'not a dynamic'*) true;; *) false;; esac; }
need_pkgs=()
is_static || need_pkgs+=(busybox-static)
command -v cpio >/dev/null || need_pkgs+=(cpio)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    log "installing ${need_pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${need_pkgs[@]}" >&2
fi
is_static || { log "$BUSYBOX is not static (install busybox-static)"; exit 1; }

# ---- kernel packages ------------------------------------------------------
mkdir -p "$CACHE"
# The meta package depends on exactly one versioned image package.
KIMG=$(apt-cache depends --no-recommends --no-suggests "$KPKG" 2>/dev/null |
       awk '$1 ~ /Depends:/ && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')
if [ -z "$KIMG" ]; then
    # Offline or no apt lists: fall back to whatever is already cached.
    deb=$(ls -1 "$CACHE"/linux-image-[0-9]*.deb 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$deb" ] || { log "cannot resolve $KPKG (run apt-get update?)"; exit 1; }
    KIMG=$(dpkg-deb -f "$deb" Package)
    log "apt cannot resolve $KPKG, using cached $KIMG"
fi
fetch() { # package -> path of .deb in cache
    local p=$1 f
    f=$(ls -1 "$CACHE/${p}"_*.deb 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$f" ]; then
        log "apt-get download $p"
        # _apt cannot write into root-owned dirs: download as root quietly.
        (cd "$CACHE" && apt-get download -q "$p" 2>&1 | grep -v 'unsandboxed' >&2 || true)
        f=$(ls -1 "$CACHE/${p}"_*.deb 2>/dev/null | sort -V | tail -1 || true)
        [ -n "$f" ] || { log "download of $p failed"; exit 1; }
    fi
    echo "$f"
}
fetch "$KPKG" >/dev/null      # the meta package itself, as asked (tiny)
KDEB=$(fetch "$KIMG")

UNPACK=$CACHE/unpack-$KIMG
if ! [ -d "$UNPACK/boot" ]; then
    rm -rf "$UNPACK.tmp"
    dpkg-deb -x "$KDEB" "$UNPACK.tmp"
    mv "$UNPACK.tmp" "$UNPACK"
fi
KVER=$(ls "$UNPACK/lib/modules" | head -1)
KCONFIG=$UNPACK/boot/config-$KVER
MODROOT=$UNPACK/lib/modules/$KVER
[ -f "$MODROOT/modules.dep" ] || "$BUSYBOX" depmod -b "$UNPACK" "$KVER"
log "kernel $KVER"

# ---- which drivers are modules, in which order -------------------------------
# Wanted: virtio-net over virtio-pci, and the ACPI power button + evdev so
# busybox acpid sees it.  Each is either =y (nothing to load), =m (load it and
# its modules.dep dependencies first) or missing (fatal for virtio_net).
declare -A WANT_CFG=(
    [virtio_net]=CONFIG_VIRTIO_NET [virtio_pci]=CONFIG_VIRTIO_PCI
    [button]=CONFIG_ACPI_BUTTON [evdev]=CONFIG_INPUT_EVDEV
)
WANT_ORDER=(virtio_pci virtio_net button evdev)
declare -A LOADED=()
ORDER=()
modpath() { # name -> relative path in modules.dep (names use _ or -)
    local n=$1 alt=${1//_/-}
    awk -F: -v a="/$n.ko" -v b="/$alt.ko" \
        'index($1,a)==length($1)-length(a)+1 || index($1,b)==length($1)-length(b)+1 {print $1; exit}' \
        "$MODROOT/modules.dep"
}
add_mod() { # relative path; dependencies first (modules.dep lists them deepest last)
    local rel=$1 deps i arr
    [ -n "${LOADED[$rel]:-}" ] && return 0
    LOADED[$rel]=1
    deps=$(awk -F': *' -v m="$rel" '$1==m {print $2; exit}' "$MODROOT/modules.dep")
    # modules.dep: "mod: dep1 dep2 ..." where later entries are lower in the
    # stack; load from the end so every module's own dependencies come first.
    read -r -a arr <<< "$deps"
    for ((i=${#arr[@]}-1; i>=0; i--)); do add_mod "${arr[$i]}"; done
    ORDER+=("$rel")
}
for m in "${WANT_ORDER[@]}"; do
    v=$(sed -n "s/^${WANT_CFG[$m]}=//p" "$KCONFIG")
    case "$v" in
        y) log "$m: built in (${WANT_CFG[$m]}=y)";;
        m) p=$(modpath "$m"); [ -n "$p" ] || { log "$m.ko not in modules.dep"; exit 1; }
           add_mod "$p";;
        *) if [ "$m" = virtio_net ] || [ "$m" = virtio_pci ]; then
               log "${WANT_CFG[$m]} not set in $KVER: cannot build guest"; exit 1
           fi
           log "warning: ${WANT_CFG[$m]} not set: $m unavailable";;
    esac
done
for opt in CONFIG_HOTPLUG_PCI_ACPI CONFIG_SERIAL_8250_CONSOLE CONFIG_DEVTMPFS CONFIG_RD_GZIP; do
    grep -q "^$opt=y" "$KCONFIG" || log "warning: $opt is not =y in $KVER"
done
log "module load order: $(printf '%s ' "${ORDER[@]##*/}")"

# ---- initramfs tree ---------------------------------------------------------
ROOT=$OUT/initramfs.tmp
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,run,tmp,etc/acpi/PWRF,lib/modules}
cp "$BUSYBOX" "$ROOT/bin/busybox"
for a in $("$BUSYBOX" --list); do
    [ "$a" = busybox ] || ln -sf busybox "$ROOT/bin/$a"
done
: > "$ROOT/etc/modules.load"
for rel in "${ORDER[@]}"; do
    cp "$MODROOT/$rel" "$ROOT/lib/modules/"
    echo "${rel##*/}" >> "$ROOT/etc/modules.load"
done

cat > "$ROOT/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "cordon-guest: ACPI power button, powering off" > /dev/console
poweroff -f
EOF
chmod +x "$ROOT/etc/acpi/PWRF/00000080"

cat > "$ROOT/init" <<'EOF'
#!/bin/sh
# cordon test guest init (busybox).  Everything goes to the serial console.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
say() { echo "cordon-guest: $*"; }

IP=
for a in $(cat /proc/cmdline); do
    case "$a" in cordon.ip=*) IP=${a#cordon.ip=};; esac
done

while read -r m; do
    insmod "/lib/modules/$m" || say "insmod $m failed"
done < /etc/modules.load

ip link set lo up
if ls /dev/input/event* >/dev/null 2>&1; then
    acpid -c /etc/acpi -l /dev/null -p /run/acpid.pid && say "acpid running"
else
    say "no input device: ACPI power button unavailable"
fi

# Command channel for the tests (lv_guest_exec, tests/tools/guestexec.c): on
# the second serial port, which libvirt exposes on the host as a unix socket,
# lines "ID SECS COMMAND" are run one at a time as root with `timeout SECS sh
# -c COMMAND` and answered "CORDON-EXEC-BEGIN ID" (at once), the output
# (stdout + stderr), "CORDON-EXEC-END ID STATUS".  A repeated ID (the host
# resends until BEGIN comes back) is answered from the stored output without
# running it again.  Raw mode: no echo, no line editing, \n stays \n.
exec_chan() {
    exec </dev/ttyS1 >/dev/ttyS1 2>/dev/null || return 1
    stty raw -echo clocal || return 1
    echo "CORDON-EXEC-READY"
    last=
    while read -r id secs cmd; do
        case "$id" in CX*) ;; *) continue;; esac
        echo "CORDON-EXEC-BEGIN $id"
        if [ "$id" != "$last" ]; then
            : > /tmp/exec.out
            timeout "$secs" sh -c "$cmd" </dev/null >/tmp/exec.out 2>&1
            echo $? > /tmp/exec.rc
            last=$id
        fi
        cat /tmp/exec.out
        [ -z "$(tail -c 1 /tmp/exec.out)" ] || echo
        echo "CORDON-EXEC-END $id $(cat /tmp/exec.rc)"
    done
}
# (sysfs type 0: no UART there, i.e. the domain has no second serial port)
if [ -c /dev/ttyS1 ] && [ "$(cat /sys/class/tty/ttyS1/type 2>/dev/null)" != 0 ]; then
    (while :; do exec_chan; sleep 1; done) &
    say "command channel on ttyS1"
else
    say "no ttyS1: no command channel"
fi

say "init done"

# Bring up every ethX (present now or hot-plugged later) with $IP.
up_all() {
    for d in /sys/class/net/eth*; do
        [ -e "$d" ] || continue
        n=${d##*/}
        read -r flags < "$d/flags"
        if [ $((flags & 1)) -eq 0 ]; then
            ip link set "$n" up
        fi
        if [ -n "$IP" ] && ! ip -4 addr show dev "$n" | grep -q "inet $IP"; then
            ip addr add "$IP" dev "$n" && say "$n up mac=$(cat "$d/address") ip=$IP"
        fi
    done
}
ready=0
while :; do
    up_all
    if [ $ready = 0 ] && [ -e /sys/class/net/eth0 ]; then
        ready=1
        say "uptime $(cut -d' ' -f1 /proc/uptime)s"
        echo "CORDON-GUEST-READY"
    fi
    # Report NICs that went away (hot-unplugged) once.
    for n in $seen; do
        [ -e "/sys/class/net/$n" ] || { say "$n removed"; seen=$(echo " $seen " | sed "s/ $n / /"); }
    done
    for d in /sys/class/net/eth*; do
        [ -e "$d" ] || continue
        case " $seen " in *" ${d##*/} "*) ;; *) seen="$seen ${d##*/}";; esac
    done
    usleep 500000
done
EOF
chmod +x "$ROOT/init"

(cd "$ROOT" && find . -print0 | sort -z | cpio --null -o -H newc --quiet --reproducible) |
    gzip -9 -n > "$OUT/initramfs.cpio.gz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
cp "$UNPACK/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
rm -rf "$ROOT"

cat > "$OUT/guest.env" <<EOF
GUEST_KVER=$KVER
GUEST_KPKG=$KIMG
GUEST_KERNEL=$OUT/vmlinuz
GUEST_INITRD=$OUT/initramfs.cpio.gz
GUEST_MODULES="$(printf '%s ' "${ORDER[@]##*/}")"
GUEST_BUILD_SUM=$SELF_SUM
EOF
log "built $OUT/vmlinuz ($(stat -c %s "$OUT/vmlinuz") B), initramfs.cpio.gz ($(stat -c %s "$OUT/initramfs.cpio.gz") B)"
