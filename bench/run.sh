#!/usr/bin/env bash
# Runs trapeze's benchmarks (bench/README.md): builds the helper programs
# (bench/spawn.c, bench/kvm_limit.c, bench/blk_limit.c) and the virtio-blk
# guest (guest-firmware/guests/bench_blk*.[cS], ELF32 with a PVH note, like
# the bench guests of guest-firmware/firmware.mk) into build/bench/, then
# bench/bench.py, which prints a Markdown table and writes
# bench/results/latest.{json,png}.
# Arguments go to bench.py (--rounds N, --only LIST, --no-q35, --help).
# `make bench` runs this after building trapeze and the guests; run directly,
# it builds them itself.
set -euo pipefail
cd "$(dirname "$0")/.."

CC=${CC:-gcc}
CFLAGS=(-O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror)
out=build/bench

if [ -z "${MAKELEVEL:-}" ]; then
	make -s all
fi
# The Linux boot's kernel (what `make linux-kernel` links), if not there yet.
if [ ! -e build/linux/vmlinuz ]; then
	scripts/link-kernel.sh build/linux || echo "bench: no Debian kernel: no Linux rows" >&2
fi
mkdir -p "$out/fw"
for prog in spawn kvm_limit blk_limit; do
	if [ ! -x "$out/$prog" ] || [ "bench/$prog.c" -nt "$out/$prog" ]; then
		"$CC" "${CFLAGS[@]}" -pthread -o "$out/$prog" "bench/$prog.c"
	fi
done

# bench_blk.elf: firmware.mk's 32-bit guest flags, the 32-bit runtime, the
# tiny guests' virtio library and the PVH note, linked with link32pvh.ld.
fw=guest-firmware
fw_srcs=("$fw"/lib/{entry32.S,serial.c,exit.c,string.c,pvh_note.S,virtio_pci.c}
	"$fw"/guests/bench_blk.c "$fw"/guests/bench_blk_loop.S)
fw_deps=("${fw_srcs[@]}" "$fw"/lib/{virtio.h,rt.h,io.h,bench.h,link32pvh.ld} bench/run.sh)
stale=0
for f in "${fw_deps[@]}"; do
	[ -f "$out/bench_blk.elf" ] && [ ! "$f" -nt "$out/bench_blk.elf" ] || stale=1
done
if [ "$stale" = 1 ]; then
	objs=()
	for src in "${fw_srcs[@]}"; do
		obj=$out/fw/$(basename "${src%.*}").o
		"$CC" -O2 -g -std=c11 -ffreestanding -nostdlib -static -fno-pic -no-pie \
			-fno-stack-protector -mno-red-zone -mgeneral-regs-only \
			-fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
			-fcf-protection=none -Wall -Wextra -Werror -I"$fw/lib" -m32 -march=i686 \
			-c -o "$obj" "$src"
		objs+=("$obj")
	done
	ld -nostdlib -static --build-id=none -z max-page-size=4096 -z noexecstack \
		-m elf_i386 -T "$fw/lib/link32pvh.ld" -o "$out/bench_blk.elf" "${objs[@]}"
fi
exec python3 bench/bench.py "$@"
