#!/usr/bin/env bash
# Builds the initramfs of the nested test host (L1): build/nested/l1.cpio.gz.
#
# usage: build-l1.sh [LIST]      (default tests/nested/tests.list)
#
# It holds busybox, the modules irqbypass ccp kvm kvm-amd (and whatever
# modinfo says they depend on) of the kernel L1 boots (the newest Debian
# kernel under /boot, or $NESTED_KERNEL), build/trapeze with its shared
# libraries as /bin/trapeze, the test table as /etc/nested/tests.list, the
# batch runner and l1-init, and under /repo (where the tests run) what the
# tests read relative to the repository root: the guest images
# build/guest-firmware/*.elf|*.bin and the files of tests/boot/.
#
# When the table names $L2, build-l2.sh builds the L2 payload (the same
# kernel as vmlinuz, an initramfs per tests/nested/l2/NAME.init) and it goes
# in as /l2/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=tests/nested/lib.sh
. "$here/lib.sh"

list=${1:-$here/tests.list}
out=$repo/build/nested
trapeze=$repo/build/trapeze
fwdir=$repo/build/guest-firmware
[ -r "$list" ] || nested_die "cannot read test list $list"

kver=$(nested_kernel_version)
mkdir -p "$out"

args=(-o "$out/l1.cpio.gz" -i "$here/l1-init" -k "$kver"
	-m irqbypass -m ccp -m kvm -m kvm_amd
	-b "$here/batch.sh:/bin/nested-batch"
	-f "$list:/etc/nested/tests.list")

if [ -x "$trapeze" ]; then
	args+=(-b "$trapeze:/bin/trapeze")
	mapfile -t dl < <(nested_dlopen_libs)
	args+=(${dl[@]+"${dl[@]}"})
else
	echo "nested: warning: $trapeze not built; tests that run it will fail" >&2
fi

shopt -s nullglob
fw=("$fwdir"/*.elf "$fwdir"/*.bin)
for f in ${fw[@]+"${fw[@]}"} "$repo"/tests/boot/*; do
	case "$f" in *.c | *.h | */*.d) continue ;; esac
	[ -f "$f" ] && args+=(-f "$f:/repo/${f#"$repo"/}")
done

# $L2 or ${L2} in a command: the table has Linux-boot tests.
if nested_list_uses_l2 "$list"; then
	"$here/build-l2.sh"
	args+=(-f "$out/l2:/l2")
fi

"$here/mkinitramfs.sh" "${args[@]}"
echo "$kver" >"$out/kernel-version"
