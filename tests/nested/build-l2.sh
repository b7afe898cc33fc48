#!/usr/bin/env bash
# Builds the L2 Linux payload into build/nested/l2/: the kernel L1 runs (the
# newest Debian kernel under /boot, or $NESTED_KERNEL) as vmlinuz and, for
# each tests/nested/l2/NAME.init, a busybox initramfs NAME.cpio.gz with that
# script as /init (plus the modules named in NAME.modules, if that file
# exists; one name per line or space-separated, '#' comments).
#
# usage: build-l2.sh      (build-l1.sh and run.sh call it when the test
#                          table names $L2)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=tests/nested/lib.sh
. "$here/lib.sh"

out=$repo/build/nested/l2
kver=$(nested_kernel_version)
rm -rf "$out"
mkdir -p "$out"
cp "/boot/vmlinuz-$kver" "$out/vmlinuz"
shopt -s nullglob
for init in "$here"/l2/*.init; do
	name=$(basename "$init" .init)
	args=(-o "$out/$name.cpio.gz" -i "$init" -k "$kver")
	if [ -f "$here/l2/$name.modules" ]; then
		# shellcheck disable=SC2013 # module names, one or more per line
		for m in $(sed 's/#.*//' "$here/l2/$name.modules"); do
			args+=(-m "$m")
		done
	fi
	"$here/mkinitramfs.sh" "${args[@]}"
done
