#!/bin/sh
# Writes the virtio test disk image (default tests/boot/virtio-disk.img):
# 128 sectors of 512 bytes (64 KiB) in which byte i of sector s is
# (s * 13 + i) mod 256, except that sector 0 starts with a 32-byte label,
# "TRAPEZE VIRTIO TEST DISK 1\n" padded with NULs. guest-firmware's
# virtio_check guest checks sector 0 and the last sector against this.
#
# The image is committed; this script documents and remakes it. Tests that
# write to the disk use a copy (boot_test makes build/test-disk.img from it).
#
# usage: make-virtio-disk.sh [OUT]
set -eu
out=${1:-$(dirname "$0")/virtio-disk.img}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Bytes 0..255 three times: sector s is 512 bytes from offset (s * 13) mod 256.
i=0
while [ "$i" -lt 256 ]; do
	# shellcheck disable=SC2059 # the format is the byte's octal escape
	printf "\\$(printf '%03o' "$i")"
	i=$((i + 1))
done >"$tmp/seq"
cat "$tmp/seq" "$tmp/seq" "$tmp/seq" >"$tmp/seq3"

s=0
while [ "$s" -lt 128 ]; do
	off=$(((s * 13) % 256))
	if [ "$s" -eq 0 ]; then
		printf 'TRAPEZE VIRTIO TEST DISK 1\n\0\0\0\0\0'
		tail -c +$((off + 33)) "$tmp/seq3" | head -c 480
	else
		tail -c +$((off + 1)) "$tmp/seq3" | head -c 512
	fi
	s=$((s + 1))
done >"$tmp/disk"
mv "$tmp/disk" "$out"
