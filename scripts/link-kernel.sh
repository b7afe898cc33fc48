#!/usr/bin/env bash
# Points build/linux/vmlinuz at the newest installed Debian kernel, so tests
# name one stable path whatever the kernel version is.
set -euo pipefail
dir=${1:-build/linux}
kernel=$(ls -v /boot/vmlinuz-* 2>/dev/null | tail -n 1 || true)
if [ -z "$kernel" ]; then
	echo "link-kernel: no /boot/vmlinuz-* (make deps installs linux-image-amd64)" >&2
	exit 1
fi
mkdir -p "$dir"
ln -sfn "$kernel" "$dir/vmlinuz"
# Its initramfs, when Debian built one: a large real file for the
# initrd-does-not-fit test.
initrd=/boot/initrd.img-${kernel#/boot/vmlinuz-}
if [ -f "$initrd" ]; then
	ln -sfn "$initrd" "$dir/initrd.img"
fi
