#!/usr/bin/env bash
# Runs trapeze's benchmarks (bench/README.md): builds the two helper programs
# (bench/spawn.c, bench/kvm_limit.c) into build/bench/, then bench/bench.py,
# which prints a Markdown table and writes bench/results/latest.{json,png}.
# Arguments go to bench.py (--rounds N, --only LIST, --no-q35, --help).
# `make bench` runs this after building trapeze and the guests; run directly,
# it builds them itself.
set -euo pipefail
cd "$(dirname "$0")/.."

CC=${CC:-gcc}
CFLAGS=(-O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror)

if [ -z "${MAKELEVEL:-}" ]; then
	make -s all
fi
mkdir -p build/bench
for prog in spawn kvm_limit; do
	if [ ! -x "build/bench/$prog" ] || [ "bench/$prog.c" -nt "build/bench/$prog" ]; then
		"$CC" "${CFLAGS[@]}" -o "build/bench/$prog" "bench/$prog.c"
	fi
done
exec python3 bench/bench.py "$@"
