#!/usr/bin/env bash
# Installs the Debian packages trapeze builds and tests with. Skips apt-get
# entirely when everything is already installed, so `make check` stays fast.
set -euo pipefail

PKGS=(
	gcc make pkg-config check libsubunit-dev	# build and unit tests
	zlib1g-dev liblzma-dev libzstd-dev liblz4-dev	# kernel payload decompression
	qemu-system-x86 linux-image-amd64	# nested test host and guest kernel
	busybox-static cpio gzip		# guest userland and initramfs
	kmod xz-utils				# modules (maybe .ko.xz) for the nested host
	gdb					# tests/gdb: the --gdb stub against real gdb
	python3 gnuplot-nox			# make bench: runner and plots
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
