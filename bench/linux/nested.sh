#!/usr/bin/env bash
# Runs the Linux boot benchmark in the nested host (bench/README.md,
# benchmark 3) on a machine without vmx/svm: QEMU TCG with an AMD CPU that
# has SVM (L1, a stock Debian kernel with kvm-amd), and inside it
# boot-loop.sh, which boots the same Debian kernel (L2) with l2.init's
# busybox initramfs on trapeze and on QEMU, both inside L1.
#
# usage: nested.sh OUTDIR ROUNDS IDLE_MS TIMEOUT_S VMM[,VMM...]
# environment: TRAPEZE (default build/trapeze), SPAWN (build/bench/spawn),
#   BLK_LIMIT (build/bench/blk_limit), QEMU (qemu-system-x86_64), NESTED_MEM
#   (L1 RAM in MiB, default 2048), NESTED_KERNEL (L1 and L2 kernel version;
#   default the newest under /boot), and for the *-blk VMMs BLK_MIB and
#   BLK_ARGS (boot-loop.sh)
#
# L1's initramfs (OUTDIR/l1.cpio.gz) holds busybox, the KVM modules, trapeze,
# bench/spawn, bench/blk_limit, QEMU with its shared libraries and the
# firmware it loads for microvm and q35 (SeaBIOS, qboot, the linuxboot/PVH
# option ROMs, kvmvapic), the L2 kernel and its two initramfs images
# (l2.init's; l2-blk.init's with blk_limit, virtio_pci and virtio_blk),
# boot-loop.sh and l1.init. L1's markers arrive
# on its second serial port (OUTDIR/markers.log), its console in
# OUTDIR/console.log. Prints the markers on stdout at the end; progress on
# stderr. Exit status 0 when L1 ran the loop to its end, 1 otherwise.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=tests/nested/lib.sh
. "$repo/tests/nested/lib.sh"

[ $# -eq 5 ] || nested_die "usage: nested.sh OUTDIR ROUNDS IDLE_MS TIMEOUT_S VMM[,VMM...]"
out=$1 rounds=$2 idle=$3 tmo=$4 vmms=$5
trapeze=${TRAPEZE:-$repo/build/trapeze}
spawn=${SPAWN:-$repo/build/bench/spawn}
blk_limit=${BLK_LIMIT:-$repo/build/bench/blk_limit}
qemu=$(command -v "${QEMU:-qemu-system-x86_64}") ||
	nested_die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
kver=$(nested_kernel_version) || exit 1
mkdir -p "$out/l2" || exit 1
rm -f "$out/markers.log" "$out/console.log" "$out/qemu.err"

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

t0=$(now_ms)
"$repo/tests/nested/mkinitramfs.sh" -o "$out/l2/boot.cpio.gz" -i "$here/l2.init" ||
	nested_die "building the L2 initramfs failed"
"$repo/tests/nested/mkinitramfs.sh" -o "$out/l2/blk.cpio.gz" -i "$here/l2-blk.init" \
	-b "$blk_limit:/bin/blk_limit" -k "$kver" -m virtio_pci -m virtio_blk ||
	nested_die "building the L2 virtio-blk initramfs failed"

args=(-o "$out/l1.cpio.gz" -i "$here/l1.init" -k "$kver"
	-m irqbypass -m ccp -m kvm -m kvm_amd
	-b "$trapeze:/bin/trapeze" -b "$spawn:/bin/spawn" -b "$blk_limit:/bin/blk_limit"
	-b "$qemu:/usr/bin/qemu-system-x86_64"
	-f "$here/boot-loop.sh:/bin/boot-loop.sh"
	-f "/boot/vmlinuz-$kver:/l2/vmlinuz" -f "$out/l2/boot.cpio.gz:/l2/boot.cpio.gz"
	-f "$out/l2/blk.cpio.gz:/l2/blk.cpio.gz")
# The decompression libraries trapeze dlopen()s for --boot=auto (ldd misses them).
mapfile -t dl < <(nested_dlopen_libs)
args+=(${dl[@]+"${dl[@]}"})
# What QEMU opens for -M microvm and -M q35 with -kernel (strace -e openat):
# it looks next to the binary, in ../share/qemu and ../share/seabios.
for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/bios-microvm.bin \
	/usr/share/qemu/kvmvapic.bin /usr/share/qemu/linuxboot_dma.bin \
	/usr/share/qemu/linuxboot.bin /usr/share/qemu/pvh.bin; do
	[ -e "$f" ] || nested_die "$f missing (qemu-system-x86, seabios, qemu-system-data)"
	args+=(-f "$f:$f")
done
"$repo/tests/nested/mkinitramfs.sh" "${args[@]}" || nested_die "building the L1 initramfs failed"
echo "bench: nested host: kernel $kver, L1 initramfs $(($(stat -c %s "$out/l1.cpio.gz") >> 20)) MiB, built in $((($(now_ms) - t0) / 1000)) s" >&2

# Generous: L1's boot, then every run's own limit and idle time, then power-off.
nvmm=$(echo "$vmms" | tr ',' '\n' | grep -c .)
overall=$((180 + rounds * nvmm * (tmo + idle / 1000 + 5)))
t1=$(now_ms)
timeout -k 10 "$overall" "$qemu" -accel tcg,thread=multi -M q35 -cpu EPYC-Rome,+svm \
	-m "${NESTED_MEM:-2048}" -smp 2 -nodefaults -display none -no-reboot \
	-kernel "/boot/vmlinuz-$kver" -initrd "$out/l1.cpio.gz" \
	-append "console=ttyS0 panic=-1 quiet trzbench.rounds=$rounds trzbench.idle_ms=$idle trzbench.timeout_s=$tmo trzbench.vmms=$vmms trzbench.blk_mib=${BLK_MIB:-128} trzbench.blk_args=$(echo "${BLK_ARGS:-}" | tr ' ' ',')" \
	-serial "file:$out/console.log" -serial "file:$out/markers.log" \
	</dev/null >"$out/qemu.err" 2>&1
rc=$?
echo "bench: nested host ran $((($(now_ms) - t1) / 1000)) s (QEMU status $rc)" >&2
touch "$out/markers.log"
tr -d '\r' <"$out/markers.log"
if ! grep -q '^@@BENCH-BOOT-DONE' "$out/markers.log"; then
	echo "bench: the nested host did not finish the loop; L1 console tail:" >&2
	tr -d '\r' <"$out/console.log" | tail -n 15 | sed 's/^/    /' >&2
	exit 1
fi
