#!/usr/bin/env bash
# make demo: boots Debian's stock kernel under trapeze to an interactive
# busybox shell on the serial console. Where the host CPU has VT-x/AMD-V,
# trapeze runs here; otherwise (kvm_pvm machines, PLATFORM.md) inside the
# nested host: QEMU emulating an AMD CPU with SVM, whose Debian kernel gives
# trapeze a hardware-semantics /dev/kvm. Says which.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
nested=$repo/tests/nested
# shellcheck source=tests/nested/lib.sh
. "$nested/lib.sh"

out=$repo/build/demo
kver=$(nested_kernel_version)
mkdir -p "$out"
"$nested/mkinitramfs.sh" -o "$out/shell.cpio.gz" -i "$nested/l2/shell.init" -k "$kver" >/dev/null

if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -c /dev/kvm ]; then
	echo "demo: hardware virtualization here: trapeze runs directly (Ctrl-A x quits)"
	exec "$repo/build/trapeze" run -m 512M -c 2 -k "/boot/vmlinuz-$kver" \
		-i "$out/shell.cpio.gz" -p quiet
fi

command -v qemu-system-x86_64 >/dev/null || nested_die "qemu-system-x86_64 missing (make deps)"
mapfile -t dl < <(nested_dlopen_libs)	# libraries trapeze loads at run time
"$nested/mkinitramfs.sh" -o "$out/l1.cpio.gz" -i "$repo/scripts/demo-l1-init" -k "$kver" \
	${dl[@]+"${dl[@]}"} \
	-m irqbypass -m ccp -m kvm -m kvm_amd \
	-b "$repo/build/trapeze:/bin/trapeze" \
	-f "/boot/vmlinuz-$kver:/demo/vmlinuz" -f "$out/shell.cpio.gz:/demo/shell.cpio.gz" >/dev/null
echo "demo: no VT-x/AMD-V here: trapeze runs inside the nested host (QEMU TCG, AMD SVM)"
echo "demo: L1 boots first (~6 s), then trapeze boots the guest (~10 s). Ctrl-A x quits QEMU."
exec qemu-system-x86_64 -accel tcg -M q35 -cpu EPYC-Rome,+svm -m 2048 -smp 2 \
	-nographic -no-reboot -kernel "/boot/vmlinuz-$kver" -initrd "$out/l1.cpio.gz" \
	-append "console=ttyS0 quiet panic=-1"
