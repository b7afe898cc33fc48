#!/usr/bin/env bash
# Runs the nested test table (tests/nested/tests.list) on hardware-KVM
# semantics and ends with one line:  nested: N passed, N failed
#
# usage: tests/nested/run.sh [TEST...]     (default: every test of the table)
#
# The table is tests/nested/tests.list plus the rows of the boot-test table
# tests/boot/table.txt that run a guest, as boot.NAME (import-boot-table.sh;
# a row of tests.list with the same name replaces the imported one).
#
# Modes:
#   direct  the host CPU has vmx or svm and /dev/kvm exists: the batch runs
#           here, against the host's KVM.
#   nested  otherwise (this project's machines: kvm_pvm, no vmx/svm): QEMU
#           in software emulation (TCG) boots a stock Debian kernel on an
#           AMD CPU with SVM and nested paging (L1); its kvm-amd gives a
#           /dev/kvm with hardware semantics and the batch runs in there.
# Environment: NESTED_MODE=direct|nested (skips detection), NESTED_TESTS=FILE
# (another table), NESTED_BOOT_TABLE=FILE|none (the boot table to import, or
# none), NESTED_TIMEOUT=S (overall limit), NESTED_KERNEL=VERSION
# (L1 kernel), NESTED_MEM=MiB (L1 RAM, default 6144: the boot table has a
# guest with RAM above 4 GiB, and trapeze refuses more guest RAM than its
# host has; TCG allocates lazily, so it costs little), NESTED_VERBOSE=1 (print the L1 console at the end); for
# debugging this runner: NESTED_QEMU=PATH, NESTED_CPU=MODEL (default
# EPYC-Rome,+svm), NESTED_APPEND=ARGS (more L1 kernel arguments).
#
# Every way of going wrong is a failed test with a reason, never a hang:
# QEMU or the kernel missing, L1 panicking, the modules or /dev/kvm missing
# in L1, a test outliving its timeout, a test that never ran, and the
# overall timeout. Logs: build/nested/{results,console}.log.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo" || exit 1
# shellcheck source=tests/nested/lib.sh
. "$here/lib.sh"

out=build/nested
results=$out/results.log
console=$out/console.log
active=$out/tests.active
mkdir -p "$out" || exit 1
# One run at a time per tree: every run writes the same files in build/nested.
exec 9>"$out/.lock"
if command -v flock >/dev/null && ! flock -w 1800 9; then
	echo "nested: another run.sh held $out/.lock for 30 minutes"
	echo "nested: 0 passed, 1 failed"
	exit 1
fi
rm -f "$results" "$console" "$out/qemu.err" "$out/build.log"

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

secs() {	# milliseconds as seconds with two decimals
	printf '%d.%02d' $(($1 / 1000)) $(($1 % 1000 / 10))
}

t_start=$(now_ms)

# --- the table -------------------------------------------------------------
list=${NESTED_TESTS:-$here/tests.list}
if [ ! -r "$list" ]; then
	echo "nested: cannot read test table $list"
	echo "nested: 0 passed, 1 failed"
	exit 1
fi
full=$out/tests.full
cp "$list" "$full"
boot_table=${NESTED_BOOT_TABLE:-tests/boot/table.txt}
if [ "$boot_table" != none ]; then
	own=$(sh "$here/batch.sh" --names "$list" | cut -d' ' -f1 | tr '\n' ' ')
	{
		echo "# imported from $boot_table"
		"$here/import-boot-table.sh" "$boot_table" 60 "$own"
	} >>"$full"
fi
if [ $# -gt 0 ]; then
	sh "$here/batch.sh" --only "$*" "$full" >"$active"
else
	cp "$full" "$active"
fi
names=()
declare -A tmo=()
while read -r n t; do
	names+=("$n")
	tmo[$n]=$t
done < <(sh "$here/batch.sh" --names "$active")
for want in "$@"; do
	if [ -z "${tmo[$want]+x}" ]; then
		echo "nested: no test named '$want' in $full"
		echo "nested: 0 passed, 1 failed"
		exit 2
	fi
done
if [ ${#names[@]} -eq 0 ]; then
	echo "nested: the table $list has no tests"
	echo "nested: 0 passed, 1 failed"
	exit 1
fi

overall=${NESTED_TIMEOUT:-}
if [ -z "$overall" ]; then
	# L1 boot allowance plus every test's own limit and its kill grace time.
	overall=120
	for n in "${names[@]}"; do
		overall=$((overall + ${tmo[$n]:-60} + 5))
	done
fi

# --- mode ------------------------------------------------------------------
mode=${NESTED_MODE:-}
if [ -z "$mode" ]; then
	if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -c /dev/kvm ]; then
		mode=direct
	else
		mode=nested
	fi
fi

fatal=""	# why nothing could run (every test fails with it)
run_rc=0	# exit status of the batch (direct) or of timeout+QEMU (nested)
l1_up_ms=""	# host time when L1's /init printed its first marker
stalled=""	# the test during which L1 stopped responding (follow)

# Prints BEGIN and RESULT markers as they arrive, until process $1 is gone;
# notes when L1 came up. Polls: the markers arrive in a file.
follow() {
	local pid=$1 seen=0 total line current="" limit last
	last=$(now_ms)
	while :; do
		local alive=1
		kill -0 "$pid" 2>/dev/null || alive=0
		if [ -f "$results" ]; then
			total=$(wc -l <"$results")
			if [ "$total" -gt "$seen" ]; then
				last=$(now_ms)
				while IFS= read -r line; do
					line=${line%$'\r'}
					case "$line" in
					@@NESTED-L1\ *)
						[ -n "$l1_up_ms" ] || l1_up_ms=$(now_ms)
						echo "  L1 up after $(secs $((l1_up_ms - t_qemu)))s: ${line#@@NESTED-L1 }" ;;
					@@NESTED-SETUP\ *) echo "  setup: ${line#@@NESTED-SETUP }" ;;
					@@NESTED-BEGIN\ *)
						current=${line#@@NESTED-BEGIN }
						echo "  run:  $current" ;;
					@@NESTED-RESULT\ *)
						current=""
						echo "  done: ${line#@@NESTED-RESULT }" ;;
					esac
				done < <(sed -n "$((seen + 1)),${total}p" "$results")
				seen=$total
			fi
		fi
		[ "$alive" -eq 1 ] || break
		# A test's watchdog inside L1 reports within its timeout plus a few
		# seconds. Silence far beyond that means L1 itself stopped (a wedged
		# emulated CPU): end QEMU now instead of waiting for the overall limit.
		limit=180	# L1 boot and setup, or the gap between two tests
		[ -n "$current" ] && limit=$(( ${tmo[$current]:-60} + 60 ))
		if [ $(( $(now_ms) - last )) -gt $((limit * 1000)) ]; then
			stalled=${current:-"(between tests)"}
			echo "  L1 silent for ${limit}s during $stalled: stopping QEMU"
			kill -TERM "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			break
		fi
		sleep 0.2
	done
}

stop_child() {
	[ -n "${child:-}" ] && kill -TERM "$child" 2>/dev/null
	exit 130
}
trap stop_child INT TERM

kver=""
if [ "$mode" = direct ]; then
	echo "mode: direct"
	echo "  host: $(grep -owE 'vmx|svm' /proc/cpuinfo | head -n 1 || echo 'no vmx/svm (NESTED_MODE=direct)'), KVM: $(test -d /sys/module/kvm_pvm && echo kvm_pvm || echo hardware)"
	if nested_list_uses_l2 "$active" && ! "$here/build-l2.sh" >"$out/build.log" 2>&1; then
		fatal="building the L2 payload failed: $(tail -n 1 "$out/build.log")"
	fi
	if [ -z "$fatal" ]; then
		t_qemu=$(now_ms)
		timeout -k 10 "$overall" env ROOT="$repo" TRAPEZE="$repo/build/trapeze" \
			FW="$repo/build/guest-firmware" L2="$repo/$out/l2" \
			sh "$here/batch.sh" "$repo/$active" "$repo/$out/work" >"$results" 2>&1 &
		child=$!
		follow "$child"
		wait "$child"
		run_rc=$?
		child=""
	fi
elif [ "$mode" = nested ]; then
	echo "mode: nested (QEMU TCG, SVM)"
	qemu=$(command -v "${NESTED_QEMU:-qemu-system-x86_64}") ||
		fatal="${NESTED_QEMU:-qemu-system-x86_64} not found (apt-get install qemu-system-x86)"
	if [ -z "$fatal" ]; then
		kver=$(nested_kernel_version 2>&1) || fatal=${kver#nested: }
	fi
	if [ -z "$fatal" ]; then
		t_build=$(now_ms)
		if NESTED_KERNEL=$kver "$here/build-l1.sh" "$active" >"$out/build.log" 2>&1; then
			grep -v '^$' "$out/build.log" | sed 's/^/  /'
			echo "  L1: kernel $kver, initramfs $(($(stat -c %s "$out/l1.cpio.gz") / 1024)) KiB, built in $(secs $(($(now_ms) - t_build)))s"
		else
			fatal="building the L1 initramfs failed: $(tail -n 1 "$out/build.log")"
		fi
	fi
	if [ -z "$fatal" ]; then
		# q35 with nothing but two UARTs: ttyS0 the kernel console, ttyS1
		# the markers. MTTCG runs one host thread per vCPU (both cores).
		t_qemu=$(now_ms)
		timeout -k 10 "$overall" "$qemu" -accel tcg,thread=multi -M q35 \
			-cpu "${NESTED_CPU:-EPYC-Rome,+svm}" -m "${NESTED_MEM:-6144}" -smp 2 -nodefaults -display none \
			-no-reboot -kernel "/boot/vmlinuz-$kver" -initrd "$out/l1.cpio.gz" \
			-append "console=ttyS0 panic=-1 quiet ${NESTED_APPEND:-}" \
			-serial "file:$console" -serial "file:$results" \
			</dev/null >"$out/qemu.err" 2>&1 &
		child=$!
		follow "$child"
		wait "$child"
		run_rc=$?
		child=""
	fi
else
	fatal="unknown NESTED_MODE '$mode' (direct or nested)"
fi
t_end=$(now_ms)

# --- results ---------------------------------------------------------------
touch "$results" "$console"
sed -i 's/\r$//' "$results"
# Without a second serial port in L1 the markers went to the console, among
# the kernel's messages: take them from there.
if ! grep -q '^@@NESTED-' "$results" && grep -qa '@@NESTED-' "$console"; then
	echo "nested: no markers on ttyS1; reading them from the console"
	grep -ao '@@NESTED-.*' "$console" | tr -d '\r' >"$results"
fi
marker() {	# the first line starting with "@@NESTED-$1"
	grep -m 1 -- "^@@NESTED-$1" "$results"
}
field() {	# field NAME LINE: the value of NAME=... (up to the next space)
	sed -nE "s/.* $1=([^ ]*).*/\\1/p" <<<"$2"
}

setup=$(marker "SETUP ")
panic=$(grep -m 1 -a 'Kernel panic' "$console" | tr -d '\r')
timed_out=0
{ [ "$run_rc" -eq 124 ] || [ "$run_rc" -eq 137 ]; } && timed_out=1

# Why a test has no result: the first cause that applies.
why_missing() {
	local n=$1
	if [ -n "$fatal" ]; then
		echo "$fatal"
	elif [ -n "${stalled:-}" ] && [ "$stalled" = "$n" ]; then
		echo "L1 stopped responding while it ran (no result within its timeout + 60 s; QEMU stopped)"
	elif [ -n "${stalled:-}" ]; then
		echo "did not run: L1 stopped responding during $stalled"
	elif [[ "$setup" == *"result=FAIL"* ]]; then
		echo "L1 setup failed: ${setup#*reason=}"
	elif [ "$timed_out" -eq 1 ]; then
		if marker "BEGIN $n\$" >/dev/null; then
			echo "overall timeout (${overall}s) while it ran"
		else
			echo "did not run: overall timeout (${overall}s)"
		fi
	elif [ -n "$panic" ]; then
		echo "L1 kernel panic: ${panic#*Kernel panic - }"
	elif [ "$mode" = nested ] && [ -z "$(marker 'L1 ')" ]; then
		echo "L1 never reached /init (QEMU exit status $run_rc: $(head -n 1 "$out/qemu.err"))"
	elif marker "BEGIN $n\$" >/dev/null; then
		echo "started but never finished (batch ended with status $run_rc)"
	else
		echo "did not run"
	fi
}

passed=0
failed=0
failed_names=()
echo
printf '  %-24s %-6s %6s %6s %9s  %s\n' TEST RESULT STATUS EXPECT TIME REASON
for n in "${names[@]}"; do
	r=$(marker "RESULT $n ")
	if [ -n "$r" ]; then
		res=$(field result "$r")
		ms=$(field elapsed_ms "$r")
		reason=""
		[[ "$r" == *" reason="* ]] && reason=${r#* reason=}
		printf '  %-24s %-6s %6s %6s %8ss  %s\n' "$n" "$res" "$(field status "$r")" \
			"$(field expect "$r")" "$(secs "${ms:-0}")" "$reason"
	else
		res=FAIL
		printf '  %-24s %-6s %6s %6s %9s  %s\n' "$n" FAIL - - - "$(why_missing "$n")"
	fi
	if [ "$res" = PASS ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names+=("$n")
	fi
done

for n in ${failed_names[@]+"${failed_names[@]}"}; do
	if grep -qE "^@@NESTED-(OUT|ERR) $n\| " "$results"; then
		echo
		echo "--- output of $n (stdout, then stderr):"
		sed -n "s/^@@NESTED-OUT $n| /    /p" "$results" | tail -n 40
		sed -n "s/^@@NESTED-ERR $n| /    stderr: /p" "$results" | tail -n 20
	fi
done
if [ "$failed" -gt 0 ] && [ "$mode" = nested ] && [ -z "$fatal" ]; then
	echo
	echo "--- L1 (tail of $console; markers in $results):"
	grep '^@@NESTED-LOG ' "$results" | sed 's/^@@NESTED-LOG /    dmesg: /' | tail -n 40
	tr -d '\r' <"$console" | tail -n 30 | sed 's/^/    /'
	# Less noise: TCG lists every EPYC feature it cannot emulate.
	grep -v "TCG doesn't support requested feature" "$out/qemu.err" |
		sed 's/^/    qemu: /' | tail -n 10
fi
if [ "${NESTED_VERBOSE:-0}" = 1 ] && [ "$mode" = nested ]; then
	echo
	echo "--- L1 console:"
	tr -d '\r' <"$console" | sed 's/^/    /'
fi

echo
timing="total ${mode} run $(secs $((t_end - t_start)))s"
if [ -n "$l1_up_ms" ]; then
	timing="$timing: L1 boot $(secs $((l1_up_ms - t_qemu)))s, then tests and poweroff $(secs $((t_end - l1_up_ms)))s"
fi
echo "$timing"
echo "nested: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
