#!/usr/bin/env bash
# Builds a small busybox initramfs (gzip'd newc cpio) around a given /init.
# The L1 test host is built with it, and so is every L2 Linux guest's
# initramfs (tests/nested/l2/*.init, see docs/nested.md).
#
# usage: mkinitramfs.sh -o OUT.cpio.gz -i INIT [-b FILE[:DEST]]...
#                       [-f SRC:DEST]... [-k KVER] [-m MODULE]...
#   -o OUT         the archive to write
#   -i INIT        the script (or program) that becomes /init
#   -b FILE[:DEST] an executable plus the shared libraries ldd lists
#                  (default DEST /bin/NAME)
#   -f SRC:DEST    a file, or a directory copied with its contents, at DEST
#   -k KVER        kernel version for -m (default: newest under /boot)
#   -m MODULE      a module of that kernel and, first, its dependencies, as
#                  /lib/modules/NAME.ko; /lib/modules/order lists the files in
#                  the order to insmod them
#
# The archive holds busybox (busybox-static) with a symlink per applet, the
# directories dev proc sys tmp run etc root, and a /dev/console node, so the
# kernel can open the console for /init; building needs no root (the node is
# written as a second, hand-made cpio member list, which the kernel unpacks
# after the first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/nested/lib.sh
. "$here/lib.sh"

out="" init="" kver=""
bins=() files=() mods=()
while getopts "o:i:b:f:k:m:" opt; do
	case "$opt" in
	o) out=$OPTARG ;;
	i) init=$OPTARG ;;
	b) bins+=("$OPTARG") ;;
	f) files+=("$OPTARG") ;;
	k) kver=$OPTARG ;;
	m) mods+=("$OPTARG") ;;
	*) nested_die "usage: mkinitramfs.sh -o OUT -i INIT [-b FILE[:DEST]] [-f SRC:DEST] [-k KVER] [-m MODULE]" ;;
	esac
done
if [ -z "$out" ] || [ -z "$init" ]; then
	nested_die "mkinitramfs.sh: -o and -i are required"
fi
[ -f "$init" ] || nested_die "init script $init not found"
for tool in cpio gzip; do
	command -v "$tool" >/dev/null || nested_die "$tool missing (scripts/deps.sh installs it)"
done

busybox=/bin/busybox
[ -x "$busybox" ] || nested_die "$busybox missing (apt-get install busybox-static)"

stage=$(mktemp -d "${TMPDIR:-/tmp}/nested-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,root,lib/modules}

nested_copy_with_libs "$root" "$busybox" /bin/busybox
# --list-full names every applet with its directory (bin/sh, usr/bin/awk, ...).
for applet in $("$busybox" --list-full); do
	[ "$applet" = bin/busybox ] && continue
	ln -sf /bin/busybox "$root/$applet"
done

cp "$init" "$root/init"
chmod 755 "$root/init"

for b in ${bins[@]+"${bins[@]}"}; do
	src=${b%%:*}
	dest=/bin/$(basename "$src")
	[ "$src" != "$b" ] && dest=${b#*:}
	nested_copy_with_libs "$root" "$src" "$dest"
done

for f in ${files[@]+"${files[@]}"}; do
	src=${f%%:*}
	dest=${f#*:}
	if [ "$src" = "$f" ] || [ -z "$dest" ]; then
		nested_die "-f wants SRC:DEST, got '$f'"
	fi
	[ -e "$src" ] || nested_die "$src not found"
	mkdir -p "$root/$(dirname "$dest")"
	if [ -d "$src" ]; then
		mkdir -p "$root/$dest" && cp -RL "$src/." "$root/$dest/"
	else
		cp -L "$src" "$root/$dest"
	fi || nested_die "cannot copy $src"
done

if [ ${#mods[@]} -gt 0 ]; then
	[ -n "$kver" ] || kver=$(nested_kernel_version)
	for m in $(nested_module_order "$kver" "${mods[@]}"); do
		nested_add_module "$root" "$m"
	done
fi

# One newc record: name, mode (octal), rdev major, minor. No data.
# Header fields (8 hex digits each): ino mode uid gid nlink mtime filesize
# devmajor devminor rdevmajor rdevminor namesize check; header plus name are
# padded to a multiple of 4 bytes.
newc_record() {
	local name=$1 mode=$2 major=$3 minor=$4 namesize pad
	namesize=$((${#name} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		0 "$((8#$mode))" 0 0 1 0 0 0 0 "$major" "$minor" "$namesize" 0
	printf '%s\0' "$name"
	pad=$(((4 - (110 + namesize) % 4) % 4))
	[ "$pad" -gt 0 ] && head -c "$pad" /dev/zero
	return 0
}

mkdir -p "$(dirname "$out")"
{
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet)
	newc_record dev 40755 0 0
	newc_record dev/console 20600 5 1
	newc_record TRAILER!!! 0 0 0
} | gzip -6 >"$out.tmp"
mv "$out.tmp" "$out"
