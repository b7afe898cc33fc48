#!/bin/sh
# The Linux boot benchmark's timing loop (bench/README.md, benchmark 3).
# POSIX sh: it runs under busybox inside the nested host's L1 (l1.init) and
# under dash/bash directly on a host with hardware virtualization.
#
# usage: boot-loop.sh ROUNDS IDLE_MS TIMEOUT_S WORKDIR VMM...
#   VMM: trapeze-auto, trapeze-linux, qemu-microvm, qemu-q35
# environment: SPAWN (bench/spawn), TRAPEZE, QEMU, KERNEL (a bzImage),
#   INITRD (l2.init's initramfs), RAM_MIB (default 256)
#
# Each round boots every VMM once, in the order given (alternation: A B C D
# A B C D ...), under spawn: exec to the first "@@TRZ-BENCH-INIT" on the
# VMM's stdout, then IDLE_MS of idle guest, /proc/PID/smaps, SIGKILL; a
# boot that takes more than TIMEOUT_S seconds is killed. Prints per run
#   @@BENCH-BOOT vmm=V round=R <spawn's key=value pairs> guest_uptime_s=S
# or, when the run went wrong,
#   @@BENCH-BOOT-FAIL vmm=V round=R <spawn's output>
#   @@BENCH-BOOT-LOG vmm=V| <the last lines of its stdout, then stderr>
# and at the end @@BENCH-BOOT-DONE.
MARKER=@@TRZ-BENCH-INIT

[ $# -ge 5 ] || { echo "usage: boot-loop.sh ROUNDS IDLE_MS TIMEOUT_S WORKDIR VMM..." >&2; exit 2; }
rounds=$1 idle=$2 tmo=$3 work=$4
shift 4
ram=${RAM_MIB:-256}
mkdir -p "$work" || exit 2

# The same kernel command line for every VMM (trapeze puts console=ttyS0 first).
qemu_common() {
	echo "-accel kvm -cpu host -m ${ram}M -smp 1 -display none -nodefaults -no-user-config -serial stdio"
}

run_one() {
	v=$1 r=$2
	out=$work/$v.out err=$work/$v.err
	case "$v" in
	trapeze-auto)
		set -- "$TRAPEZE" run --boot=auto -m "${ram}M" -k "$KERNEL" -i "$INITRD" -p quiet ;;
	trapeze-linux)
		set -- "$TRAPEZE" run --boot=linux -m "${ram}M" -k "$KERNEL" -i "$INITRD" -p quiet ;;
	qemu-microvm)
		# shellcheck disable=SC2046 # word splitting of the fixed option list
		set -- "$QEMU" -M microvm $(qemu_common) -kernel "$KERNEL" -initrd "$INITRD" \
			-append "console=ttyS0 quiet" ;;
	qemu-q35)
		# shellcheck disable=SC2046
		set -- "$QEMU" -M q35 $(qemu_common) -kernel "$KERNEL" -initrd "$INITRD" \
			-append "console=ttyS0 quiet" ;;
	*)
		echo "@@BENCH-BOOT-FAIL vmm=$v round=$r unknown VMM"
		return ;;
	esac
	res=$("$SPAWN" -m "$MARKER" -T "$tmo" -i "$idle" -r "$ram" -o "$out" -e "$err" -- "$@" 2>&1)
	up=$(sed -n 's/.*@@TRZ-BENCH-UPTIME s=\([0-9.]*\).*/\1/p' "$out" | head -n 1)
	case "$res" in
	*"marker_ns=-1"* | *"timed_out=1"* | "" | spawn:*)
		echo "@@BENCH-BOOT-FAIL vmm=$v round=$r $res"
		tail -n 15 "$out" | tr -d '\r' | while IFS= read -r l; do echo "@@BENCH-BOOT-LOG vmm=$v| $l"; done
		tail -n 10 "$err" | while IFS= read -r l; do echo "@@BENCH-BOOT-LOG vmm=$v| stderr: $l"; done ;;
	*)
		echo "@@BENCH-BOOT vmm=$v round=$r $res guest_uptime_s=${up:--1}" ;;
	esac
}

r=1
while [ "$r" -le "$rounds" ]; do
	for v in "$@"; do
		run_one "$v" "$r"
	done
	r=$((r + 1))
done
echo "@@BENCH-BOOT-DONE"
