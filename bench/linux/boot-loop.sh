#!/bin/sh
# The Linux boot benchmark's timing loop (bench/README.md, benchmark 3).
# POSIX sh: it runs under busybox inside the nested host's L1 (l1.init) and
# under dash/bash directly on a host with hardware virtualization.
#
# usage: boot-loop.sh ROUNDS IDLE_MS TIMEOUT_S WORKDIR VMM...
#   VMM: trapeze-auto, trapeze-linux, qemu-microvm, qemu-q35 (the boot);
#        trapeze-blk, qemu-q35-blk, host-blk (virtio-blk from Linux)
# environment: SPAWN (bench/spawn), TRAPEZE, QEMU, KERNEL (a bzImage),
#   INITRD (l2.init's initramfs), RAM_MIB (default 256); for the *-blk
#   runs BLK_INITRD (l2-blk.init's), BLK_LIMIT (bench/blk_limit), BLK_MIB
#   (the image, default 128) and BLK_ARGS (blk_limit's options, e.g.
#   "-s 256 -q 4 -n 1024 -Q 16")
#
# Each round boots every VMM once, in the order given (alternation: A B C D
# A B C D ...), under spawn: exec to the first "@@TRZ-BENCH-INIT" on the
# VMM's stdout, then IDLE_MS of idle guest, /proc/PID/smaps, SIGKILL; a
# boot that takes more than TIMEOUT_S seconds is killed. Prints per run
#   @@BENCH-BOOT vmm=V round=R <spawn's key=value pairs> guest_uptime_s=S
# or, when the run went wrong,
#   @@BENCH-BOOT-FAIL vmm=V round=R <spawn's output>
#   @@BENCH-BOOT-LOG vmm=V| <the last lines of its stdout, then stderr>
# The *-blk runs boot l2-blk.init with WORKDIR/blk.img (made here once) as
# the guest's virtio-blk disk; the guest runs blk_limit -d on it and powers
# off. host-blk is L1 (or this host) running blk_limit on the file itself.
# Per run they print
#   @@BENCH-BLK vmm=V round=R blk_limit: PHASE n=.. qd=.. bytes=.. ns=..
# (one line per phase), or the FAIL and LOG lines above.
# At the end: @@BENCH-BOOT-DONE.
MARKER=@@TRZ-BENCH-INIT
BLK_END=@@TRZ-BLK-END

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
	trapeze-blk | qemu-q35-blk | host-blk)
		run_blk "$v" "$r"
		return ;;
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

# One virtio-blk-from-Linux run: the guest's (or the host's) blk_limit lines.
run_blk() {
	v=$1 r=$2
	out=$work/$v.out err=$work/$v.err
	img=$work/blk.img
	# shellcheck disable=SC2086 # BLK_ARGS is a list of options
	cmdline="quiet trzblk=$(echo $BLK_ARGS | tr ' ' ',')"
	case "$v" in
	trapeze-blk)
		set -- "$TRAPEZE" run -m "${ram}M" -k "$KERNEL" -i "$BLK_INITRD" -d "$img" \
			-p "$cmdline" ;;
	qemu-q35-blk)
		# shellcheck disable=SC2046 # word splitting of the fixed option list
		set -- "$QEMU" -M q35 $(qemu_common) -kernel "$KERNEL" -initrd "$BLK_INITRD" \
			-append "console=ttyS0 $cmdline" \
			-drive "file=$img,if=none,id=d0,format=raw" \
			-device virtio-blk-pci,drive=d0,disable-legacy=on,modern-pio-notify=on ;;
	host-blk)
		# shellcheck disable=SC2086
		if "$BLK_LIMIT" $BLK_ARGS "$img" >"$out" 2>"$err"; then
			sed "s/^/@@BENCH-BLK vmm=$v round=$r /" "$out"
		else
			echo "@@BENCH-BOOT-FAIL vmm=$v round=$r $(tail -n 1 "$err")"
		fi
		return ;;
	esac
	res=$("$SPAWN" -m "$BLK_END" -T "$tmo" -o "$out" -e "$err" -- "$@" 2>&1)
	if grep -q "$BLK_END status=0" "$out" && [ "$(grep -c '^blk_limit: ' "$out")" -eq 4 ]; then
		tr -d '\r' <"$out" | sed -n "s/^blk_limit: /@@BENCH-BLK vmm=$v round=$r blk_limit: /p"
	else
		echo "@@BENCH-BOOT-FAIL vmm=$v round=$r $res"
		tail -n 15 "$out" | tr -d '\r' | while IFS= read -r l; do echo "@@BENCH-BOOT-LOG vmm=$v| $l"; done
		tail -n 10 "$err" | while IFS= read -r l; do echo "@@BENCH-BOOT-LOG vmm=$v| stderr: $l"; done
	fi
}

case " $* " in
*-blk" "*)
	"$BLK_LIMIT" -c "${BLK_MIB:-128}" "$work/blk.img" || echo "@@BENCH-BOOT-FAIL vmm=host-blk round=0 cannot make $work/blk.img" ;;
esac

r=1
while [ "$r" -le "$rounds" ]; do
	for v in "$@"; do
		run_one "$v" "$r"
	done
	r=$((r + 1))
done
echo "@@BENCH-BOOT-DONE"
