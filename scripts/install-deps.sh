#!/bin/bash
# scripts/install-deps.sh: installs what cordon needs to build and to run
# its tests on Debian 12 (as root). Idempotent: when every package is
# already installed it does nothing (CORDON_FORCE_APT=1 runs apt anyway).
set -euo pipefail

packages=(
	# build
	build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev
	libnftnl-dev libmnl-dev libzmq3-dev libczmq-dev libsqlite3-dev libpq-dev postgresql
	libjansson-dev libcmocka-dev libinih-dev libsystemd-dev
	libnl-3-dev libnl-route-3-dev libvirt-dev libxml2-dev
	libgmime-3.0-dev libyaml-dev libmicrohttpd-dev
	# cordon-sendmail: SMTP submission
	libcurl4-openssl-dev
	# make deb and its test (070-deb-install)
	debhelper
	# man pages (make man) and their test
	scdoc man-db groff-base
	# make fuzz, test 050-fuzz-smoke: clang and its libFuzzer runtime
	# (libclang_rt.fuzzer-x86_64.a is in libclang-rt-14-dev)
	clang libclang-rt-14-dev
	# run and test
	nftables iproute2 iputils-ping netcat-openbsd sqlite3 jq procps
	coreutils util-linux gdb
	# test 372: a real SMTP server (Maildir delivery) for cordon-sendmail
	python3-aiosmtpd
	# test 067-metrics: scrapes with curl, checks with promtool and runs a
	# real Prometheus (the package's own service is not needed: under a
	# policy-rc.d that forbids starts, as in containers, it stays stopped;
	# elsewhere it starts on :9090, which no test uses from the host)
	curl prometheus
	# tests/vm (private libvirtd + QEMU TCG guests; the guest kernel is
	# fetched by tests/vm/build-guest.sh with apt-get download, which needs
	# the apt-get update below to have run once)
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
	busybox-static cpio
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} = 0 ] && [ "${CORDON_FORCE_APT:-0}" != 1 ]; then
	echo "install-deps: all ${#packages[@]} packages already installed"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root (sudo $0)" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]:-(forced)}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
