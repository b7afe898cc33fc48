#!/bin/sh
# rsp-client.sh: a GDB remote serial protocol client in busybox sh, to test
# trapeze's --gdb stub where gdb itself is not installed: inside the nested
# test host (tests/nested/tests.list, rows gdb.rsp-*), whose initramfs has
# busybox but no gdb. tests/gdb/run.sh runs it directly as well. It lives
# in tests/boot/ because that directory is what the nested host copies.
#
# usage: busybox sh tests/boot/rsp-client.sh SCENARIO TRAPEZE RUN-ARGS...
#
# Starts `TRAPEZE run --gdb 0 RUN-ARGS...`, connects with `busybox nc -e`,
# and plays one conversation. Symbols come from the image after -k in
# RUN-ARGS (build/guest-firmware/gdbtarget.elf), read from its ELF64 symbol
# table with od. Scenarios:
#   basic      a bad checksum, no-ack mode, target.xml, registers, threads,
#              single-steps from the entry point, memory and register
#              writes, then continue to the guest's end (W55)
#   breakpoints  a software breakpoint on gdb_tick hit twice (stepping off
#              it in between, as gdb does), a hardware breakpoint, a write
#              watchpoint on gdb_counter (or its refusal on a host without
#              them), a breakpoint never hit, the guest's end (W55)
#   interrupt  continue, Ctrl-C (0x03) while the guest loops, a register,
#              kill (for tests/boot/spin.bin)
# Each result is one "rsp: ..." line on stderr; the exit status is trapeze's.
#
# internal: rsp-client.sh --talk SCENARIO ELF  (run by nc -e, the socket on stdin/stdout)
set -u

say() {
	echo "rsp: $*" >&2
}

# u OFFSET SIZE: an unsigned little-endian number of SIZE bytes of $ELF.
u() {
	od -An -tu"$2" -j "$1" -N "$2" "$ELF" | tr -d ' \n'
}

# sym NAME: the value of symbol NAME (decimal), from the ELF64 .symtab.
sym() {
	want=$1
	shoff=$(u 40 8)
	shentsize=$(u 58 2)
	shnum=$(u 60 2)
	symoff=
	i=0
	while [ "$i" -lt "$shnum" ]; do
		sh=$((shoff + i * shentsize))
		if [ "$(u $((sh + 4)) 4)" -eq 2 ]; then	# SHT_SYMTAB
			symoff=$(u $((sh + 24)) 8)
			symsize=$(u $((sh + 32)) 8)
			link=$(u $((sh + 40)) 4)
			entsize=$(u $((sh + 56)) 8)
		fi
		i=$((i + 1))
	done
	[ -n "$symoff" ] || return 1
	stroff=$(u $((shoff + link * shentsize + 24)) 8)
	n=$((symsize / entsize))
	j=1
	while [ "$j" -lt "$n" ]; do
		s=$((symoff + j * entsize))
		name=$(u "$s" 4)
		got=$(dd if="$ELF" bs=1 skip=$((stroff + name)) count=$((${#want} + 1)) 2>/dev/null |
			od -An -c | tr -d ' \n')
		if [ "$got" = "${want}\\0" ]; then
			u $((s + 8)) 8
			return 0
		fi
		j=$((j + 1))
	done
	return 1
}

# The checksum of a packet payload: the sum of its bytes modulo 256, in hex.
cksum() {
	str=$1
	sum=0
	while [ -n "$str" ]; do
		c=${str%"${str#?}"}
		sum=$(((sum + $(printf '%d' "'$c")) % 256))
		str=${str#?}
	done
	printf '%02x' "$sum"
}

send() {
	printf '$%s#%s' "$1" "$(cksum "$1")"
}

# Reads one packet into PKT (skipping acks). Fails at the end of the
# connection, or after 30 s without a byte: a stub that stops answering
# fails the test instead of hanging it.
recv() {
	p=
	state=0
	while IFS= read -r -t 30 -n 1 c; do
		case $state in
		0) [ "$c" = '$' ] && state=1 ;;
		1) if [ "$c" = '#' ]; then state=2; else p="$p$c"; fi ;;
		2) state=3 ;;
		3)
			PKT=$p
			return 0
			;;
		esac
	done
	PKT="(connection closed or silent for 30 s)"
	return 1
}

q() {
	send "$1"
	recv
}

# le HEX: a little-endian hex value (as in 'p' and 'm' replies) as a number.
le() {
	h=$1
	r=
	while [ -n "$h" ]; do
		r="${h%"${h#??}"}$r"
		h=${h#??}
	done
	printf '%d' "0x$r"
}

# The conversation every scenario starts with.
hello() {
	# A corrupted packet is refused with '-' (acks are still on).
	printf '$g#00'
	IFS= read -r -t 30 -n 1 c
	say "bad checksum answered '$c'"
	q QStartNoAckMode
	say "no-ack mode: $PKT"
	q 'qSupported:swbreak+;hwbreak+'
	case $PKT in *PacketSize=*) say "qSupported: PacketSize offered" ;; *) say "qSupported: $PKT" ;; esac
	q '?'
	say "stop at start: $PKT"
	q qfThreadInfo
	say "threads: $PKT"
}

basic() {
	counter=$(sym gdb_counter) || { say "no symbol gdb_counter in $ELF"; return 1; }
	ch=$(printf '%x' "$counter")
	q 'qXfer:features:read:target.xml:0,3fff'
	case $PKT in l*'<architecture>i386:x86-64</architecture>'*'</target>'*) say "target.xml: whole, x86-64" ;;
	*) say "target.xml: unexpected ${PKT%"${PKT#????????????????????}"}" ;; esac
	q g
	say "g: ${#PKT} hex digits"
	q 'vMustReplyEmpty'
	say "unknown packet answered '$PKT'"
	q 'p10'
	say "rip at start: 0x$(printf '%x' "$(le "$PKT")")"
	for i in 1 2 3; do
		q 'vCont;s:1'
		s1=$PKT
		q p10
		say "step $i: $s1 rip=0x$(printf '%x' "$(le "$PKT")")"
	done
	q "m$ch,8"
	say "gdb_counter=$(le "$PKT")"
	q "M$ch,8:0500000000000000"
	say "write gdb_counter: $PKT"
	q "m$ch,8"
	say "gdb_counter=$(le "$PKT")"
	q "M$ch,8:0000000000000000"
	q "P0=3412000000000000"
	say "write rax: $PKT"
	q p0
	say "rax=0x$(printf '%x' "$(le "$PKT")")"
	q 'm800000000000,8'
	say "non-canonical read: $PKT"
	q 'vCont;c'
	say "end: $PKT"
}

interrupt() {
	send 'vCont;c'	# no reply until the guest stops
	sleep 1
	printf '\003'
	recv
	say "after Ctrl-C: $PKT"
	q 'vCont;s:1'
	say "step: $PKT"
	send k
	say "killed"
}

breakpoints() {
	tick=$(sym gdb_tick) || { say "no symbol gdb_tick in $ELF"; return 1; }
	counter=$(sym gdb_counter) || { say "no symbol gdb_counter in $ELF"; return 1; }
	mainf=$(sym main) || { say "no symbol main in $ELF"; return 1; }
	th=$(printf '%x' "$tick")
	ch=$(printf '%x' "$counter")
	mh=$(printf '%x' "$mainf")

	q "Z0,$th,1"
	say "Z0 gdb_tick: $PKT"
	q 'vCont;c'
	say "stop: $PKT"
	q p10
	[ "$(le "$PKT")" -eq "$tick" ] && say "rip is gdb_tick" || say "rip is 0x$(printf '%x' "$(le "$PKT")"), not gdb_tick"
	q "m$ch,8"
	say "gdb_counter=$(le "$PKT")"

	# Off the breakpoint as gdb does it: remove, step, insert again.
	q "z0,$th,1"
	say "z0: $PKT"
	q 'vCont;s:1'
	say "step: $PKT"
	q p10
	rip=$(le "$PKT")
	if [ "$rip" -gt "$tick" ] && [ "$rip" -lt $((tick + 16)) ]; then
		say "stepped one instruction into gdb_tick"
	else
		say "stepped to 0x$(printf '%x' "$rip")"
	fi
	q "Z0,$th,1"
	q 'vCont;c'
	say "stop: $PKT"
	q "m$ch,8"
	say "gdb_counter=$(le "$PKT")"
	q "z0,$th,1"
	q 'vCont;s:1'

	q "Z1,$th,1"
	say "Z1 gdb_tick: $PKT"
	q 'vCont;c'
	say "stop: $PKT"
	q "m$ch,8"
	say "gdb_counter=$(le "$PKT")"
	q "z1,$th,1"
	say "z1: $PKT"

	q "Z2,$ch,8"
	if [ "$PKT" = OK ]; then
		say "Z2 gdb_counter: OK"
		q 'vCont;c'
		case $PKT in *"watch:$ch;"*) say "watchpoint hit on gdb_counter" ;; *) say "stop: $PKT" ;; esac
		q "m$ch,8"
		say "gdb_counter=$(le "$PKT")"
		q "z2,$ch,8"
		say "z2: $PKT"
	else
		say "Z2 refused: $PKT"
	fi

	# Never hit again: the guest's own int3 (leaving CPL 3) must reach the guest.
	q "Z0,$mh,1"
	say "Z0 main: $PKT"
	q 'vCont;c'
	say "end: $PKT"
}

if [ "${1:-}" = "--talk" ]; then
	ELF=$3
	hello
	case $2 in
	basic | breakpoints | interrupt) "$2" ;;
	*) say "unknown scenario '$2'" ;;
	esac
	exit
fi

usage="usage: rsp-client.sh basic|breakpoints|interrupt TRAPEZE RUN-ARGS..."
scenario=${1:?$usage}
TRAPEZE=${2:?$usage}
shift 2
ELF=/nonexistent
prev=
for a in "$@"; do
	[ "$prev" = -k ] && ELF=$a
	prev=$a
done
dir=$(mktemp -d)
# The nested host starts with its loopback down; elsewhere this fails harmlessly.
ip link set lo up 2>/dev/null || true
"$TRAPEZE" run --gdb 0 "$@" >"$dir/out" 2>"$dir/err" &
pid=$!
port=
n=0
while [ -z "$port" ] && [ "$n" -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
	sleep 0.1
	port=$(sed -n 's/.*waiting for gdb on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/err")
	n=$((n + 1))
done
if [ -z "$port" ]; then
	say "trapeze is not listening"
	cat "$dir/err" >&2
	kill "$pid" 2>/dev/null
	rm -rf "$dir"
	exit 1
fi
busybox nc 127.0.0.1 "$port" -e busybox sh "$0" --talk "$scenario" "$ELF"
# The conversation is over: trapeze must end by itself (W55) or be told to.
n=0
while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
if kill -0 "$pid" 2>/dev/null; then
	say "trapeze still running 10 s after the conversation: stopping it"
	kill "$pid"
fi
wait "$pid"
status=$?
cat "$dir/out"
cat "$dir/err" >&2
say "trapeze exit status $status"
rm -rf "$dir"
exit "$status"
