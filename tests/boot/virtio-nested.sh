#!/bin/sh
# virtio-nested.sh: the host side of the nested virtio tests
# (tests/nested/tests.list, rows virtio.* and boot.virtio-devices). It runs
# inside the nested host (L1, busybox sh, in /repo) or directly where the
# CPU has vmx/svm, makes the disk images in /tmp, runs trapeze, and checks
# the image files after trapeze has gone. It lives in tests/boot/ because
# that directory is what the nested host copies.
#
# usage: sh tests/boot/virtio-nested.sh TEST [L2-DIR]
#   ($TRAPEZE and $L2 are set by batch.sh; the linux-* rows name "$L2" as
#   the argument too, which is how the runner sees they need the L2 payload)
#   fw        guest-firmware's virtio_check on a copy of the test image and
#             on the image itself read-only, rng, virtio console; then the
#             copy has the guest's sector 64 and nothing else changed
#   ro-file   an image on a read-only tmpfs: refused without ,ro (one line,
#             status 64), usable with it
#   locked    a second trapeze on an image another one holds: refused for
#             read-write and read-only use; after SIGKILL of the holder the
#             lock is gone; two read-only users share an image
#   linux-devices  Debian's drivers (l2/virtio.init, test=devices): a
#             read-write disk whose size is not a multiple of 512, a
#             read-only disk, virtio-rng, --console virtio with a shell on
#             hvc0 fed from trapeze's stdin; then the files are checked
#   linux-smp      two vCPUs, two disks under parallel reads and writes
#   linux-sigkill  the guest writes and syncs; trapeze is killed with
#             SIGKILL right after; the data must be in the file
# Lines from here start with @@HOST; the guest's own are @@L2-... or
# virtio_check: ...; the exit status is 0 only when every check held (fw:
# trapeze's status, 193).
set -u
: "${TRAPEZE:?}"
L2=${2:-${L2:-}}
FW=build/guest-firmware
IMG=tests/boot/virtio-disk.img
PATTERN=trapeze-virtio-PATTERN	# as l2/virtio.init writes it
failed=0

say() {
	echo "@@HOST $*"
}

bad() {
	say "FAIL $*"
	failed=1
}

md5() {	# md5 [FILE]: the digest alone
	md5sum "$@" | cut -d' ' -f1
}

sha() {
	sha256sum "$@" | cut -d' ' -f1
}

# region FILE SKIP COUNT BS: md5 of COUNT blocks of BS bytes after SKIP blocks.
region() {
	dd if="$1" bs="$4" skip="$2" count="$3" 2>/dev/null | md5
}

pattern_md5() {
	yes "$PATTERN" | head -c "$1" | md5
}

linux() {	# linux ARGS...: trapeze with the L2 kernel and virtio.init
	"$TRAPEZE" run -k "$L2/vmlinuz" -i "$L2/virtio.cpio.gz" "$@"
}

test_fw() {
	img=/tmp/virtio-fw.img
	cp "$IMG" "$img" || exit 1
	"$TRAPEZE" run -d "$img" -d "$IMG,ro" --rng --console virtio -k "$FW/virtio_check.elf"
	st=$?
	say "trapeze exit status $st"
	label=$(dd if="$img" bs=512 skip=64 count=1 2>/dev/null | head -c 30)
	[ "$label" = "virtio_check wrote this sector" ] || bad "sector 64 of the file: '$label'"
	if [ "$(region "$img" 0 64 512)" = "$(region "$IMG" 0 64 512)" ] &&
	   [ "$(region "$img" 65 63 512)" = "$(region "$IMG" 65 63 512)" ]; then
		say "file: sector 64 written by the guest, the other 127 unchanged"
	else
		bad "file: sectors other than 64 changed"
	fi
	[ "$(md5 "$IMG")" = "$(md5 "$img")" ] && bad "the copy did not change"
	[ $failed -eq 0 ] || exit 1
	exit $st
}

test_ro_file() {
	mnt=/tmp/virtio-ro
	mkdir -p "$mnt" && mount -t tmpfs -o size=1m tmpfs "$mnt" || exit 1
	if ! { cp "$IMG" "$mnt/disk.img" && mount -o remount,ro "$mnt"; }; then
		umount "$mnt"
		exit 1
	fi
	"$TRAPEZE" run -d "$mnt/disk.img" -k "$FW/hello.elf"
	say "without ,ro: status $?"
	"$TRAPEZE" run -d "$mnt/disk.img,ro" -k "$FW/virtio_check.elf"
	say "with ,ro: status $?"
	umount "$mnt"
}

# holder IMG-ARG: a trapeze that keeps IMG-ARG open (a spinning guest, at
# most 60 s); waits until the image is among its open files and returns
# its pid in $holder.
start_holder() {
	"$TRAPEZE" run --timeout 60 --flat 0x7c00 -k tests/boot/spin.bin -d "$1" \
		>/dev/null 2>/tmp/virtio-holder.err &
	holder=$!
	i=0
	while [ $i -lt 100 ]; do
		for fd in "/proc/$holder/fd/"*; do
			[ "$(readlink "$fd" 2>/dev/null)" = "${1%,ro}" ] && { sleep 0.2; return 0; }
		done
		sleep 0.1
		i=$((i + 1))
	done
	bad "the holder never opened $1"
	return 1
}

stop_holder() {
	kill -9 "$holder" 2>/dev/null
	wait "$holder"
	say "holder killed (status $?)"
}

test_locked() {
	img=/tmp/virtio-lock.img
	cp "$IMG" "$img" || exit 1
	start_holder "$img" || exit 1
	say "holder has $img read-write"
	"$TRAPEZE" run -d "$img" -k "$FW/hello.elf"
	say "second read-write user: status $?"
	"$TRAPEZE" run -d "$img,ro" -k "$FW/hello.elf"
	say "second read-only user: status $?"
	stop_holder
	# The kernel drops a flock with the last descriptor: no stale lock.
	start_holder "$img,ro" || exit 1
	say "holder has $img read-only"
	"$TRAPEZE" run -d "$img,ro" -k "$FW/virtio_check.elf" >/tmp/virtio-lock.out
	say "second read-only user: status $? ($(tail -n 1 /tmp/virtio-lock.out))"
	"$TRAPEZE" run -d "$img" -k "$FW/hello.elf"
	say "read-write user beside a reader: status $?"
	stop_holder
	exit $failed
}

test_linux_devices() {
	a=/tmp/virtio-a.img
	b=/tmp/virtio-b.img
	# 8192 sectors and 300 bytes the guest must not see.
	head -c $((8192 * 512 + 300)) /dev/urandom >"$a"
	head -c 1048576 /dev/urandom >"$b"
	suma=$(head -c $((8192 * 512)) "$a" | sha)
	sumb=$(sha "$b")
	taila=$(tail -c 300 "$a" | md5)
	say "images: vda 4194604 bytes sha256 $suma, vdb 1048576 bytes sha256 $sumb"
	# Typed at hvc0's shell once the guest opens it; the answer is computed there.
	# shellcheck disable=SC2016 # for the guest's shell
	printf 'echo @@L2-HVC-SHELL $((6 * 7)) on $(tty)\nexit\n' |
		linux -m 256M -d "$a" -d "$b,ro" --rng --console virtio \
			-p "quiet trapeze.test=devices trapeze.sum=$suma trapeze.sum2=$sumb"
	st=$?
	say "trapeze exit status $st"
	if [ "$(region "$a" 16 16 4096)" = "$(pattern_md5 65536)" ]; then
		say "vda file: the guest's 64 KiB pattern at 64 KiB"
	else
		bad "vda file: pattern missing"
	fi
	if [ "$(region "$a" 32 16 65536)" = "$(head -c 1048576 /dev/zero | md5)" ]; then
		say "vda file: the discarded 1 MiB at 2 MiB reads as zeros"
	else
		bad "vda file: the discarded range is not zeros"
	fi
	if [ "$(wc -c <"$a")" -eq $((8192 * 512 + 300)) ] &&
	   [ "$(tail -c 300 "$a" | md5)" = "$taila" ]; then
		say "vda file: size and the 300 bytes past the last sector unchanged"
	else
		bad "vda file: size or tail changed"
	fi
	if [ "$(sha "$b")" = "$sumb" ]; then
		say "vdb file: unchanged"
	else
		bad "vdb file changed"
	fi
	[ $failed -eq 0 ] || exit 1
	exit $st
}

test_linux_smp() {
	a=/tmp/virtio-s1.img
	b=/tmp/virtio-s2.img
	head -c 8388608 /dev/urandom >"$a"
	head -c 8388608 /dev/urandom >"$b"
	linux -c 2 -m 512M -d "$a" -d "$b" \
		-p "quiet trapeze.test=smp trapeze.sum=$(sha "$a") trapeze.sum2=$(sha "$b")"
	st=$?
	say "trapeze exit status $st"
	want=$(pattern_md5 1048576)
	for f in "$a" "$b"; do
		if [ "$(region "$f" 16 16 65536)" = "$want" ]; then
			say "$f: the guest's 1 MiB pattern at 1 MiB"
		else
			bad "$f: pattern missing"
		fi
	done
	[ $failed -eq 0 ] || exit 1
	exit $st
}

test_linux_sigkill() {
	img=/tmp/virtio-k.img
	out=/tmp/virtio-k.out
	head -c 4194304 /dev/zero >"$img"
	: >"$out"
	linux -m 256M -d "$img" -p "quiet trapeze.test=sigkill" >"$out" 2>/tmp/virtio-k.err &
	pid=$!
	i=0
	while ! grep -q '@@L2-SYNCED' "$out" && kill -0 "$pid" 2>/dev/null && [ $i -lt 900 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	# Right after the guest's sync returned: no chance for trapeze to tidy up.
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	st=$?
	cat "$out"
	cat /tmp/virtio-k.err >&2
	say "trapeze ended with status $st (137: SIGKILL)"
	if [ "$(region "$img" 16 16 4096)" = "$(pattern_md5 65536)" ]; then
		say "after SIGKILL the file holds the synced data"
	else
		bad "after SIGKILL the synced data is not in the file"
	fi
	[ $st -eq 137 ] || bad "trapeze was not killed by SIGKILL"
	exit $failed
}

case "${1:-}" in
fw) test_fw ;;
ro-file) test_ro_file ;;
locked) test_locked ;;
linux-devices) test_linux_devices ;;
linux-smp) test_linux_smp ;;
linux-sigkill) test_linux_sigkill ;;
*) echo "usage: virtio-nested.sh fw|ro-file|locked|linux-devices|linux-smp|linux-sigkill" >&2
   exit 2 ;;
esac
