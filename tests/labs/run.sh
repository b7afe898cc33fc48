#!/usr/bin/env bash
# Runs the teaching labs of docs/labs/ without a student at the keyboard and
# checks the observations each lab's README asks for, printing the numbers
# behind every check. Ends with one line:
#   labs: N passed, N failed
# and exits non-zero when a check failed. Checks that cannot run here (a
# piece still to be written, no nested host) are listed as SKIP
# and counted in neither number.
#
# usage: tests/labs/run.sh [LAB...]     LAB is 1-6 (default: all)
#
# Each lab guest runs directly on this host's /dev/kvm and, when this host
# is kvm_pvm (no vmx/svm) and QEMU is installed, a second time inside the
# nested host of tests/nested (hardware-style KVM with nested paging), so the
# labs that differ between software and hardware virtualization check both.
# Environment: LABS_NESTED=auto|yes|no (default auto; yes makes a missing
# nested host a failure), LABS_NESTED_TIMEOUT=S (the nested run's overall
# limit, default 300).
#
# Every run has a watchdog: trapeze's own --timeout, and timeout(1) around
# it. Traces go to files; a small awk program (SUMMARIZE) keeps every line
# but the serial port's and counts those per POST-code phase instead, so the
# same checks read the direct runs and the nested ones (whose output comes
# back through the nested runner, 200 lines at most).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo" || exit 1

TRAPEZE=build/trapeze
FW=build/guest-firmware
work=$(mktemp -d "${TMPDIR:-/tmp}/trapeze-labs.XXXXXX") || exit 1
# The nested runner's markers are kept through a hard link in build/ (the
# same file system as build/nested): see run_nested.
keep=build/labs/nested-results.$$
trap 'rm -rf "$work"; rm -f "$keep"' EXIT
# Test names in the nested table are unique to this run: labs-PID.NAME.
tag=labs-$$

passed=0
failed=0
skipped=0

# --- the runs ---------------------------------------------------------------
# NAME | EXPECTED STATUS | TIMEOUT-S | HOST CPUS (all, or 2: pinned to two) |
# TRACE SPEC (- for none) | trapeze run arguments (paths from the repo root) |
# --step script (the name of a STEP_* variable below, or -)
RUNS=(
	"lab1|99|30|all|io|--stats -k $FW/lab_trap.elf|-"
	"lab1-step|10|30|all|-|--step=io,dev=serial -k $FW/lab_trap.elf|STEP_LAB1"
	"lab2|101|30|all|-|-k $FW/lab_sensitive.elf|-"
	"lab3|103|30|all|-|--stats -k $FW/lab_memory.elf|-"
	"lab3-step|103|30|all|-|--step=io,dev=post-code -k $FW/lab_memory.elf|STEP_LAB3"
	"lab3-dirty|103|30|all|-|--dirty-log -k $FW/lab_memory.elf|-"
	"lab4|105|30|all|io|-k $FW/lab_uart.elf|-"
	"lab4-virtio|111|30|all|io,mmio|--console virtio --stats -k $FW/lab_virtio.elf|-"
	"lab5-1|107|30|all|mmio|--stats -c 1 -k $FW/lab_smp.elf|-"
	"lab5-4|107|60|2|mmio|--stats -c 4 -k $FW/lab_smp.elf|-"
	"lab6|109|30|all|io|--flat 0x7c00 -k $FW/lab_boot.bin|-"
	"lab6-step|109|30|all|-|--step=io,dev=post-code --flat 0x7c00 -k $FW/lab_boot.bin|STEP_LAB6"
)

# The --step scripts the labs give students (printf formats: no '%', no
# quotes). Lab 1: ask the VMM's bus who owns three ports, stop at the first
# two serial exits, read the registers, quit (status 10). They are used
# through ${!step}.
# shellcheck disable=SC2034
STEP_LAB1='dev 0x3f8\ndev 0x71\ndev 0x21\ncontinue\ncontinue\nregs\nquit\n'
# Lab 3: stop after the passes (POST code 3) and translate from the VMM's side.
# shellcheck disable=SC2034
STEP_LAB3='continue\nwalk 0x8000005008\ntr 0x8000005008\ntr 0x8040005008\nxv 0x8000005008 8\ncontinue\n'
# Lab 6: stop at each stage's POST code, show the modes, single-step once.
# shellcheck disable=SC2034
STEP_LAB6='continue\nsregs\nstepi\ncontinue\nsregs\ncontinue\nsregs\ncontinue\nsregs\ncontinue\n'

# Trace summarizer: serial lines become per-phase counts ("# serial
# phase=0x01 out=N"), a phase being what the last POST code (port 0x80)
# wrote; every other line is kept. No single quotes or '|' inside: it is
# also pasted into the nested table.
# shellcheck disable=SC2016
SUMMARIZE='BEGIN { ph = "0x00" }
/dev=post-code/ { for (i = 1; i <= NF; i++) if ($i ~ /^data=/) ph = substr($i, 6) }
/dev=serial/ { d = ($0 ~ / out port=/) ? "out" : "in"; s[ph " " d]++; next }
{ print }
END { for (k in s) { split(k, a, " "); print "# serial phase=" a[1] " " a[2] "=" s[k] } }'

# --- reporting --------------------------------------------------------------
pass() { echo "  PASS $*"; passed=$((passed + 1)); }
fail() { echo "  FAIL $*"; failed=$((failed + 1)); }
skip() { echo "  SKIP $*"; skipped=$((skipped + 1)); }

# check DESCRIPTION TEST-ARGS...: PASS when `test TEST-ARGS` holds.
check() {
	local what=$1
	shift
	if test "$@" 2>/dev/null; then pass "$what"; else fail "$what"; fi
}

# --- reading outputs --------------------------------------------------------
# kv FILE REGEX KEY: the value of KEY=VALUE on the first line matching REGEX.
kv() {
	awk -v re="$2" -v k="$3" '$0 ~ re {
		for (i = 1; i <= NF; i++)
			if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit }
	}' "$1" 2>/dev/null
}

# num VALUE: VALUE as a decimal number (hex with 0x allowed), or empty.
num() {
	case "${1:-}" in
	'' | *[!0-9a-fA-Fx]*) echo "" ;;
	*) echo $(($1)) ;;
	esac
}

# kvm_counter FILE vcpu|vm NAME: one of KVM's counters from a --stats report.
kvm_counter() {
	awk -v sec="$2" -v k="$3" '
		/^KVM vCPU counters/ { s = "vcpu"; next }
		/^KVM VM counters/ { s = "vm"; next }
		s == sec && $1 == k { print $2; exit }' "$1" 2>/dev/null
}

# stats_total FILE: the "all" row of the --stats exit-reason table.
stats_total() {
	awk '$1 == "all" && $2 ~ /^[0-9]+$/ { print $2; exit }' "$1" 2>/dev/null
}

# serial_count TRACE PHASE DIR: serial exits in a phase (0x00 before any POST code).
serial_count() {
	local v
	v=$(awk -v p="$2" -v d="$3" '$1 == "#" && $2 == "serial" && $3 == "phase=" p {
		if (index($4, d "=") == 1) print substr($4, length(d) + 2) }' "$1" 2>/dev/null)
	echo "${v:-0}"
}

# serial_total TRACE DIR: serial exits of every phase.
serial_total() {
	awk -v d="$2" '$1 == "#" && $2 == "serial" && index($4, d "=") == 1 {
		n += substr($4, length(d) + 2) } END { print n + 0 }' "$1" 2>/dev/null
}

# --- running ----------------------------------------------------------------
# run_direct NAME EXPECT TIMEOUT CPUS TRACE ARGS STEP: one run on this host
# into $work/direct/NAME.{out,err,rc,trace,cpus}.
run_direct() {
	local name=$1 tmo=$3 cpus=$4 trace=$5 args=$6 step=$7
	local d=$work/direct pin=() ncpu
	ncpu=$(nproc 2>/dev/null || echo 1)
	if [ "$cpus" = 2 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
		pin=(taskset -c "0,1")
		ncpu=2
	fi
	echo "$ncpu" >"$d/$name.cpus"
	local targs=()
	[ "$trace" != - ] && targs=("--trace=$trace" --trace-file "$d/$name.raw")
	if [ "$step" != - ]; then
		# shellcheck disable=SC2059 # the script is a printf format
		printf "${!step}" >"$d/$name.step"
		targs+=(--step-script "$d/$name.step")
	fi
	# shellcheck disable=SC2086 # args is a word list without globs
	timeout -k 5 $((tmo + 10)) "${pin[@]}" "$TRAPEZE" run --timeout "$tmo" "${targs[@]}" \
		$args </dev/null >"$d/$name.out" 2>"$d/$name.err"
	echo $? >"$d/$name.rc"
	if [ "$trace" != - ]; then
		awk "$SUMMARIZE" "$d/$name.raw" >"$d/$name.trace" 2>/dev/null
	else
		: >"$d/$name.trace"
	fi
}

# The nested table for the selected runs: the same commands, the trace
# summarized inside L1 and appended to stdout after a marker line.
nested_table() {
	local r name expect tmo cpus trace args step cmd pre=""
	for r in "${SELECTED[@]}"; do
		IFS='|' read -r name expect tmo cpus trace args step <<<"$r"
		pre=""
		if [ "$step" != - ]; then
			pre="printf '${!step}' >/tmp/$name.step; "
			args="--step-script /tmp/$name.step $args"
		fi
		if [ "$trace" = - ]; then
			cmd="$pre\"\$TRAPEZE\" run --timeout $tmo $args"
		else
			cmd="$pre\"\$TRAPEZE\" run --timeout $tmo --trace=$trace --trace-file /tmp/$name.raw $args; s=\$?; echo @@TRACE-BEGIN; awk '$(tr '\n' ' ' <<<"$SUMMARIZE")' /tmp/$name.raw; exit \$s"
		fi
		echo "$tag.$name | $expect | $((tmo + 30)) | | $cmd"
	done
}

# Splits the nested runner's results.log into $work/nested/NAME.* files.
nested_split() {
	local log=$1 d=$work/nested r name cpus
	cpus=$(sed -n 's/^@@NESTED-L1 .*cpus=\([0-9]*\).*/\1/p' "$log" | head -n 1)
	for r in "${SELECTED[@]}"; do
		name=${r%%|*}
		awk -v t="$tag.$name" -v out="$d/$name.out" -v tr="$d/$name.trace" -v err="$d/$name.err" '
			{ sub(/\r$/, "") }
			index($0, "@@NESTED-OUT " t "| ") == 1 {
				line = substr($0, length("@@NESTED-OUT " t "| ") + 1)
				if (line == "@@TRACE-BEGIN") { intrace = 1; next }
				print line > (intrace ? tr : out)
			}
			index($0, "@@NESTED-ERR " t "| ") == 1 {
				print substr($0, length("@@NESTED-ERR " t "| ") + 1) > err
			}' "$log"
		touch "$d/$name.out" "$d/$name.err" "$d/$name.trace"
		sed -n "s/^@@NESTED-RESULT $tag\.$name status=\([0-9-]*\) .*/\1/p" "$log" | head -n 1 >"$d/$name.rc"
		echo "${cpus:-2}" >"$d/$name.cpus"
	done
}

# Runs the nested table and keeps its markers in $keep. The runner writes
# them to build/nested/results.log, and the next run in this tree (another
# engineer's, waiting on the runner's lock) removes that file as soon as
# ours ends; so while ours runs, once the file shows one of this run's test
# names, it is hard-linked to $keep, which outlives the removal.
run_nested() {
	local results=build/nested/results.log pid
	mkdir -p build/labs || return 1
	rm -f "$keep"
	# A generous overall limit (L1 boots in 5-15 s, the labs take 5-10 s
	# there): a stuck L1 costs minutes, not the nested runner's default.
	NESTED_TESTS="$work/nested.list" NESTED_BOOT_TABLE=none \
		NESTED_TIMEOUT=${LABS_NESTED_TIMEOUT:-300} tests/nested/run.sh \
		>"$work/nested.log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ ! -e "$keep" ] && grep -qF "@@NESTED-BEGIN $tag." "$results" 2>/dev/null; then
			ln "$results" "$keep" 2>/dev/null || cp "$results" "$keep"
		fi
		sleep 0.2
	done
	wait "$pid"
	# A copy (no hard link across file systems) may lack the last lines.
	if grep -qF "@@NESTED-BEGIN $tag." "$results" 2>/dev/null && ! [ "$results" -ef "$keep" ]; then
		cp "$results" "$keep"
	fi
}

# status_ok DIR NAME EXPECT: the run ended with the guest's own exit status.
status_ok() {
	local rc
	rc=$(cat "$1/$2.rc" 2>/dev/null)
	if [ "$rc" = "$3" ]; then
		pass "$2: exit status $rc, as expected"
		return 0
	fi
	fail "$2 exit status ${rc:-none}, expected $3; its output:"
	sed 's/^/      /' "$1/$2.out" "$1/$2.err" 2>/dev/null | tail -n 15
	return 1
}

# --- lab 1: trap and emulate -------------------------------------------------
check_lab1() {
	local d=$1 kind=$2 out=$1/lab1.out err=$1/lab1.err tr=$1/lab1.trace
	status_ok "$d" lab1 99 || return
	local bytes thr lsr posts rtc_guest rtc_trace
	bytes=$(wc -c <"$out")
	thr=$(serial_total "$tr" out)
	lsr=$(serial_total "$tr" in)
	check "lab1: one traced OUT to 0x3f8 (THR) per byte the guest printed ($thr exits, $bytes bytes)" \
		"$thr" -eq "$bytes"
	check "lab1: one traced IN from 0x3fd (LSR) before each byte: the UART is always ready ($lsr reads)" \
		"$lsr" -eq "$thr"
	posts=$(awk '/ out port=0x80 .*dev=post-code/ { for (i = 1; i <= NF; i++) if ($i ~ /^data=/) printf "%s ", substr($i, 6) }' "$tr")
	check "lab1: the 4 POST-code writes appear in order, emulated by trapeze (data: $posts)" \
		"$posts" = "0x01 0x02 0x03 0x04 "
	rtc_guest=$(num "$(awk '/RTC seconds register/ { print $NF }' "$out")")
	rtc_trace=$(num "$(awk '/ in port=0x71 .*dev=rtc/ { for (i = 1; i <= NF; i++) if ($i ~ /^data=/) v = substr($i, 6) } END { print v }' "$tr")")
	check "lab1: the RTC seconds the guest printed are what trapeze's RTC answered on port 0x71 ($rtc_guest = $rtc_trace)" \
		-n "$rtc_guest" -a "$rtc_guest" = "$rtc_trace"
	check "lab1: the unclaimed port 0x230 read all-ones, answered by trapeze's bus" \
		-n "$(grep -E ' in port=0x230 size=1 data=0xff dev=unclaimed' "$tr")"
	check "lab1: the PIC mask round trip (port 0x21) never reached trapeze: KVM's in-kernel PIC ($(grep -c 'port=0x21 ' "$tr") traced, guest read $(awk '/PIC mask/ { print $NF }' "$out"))" \
		"$(grep -c 'port=0x21 ' "$tr")" -eq 0 -a "$(awk '/PIC mask/ { print $NF }' "$out")" = 0xa5
	local other traced total
	other=$(grep -E '^vcpu[0-9]+ ' "$tr" | grep -cv ' IO ')
	traced=$(($(grep -cE '^vcpu[0-9]+ ' "$tr") + thr + lsr))
	total=$(stats_total "$err")
	check "lab1: every exit trapeze saw was port I/O: no CPUID or MSR exits reach userspace ($other others; $traced traced = $total in --stats)" \
		"$other" -eq 0 -a "$traced" = "$total"
	local ncpuid kexits
	ncpuid=$(awk '/CPUIDs at CPL 3 took/ { print $3 }' "$out")
	kexits=$(kvm_counter "$err" vcpu exits)
	if [ -z "$kexits" ]; then
		skip "lab1: KVM's exit counter (this host offers no KVM_GET_STATS_FD)"
	else
		check "lab1: KVM counted at least $ncpuid more exits than trapeze saw: the CPUIDs, handled in the kernel (KVM $kexits, trapeze $total)" \
			-n "$ncpuid" -a $((kexits - total)) -ge "${ncpuid:-1}"
	fi
	local per add
	per=$(awk '/CPUIDs at CPL 3 took/ { gsub(/[^0-9]/, "", $12); print $12 }' "$out")
	add=$(awk '/loop with an ADD took/ { print $10 }' "$out")
	check "lab1: a CPUID costs a trip to the hypervisor: $per TSC ticks each, while $ncpuid ADDs took $add in all" \
		-n "$per" -a "${per:-0}" -gt $((20 * (${add:-0} / ${ncpuid:-1} + 1)))
	check "lab1: CPUID leaf 0x40000000 answered with KVM's signature" \
		-n "$(grep "signature 'KVMKVMKVM" "$out")"
	check_lab1_step "$d"
}

# Lab 1 with --step: the VMM's own view of ports, and of the registers at an exit.
check_lab1_step() {
	local d=$1 err=$1/lab1-step.err
	[ -e "$d/lab1-step.rc" ] || return
	status_ok "$d" lab1-step 10 || return
	check "lab1 --step: trapeze's bus has the UART at 0x3f8 and the RTC at 0x71" \
		-n "$(grep -E '^  pio  0x3f8: serial' "$err")" -a -n "$(grep -E '^  pio  0x71: rtc' "$err")"
	check "lab1 --step: port 0x21 is not on trapeze's bus: the PIC lives in KVM ($(sed -n 's/^  pio  0x21: //p' "$err"))" \
		-n "$(grep -E '^  pio  0x21: in-kernel 8259 PIC' "$err")"
	local stop data rax rdx
	stop=$(grep '^stop: ' "$err" | tail -n 1)
	data=$(sed -n 's/.* out port=0x3f8 size=1 data=\(0x[0-9a-f]*\).*/\1/p' <<<"$stop")
	rax=$(awk '$1 == "rax" { print $2; exit }' "$err")
	rdx=$(awk '$1 == "rdx" { print $2; exit }' "$err")
	check "lab1 --step: stopped at an OUT to 0x3f8, the guest's AL holds the byte (data=$data, RAX=$rax) and DX the port (RDX=$rdx)" \
		-n "$data" -a -n "$rax" -a $((${rax:-0} & 0xff)) -eq $((${data:-0x100})) -a $((${rdx:-0} & 0xffff)) -eq $((0x3f8))
}

# --- lab 2: privileged and sensitive instructions ------------------------------
check_lab2() {
	local d=$1 kind=$2 out=$1/lab2.out
	status_ok "$d" lab2 101 || return
	local n gp
	n=$(grep -cE '^lab2: privileged [A-Z0-9_x]+ fault=' "$out")
	gp=$(grep -cE '^lab2: privileged [A-Z0-9_x]+ fault=#GP ' "$out")
	check "lab2: all $n privileged instructions at CPL 3 faulted with #GP into the guest's IDT ($gp of $n)" \
		"$n" -ge 12 -a "$gp" -eq "$n"
	local pushf popf popf_fault
	pushf=$(kv "$out" '^lab2: sensitive PUSHF ' cpl3)
	popf=$(kv "$out" '^lab2: sensitive POPF ' cpl3)
	popf_fault=$(kv "$out" '^lab2: sensitive POPF ' fault)
	check "lab2: POPF asking for IF=0, IOPL=3 at CPL 3 did nothing and raised nothing (flags before $pushf, after $popf, fault=$popf_fault)" \
		"$popf_fault" = none -a -n "$popf" -a "$popf" = "$pushf"
	local i fault same bad=""
	for i in SGDT SIDT SLDT STR SMSW; do
		fault=$(kv "$out" "^lab2: sensitive $i " fault)
		same=$(grep -c "^lab2: sensitive $i .* same$" "$out")
		[ "$fault" = none ] && [ "$same" -eq 1 ] || bad="$bad $i"
	done
	check "lab2: SGDT SIDT SLDT STR SMSW at CPL 3 raised no fault and returned the guest's own values${bad:+ (not:$bad)}" \
		-z "$bad"
	check "lab2: CPUID at CPL 3 raised no fault and answered as at CPL 0: KVM emulates it (leaf 1 ECX=$(kv "$out" '^lab2: sensitive CPUID ' cpl3))" \
		"$(kv "$out" '^lab2: sensitive CPUID ' fault)" = none -a -n "$(grep '^lab2: sensitive CPUID .* same$' "$out")"
	local t_pushf t_cli slow="" fast=""
	t_pushf=$(kv "$out" '^lab2: sensitive PUSHF ' ticks)
	t_cli=$(kv "$out" '^lab2: privileged CLI ' ticks)
	for i in SGDT SIDT SLDT STR SMSW; do
		local t
		t=$(kv "$out" "^lab2: sensitive $i " ticks)
		[ "${t:-0}" -ge $((50 * (t_pushf + 1))) ] && slow="$slow $i=$t" || fast="$fast $i=$t"
	done
	if [ "$kind" = kvm_pvm ]; then
		check "lab2 (kvm_pvm): SGDT..SMSW trapped and were emulated: each took >= 50x a native PUSHF ($t_pushf ticks):$slow$fast" \
			-z "$fast"
		check "lab2 (kvm_pvm): PUSHF at CPL 3 shows IF=1, the real CPU's flag, while the guest set IF=0 (cpl3=$pushf, guest=$(kv "$out" '^lab2: sensitive PUSHF ' guest))" \
			"$((${pushf:-0} & 0x200))" -ne 0
		check "lab2 (kvm_pvm): MOV from CS shows the host's user code selector, not the guest's ($(kv "$out" '^lab2: sensitive MOV_FROM_CS ' cpl3) vs $(kv "$out" '^lab2: sensitive MOV_FROM_CS ' guest))" \
			-n "$(grep '^lab2: sensitive MOV_FROM_CS .* differs$' "$out")"
	else
		check "lab2 (hardware): SGDT..SMSW ran natively: each took < 1/5 of a #GP round trip (CLI $t_cli ticks):$fast$slow" \
			-n "$fast" -a -z "$(for i in SGDT SIDT SLDT STR SMSW; do t=$(kv "$out" "^lab2: sensitive $i " ticks); [ "${t:-0}" -lt $((t_cli / 5)) ] || echo "$i"; done)"
		check "lab2 (hardware): PUSHF at CPL 3 shows the guest's own IF=0 (cpl3=$pushf)" \
			-n "$pushf" -a "$((${pushf:-0} & 0x200))" -eq 0
		check "lab2 (hardware): MOV from CS shows the guest's own selector ($(kv "$out" '^lab2: sensitive MOV_FROM_CS ' cpl3))" \
			-n "$(grep '^lab2: sensitive MOV_FROM_CS .* same$' "$out")"
	fi
}

# --- lab 3: memory virtualization ---------------------------------------------
check_lab3() {
	local d=$1 kind=$2 out=$1/lab3.out err=$1/lab3.err
	status_ok "$d" lab3 103 || return
	check "lab3: the software walk of the guest's 4-level tables gives gpa 0x4005008 ($(awk '/walk result/ { print $NF }' "$out"))" \
		"$(awk '/walk result/ { print $NF }' "$out")" = gpa=0x4005008
	check "lab3: windows A and B alias one guest-physical page (marker read back through B and at the gpa)" \
		"$(awk '/^lab3: alias/ { print ($4 == $8 && $4 == $12) }' "$out")" = 1
	check "lab3: the PTE's accessed and dirty bits were 0 before the touches and 1 after (set for the guest)" \
		"$(grep -c 'PT\[5\] before: accessed=0 dirty=0' "$out")$(grep -c 'PT\[5\] after: accessed=1 dirty=1' "$out")" = 11
	local p1 p2 p3 p4 p5 pf
	# Medians of the per-page times: a descheduled moment does not move them.
	p1=$(kv "$out" '^lab3: pass 1 ' median)
	p2=$(kv "$out" '^lab3: pass 2 ' median)
	p3=$(kv "$out" '^lab3: pass 3 ' median)
	p4=$(kv "$out" '^lab3: pass 4 ' median)
	p5=$(kv "$out" '^lab3: pass 5 ' median)
	echo "       median ticks per page: A first $p1, A again $p2, B first $p3, B again $p4, C first $p5"
	pf=$(kvm_counter "$err" vcpu pf_fixed)
	# Under nested paging the host may back guest RAM with transparent huge
	# pages: then one fault maps 2 MiB and the first touch is cheap. Which
	# one happened shows in pf_fixed; each case has its own observation.
	if [ "$kind" != kvm_pvm ] && [ -n "$pf" ] && [ "$pf" -le 512 ]; then
		check "lab3 (nested paging, huge pages): KVM mapped the 16 MiB in 2 MiB pieces: a handful of faults, not one per 4 KiB page (pf_fixed $pf <= 512)" \
			"$pf" -ge 8
		check "lab3 (nested paging, huge pages): so the first pass costs about what the second does ($p1 vs $p2 ticks per page)" \
			-n "$p1" -a "${p1:-0}" -lt $((10 * ${p2:-1}))
		check_lab3_step "$d"
		check_lab3_dirty "$d"
		return
	fi
	check "lab3: first touch of 16 MiB costs >= 10x the second pass ($p1 vs $p2 ticks per page)" \
		-n "$p1" -a "${p1:-0}" -ge $((10 * ${p2:-1}))
	if [ "$kind" = kvm_pvm ]; then
		check "lab3 (shadow paging): window B's own page tables cost a fault per page again ($p3 vs $p4 ticks per page)" \
			-n "$p3" -a "${p3:-0}" -ge $((10 * ${p4:-1}))
		check "lab3 (shadow paging): window C reuses A's page tables, so A's shadow tables: no faults ($p5 vs $p3 ticks per page)" \
			-n "$p5" -a $((10 * ${p5:-1})) -le "${p3:-0}"
		if [ -n "$pf" ]; then
			check "lab3 (shadow paging): KVM fixed a shadow page fault for each page of A and of B (pf_fixed $pf >= 8192)" \
				"$pf" -ge 8192
		else
			skip "lab3: KVM's pf_fixed counter (no KVM_GET_STATS_FD)"
		fi
	else
		check "lab3 (nested paging): window B costs no more than a TLB refill: the nested table maps guest-physical pages, already there ($p3 vs $p1 ticks per page)" \
			-n "$p3" -a $((10 * ${p3:-1})) -le "${p1:-0}"
		if [ -n "$pf" ]; then
			check "lab3 (nested paging): KVM fixed about one fault per guest-physical page, once (pf_fixed $pf, 4096 pages)" \
				"$pf" -ge 4096 -a "$pf" -lt 8192
		else
			skip "lab3: KVM's pf_fixed counter (no KVM_GET_STATS_FD)"
		fi
	fi
	check_lab3_step "$d"
	check_lab3_dirty "$d"
}

# Lab 3 with --dirty-log: KVM's record of the pages the guest wrote.
check_lab3_dirty() {
	local d=$1 err=$1/lab3-dirty.err n
	[ -e "$d/lab3-dirty.rc" ] || return
	status_ok "$d" lab3-dirty 103 || return
	n=$(sed -n 's/.*KVM_GET_DIRTY_LOG): the guest wrote \([0-9]*\) of .*/\1/p' "$err")
	check "lab3 --dirty-log: KVM logged the guest's writes: ${n:-no} pages, at least the 4096 it touched" \
		-n "$n" -a "${n:-0}" -ge 4096
	check "lab3 --dirty-log: the 16 MiB at 0x4000000 are one run of 4096 written pages" \
		-n "$(grep -E '^  gpa 0x0004000000-0x0004ffffff +4096 pages$' "$err")"
	check "lab3 --dirty-log: so are some of the guest's own pages above 1 MiB (its page tables, stacks, variables: $(grep -cE '^  gpa 0x00001[0-9a-f]{5}-' "$err") ranges)" \
		-n "$(grep -E '^  gpa 0x00001[0-9a-f]{5}-' "$err")"
}

# Lab 3 with --step: the same translation, done by the VMM.
check_lab3_step() {
	local d=$1 err=$1/lab3-step.err
	[ -e "$d/lab3-step.rc" ] || return
	status_ok "$d" lab3-step 103 || return
	check "lab3 --step: stopped after the passes (POST code 3) with the guest's own CR3" \
		-n "$(grep -E '^stop: .*data=0x03 dev=post-code' "$err")" -a -z "$(grep -E '^  CR3=0x2000 ' "$err")"
	check "lab3 --step: the VMM's walk of 0x8000005008 ends at guest-physical 0x4005008, A and D set in the PTE" \
		-n "$(grep -F '= guest-physical 0x4005008 ' "$err")" -a -n "$(grep -E '^  PT  \[ *5\] .* A D ' "$err")"
	check "lab3 --step: KVM_TRANSLATE maps windows A and B to the same guest-physical address" \
		-n "$(grep -F 'KVM_TRANSLATE 0x8000005008 -> guest-physical 0x4005008' "$err")" -a \
		-n "$(grep -F 'KVM_TRANSLATE 0x8040005008 -> guest-physical 0x4005008' "$err")"
	check "lab3 --step: reading 0x8000005008 through the guest's tables shows the marker 0x05ca1ab1e0ddba11 (little-endian)" \
		-n "$(grep -F '0x008000005008: 11 ba dd e0 b1 1a ca 05' "$err")"
}

# --- lab 4: device emulation versus paravirtualization -------------------------
check_lab4() {
	check_lab4_uart "$@"
	check_lab4_virtio "$@"
}

# The 16550A half: lab_uart's phases 1-3.
check_lab4_uart() {
	local d=$1 kind=$2 out=$1/lab4.out tr=$1/lab4.trace
	status_ok "$d" lab4 105 || return
	local n lines len fifo o1 i1 o2 i2 o3 i3
	n=$(awk '/^lab4: payload/ { print $3 }' "$out")
	lines=$(awk '/^lab4: payload/ { gsub(/[^0-9]/, "", $7); print $7 }' "$out")
	len=$(awk '/^lab4: payload/ { gsub(/[^0-9]/, "", $10); print $10 }' "$out")
	fifo=$(awk '/^lab4: payload/ { print $NF }' "$out")
	check "lab4: each method printed its $lines lines ($(grep -c 'quick brown fox' "$out") of $((3 * ${lines:-0})))" \
		-n "$lines" -a "$(grep -c 'quick brown fox' "$out")" -eq $((3 * ${lines:-0}))
	o1=$(serial_count "$tr" 0x01 out); i1=$(serial_count "$tr" 0x01 in)
	o2=$(serial_count "$tr" 0x02 out); i2=$(serial_count "$tr" 0x02 in)
	o3=$(serial_count "$tr" 0x03 out); i3=$(serial_count "$tr" 0x03 in)
	echo "       exits per 100 bytes: polled $(((o1 + i1) * 100 / ${n:-1})), fifo $(((o2 + i2) * 100 / ${n:-1})), rep outsb $(((o3 + i3) * 100 / ${n:-1})) ($n bytes each)"
	check "lab4: polled UART: 2 exits per byte, an LSR read and a THR write ($o1 + $i1 for $n bytes)" \
		-n "$n" -a "$o1" -eq "${n:-0}" -a "$i1" -eq "${n:-0}"
	check "lab4: FIFO-aware UART: one LSR read per $fifo bytes ($o2 + $i2 for $n bytes)" \
		-n "$n" -a "$o2" -eq "${n:-0}" -a "$i2" -eq $((${lines:-0} * ((${len:-0} + ${fifo:-16} - 1) / ${fifo:-16})))
	check "lab4: rep outsb: one instruction per line, yet never fewer exits than 1 per $n bytes and no LSR reads ($o3 exits)" \
		"$o3" -ge 1 -a "$o3" -le "${n:-0}" -a "$i3" -eq 0
}

# The virtio-console half: lab_virtio's phases 5-7 (one buffer, a
# submission per line, one chain of lines). trapeze registers each queue's
# notify address as an ioeventfd, so a notify is completed inside KVM and
# never reaches trapeze: no exit at all in the trace between POST codes 5
# and 8, and no pci-io row (the notify BAR's window) in --stats.
check_lab4_virtio() {
	local d=$1 kind=$2 out=$1/lab4-virtio.out err=$1/lab4-virtio.err tr=$1/lab4-virtio.trace
	status_ok "$d" lab4-virtio 111 || return
	local n lines notifies got pio total kexits
	n=$(awk '/^lab4v: payload/ { print $3 }' "$out")
	lines=$(awk '/^lab4v: payload/ { gsub(/[^0-9]/, "", $7); print $7 }' "$out")
	notifies=$(awk -F 'notifies ' '/^lab4v: payload/ { split($2, a, ", "); print a[1] + a[2] + a[3] }' "$out")
	got=$(grep -c 'quick brown fox' "$out")
	check "lab4 virtio: the $lines lines of each phase arrived intact through the transmitq ($got of $((3 * ${lines:-0})))" \
		-n "$lines" -a "$got" -eq $((3 * ${lines:-0})) -a \
		"$(grep -c '^lab4: the quick brown fox jumps over the lazy dog 0123456789$' "$out")" -eq "$got"
	# Every exit trapeze saw after POST code 5 and before POST code 8, the
	# POST-code writes themselves aside (the serial ones are summarized):
	# a notify (the I/O BAR: dev=pci-io), the driver's look at the device
	# status (a 1-byte MMIO read of common-config offset 0x14, which
	# lib/virtio_queue.c makes every 4096 polls of the used ring while
	# trapeze's virtio thread works: seen in the slower nested host), or
	# anything else.
	local ph ph_notify ph_status ph_other
	ph=$(awk '/dev=post-code/ { for (i = 1; i <= NF; i++) if ($i ~ /^data=/) ph = substr($i, 6); next }
		/^vcpu[0-9]+ / && (ph == "0x05" || ph == "0x06" || ph == "0x07") {
			if ($0 ~ / dev=pci-io$/) nt++
			else if ($0 ~ / MMIO .* read addr=0x[0-9a-f]*014 len=1 .* dev=pci-mmio32$/) st++
			else { ot++; if (ot <= 8) print "       phase " ph ": " $0 }
		}
		END { print "#", nt + 0, st + 0, ot + 0 }' "$tr")
	grep -v '^#' <<<"$ph"
	read -r _ ph_notify ph_status ph_other <<<"$(grep '^#' <<<"$ph")"
	ph_other=$((ph_other + $(serial_count "$tr" 0x05 out) + $(serial_count "$tr" 0x06 out) + $(serial_count "$tr" 0x07 out)))
	check "lab4 virtio: $((3 * ${n:-0})) bytes in $notifies notifies ($((${notifies:-0} * 1000 / (3 * ${n:-1}))) per 1000 bytes, < 0.1 per byte), and no notify reached trapeze in phases 5-7 ($ph_notify traced)" \
		-n "$notifies" -a "${notifies:-0}" -ge 1 -a $((${notifies:-0} * 10)) -lt $((3 * ${n:-0})) -a "$ph_notify" -eq 0 -a \
		-n "$(grep -E ' data=0x05 dev=post-code' "$tr")" -a -n "$(grep -E ' data=0x08 dev=post-code' "$tr")"
	# How many status reads depends on how long the guest waited (host
	# load), not on the bytes: their number is shown, not bounded.
	check "lab4 virtio: in phases 5-7 trapeze saw nothing but the driver's status reads while it polled ($ph_status status reads, $ph_other others)" \
		"$ph_other" -eq 0
	pio=$(awk '$1 == "pci-io" && $2 == "pio" { print $3; exit }' "$err")
	check "lab4 virtio: --stats has no pci-io row: the notify writes to the I/O BAR never came to trapeze (ioeventfd) (${pio:-no row})" \
		-z "$pio"
	total=$(stats_total "$err")
	kexits=$(kvm_counter "$err" vcpu exits)
	echo "       trapeze saw $total exits in all (set-up and the report included), KVM counted ${kexits:-?}; the UART took 2 per byte"
	if [ -z "$kexits" ]; then
		skip "lab4 virtio: KVM's exit counter (this host offers no KVM_GET_STATS_FD)"
	else
		check "lab4 virtio: KVM counted at least as many exits as trapeze saw, and the ones it kept ($((kexits - total))) are far fewer than 0.1 per byte" \
			"$kexits" -ge "$total" -a $(((kexits - total) * 10)) -lt $((3 * ${n:-0}))
	fi
}

# --- lab 5: vCPU scheduling ----------------------------------------------------
check_lab5() {
	local d=$1 kind=$2
	status_ok "$d" lab5-1 107 || return
	status_ok "$d" lab5-4 107 || return
	local out1=$d/lab5-1.out out4=$d/lab5-4.out err4=$d/lab5-4.err tr=$d/lab5-4.trace cpus
	cpus=$(cat "$d/lab5-4.cpus")
	check "lab5: the guest started its APs itself (INIT/SIPI) and counted its vCPUs: 1 and 4 ($(kv "$out1" '^lab5: vcpus=' vcpus) and $(kv "$out4" '^lab5: vcpus=' vcpus))" \
		"$(kv "$out1" '^lab5: vcpus=' vcpus)$(kv "$out4" '^lab5: vcpus=' vcpus)" = 14
	local conc1 conc4 mean
	conc1=$(kv "$out1" '^lab5: phase ' concurrency_x100)
	conc4=$(kv "$out4" '^lab5: phase ' concurrency_x100)
	mean=$(awk '/^lab5: vcpu[0-9]/ { for (i = 1; i <= NF; i++) if ($i ~ /^stolen_pct=/) { s += substr($i, 12); n++ } } END { if (n) print int(s / n) }' "$out4")
	echo "       1 vCPU: stolen $(kv "$out1" '^lab5: vcpu0 ' stolen_pct)%, CPUs in use x100 = $conc1; 4 vCPUs on $cpus host CPUs: stolen $(awk '/^lab5: vcpu[0-9]/ { for (i = 1; i <= NF; i++) if ($i ~ /^stolen_pct=/) printf "%s%% ", substr($i, 12) }' "$out4")(mean $mean%), CPUs in use x100 = $conc4"
	check "lab5: 4 vCPUs never ran on more CPUs at once than the host gave them ($conc4 / 100 <= $cpus)" \
		-n "$conc4" -a "${conc4:-999}" -le $((100 * cpus + 15))
	if [ "$cpus" -lt 4 ]; then
		check "lab5: with 4 vCPUs on $cpus host CPUs, each vCPU lost a large share of its time to the others (mean stolen $mean% >= 20%)" \
			-n "$mean" -a "${mean:-0}" -ge 20
	else
		skip "lab5: time-sharing needs more vCPUs than host CPUs ($cpus here, and no taskset)"
	fi
	local beats
	beats=$(awk '/ MMIO .* write addr=0xd00000/ { split($1, v, "vcpu"); n[v[2]]++ } END { for (i = 0; i < 4; i++) printf "%d ", n[i] }' "$tr")
	check "lab5: the trace shows 32 heartbeat MMIO exits from each of the 4 vCPUs ($beats)" \
		"$beats" = "32 32 32 32 "
	# Time-sharing in the trace. A vCPU that runs throughout logs a heartbeat
	# every P = (its span in the trace) x (its running share, from its own
	# stolen_pct) / 31. Its longest interval between two heartbeats, in units
	# of P, says how long it waited for a CPU; with a running share of at
	# most a half (4 vCPUs, 2 CPUs) the longest is at least 2 P.
	local gap
	gap=$(awk 'FNR == NR {
			if ($0 ~ /^lab5: vcpu[0-9]+ /) {
				c = $2; sub(/^vcpu/, "", c)
				for (i = 1; i <= NF; i++) if ($i ~ /^stolen_pct=/) share[c] = 1 - substr($i, 12) / 100
			}
			next
		}
		/ MMIO .* write addr=0xd00000/ {
			split($1, v, "vcpu"); c = v[2]; t = $2; sub(/^t=/, "", t); if (t == "") t = $3
			sub(/us$/, "", t); t += 0
			if (!(c in first)) first[c] = t
			else if (t - last[c] > maxgap[c]) maxgap[c] = t - last[c]
			last[c] = t
		}
		END {
			for (c in first) {
				p = (last[c] - first[c]) * share[c] / 31
				if (p > 0 && maxgap[c] / p > best) { best = maxgap[c] / p; bc = c; bp = p }
			}
			if (best > 0) printf "%s %.1f %.1f %.1f\n", bc, maxgap[bc] / 1000, bp / 1000, best
		}' "$out4" "$tr")
	local gap_cpu gap_max gap_period gap_ratio
	read -r gap_cpu gap_max gap_period gap_ratio <<<"$gap"
	check "lab5: the trace shows waits: vcpu${gap_cpu:-?} went ${gap_max:-?} ms between two heartbeats, ${gap_ratio:-0} times its heartbeat period when running (${gap_period:-?} ms)" \
		-n "$gap_ratio" -a "${gap_ratio%.*}" -ge 2
	local per
	per=$(awk '/^exits per vCPU:/ { for (i = 4; i <= NF; i += 2) printf "%s ", $(i + 1) }' "$err4")
	check "lab5: --stats shows the exits of every vCPU (${per}; at least 32 each)" \
		-n "$per" -a -z "$(for x in $per; do [ "$x" -ge 32 ] || echo low; done)"
}

# --- lab 6: booting --------------------------------------------------------------
check_lab6() {
	local d=$1 kind=$2 out=$1/lab6.out tr=$1/lab6.trace
	status_ok "$d" lab6 109 || return
	local posts rips
	posts=$(awk '/dev=post-code/ { for (i = 1; i <= NF; i++) if ($i ~ /^data=/) printf "%s ", substr($i, 6) }' "$tr")
	rips=$(awk '/dev=post-code/ { for (i = 1; i <= NF; i++) if ($i ~ /^rip=/) printf "%s ", substr($i, 5) }' "$tr")
	check "lab6: the trace shows the 4 stages' POST codes in order ($posts)" "$posts" = "0x01 0x02 0x03 0x04 "
	local r1 r2 r4
	read -r r1 r2 _ r4 <<<"$rips"
	check "lab6: RIP is an offset from CS base 0x7c00 in real mode, a linear address after ($rips)" \
		-n "${r4:-}" -a $((r1)) -lt $((0x7c00)) -a $((r2)) -ge $((0x7c00)) -a $((r4)) -ge $((0x7c00))
	local c1 c2 c4 cr4 efer
	c1=$(num "$(sed -n 's/^lab6: stage 1: .* CR0=\(0x[0-9a-f]*\).*/\1/p' "$out")")
	c2=$(num "$(sed -n 's/^lab6: stage 2: .* CR0=\(0x[0-9a-f]*\).*/\1/p' "$out")")
	c4=$(num "$(sed -n 's/^lab6: stage 4: .* CR0=\(0x[0-9a-f]*\).*/\1/p' "$out")")
	cr4=$(num "$(sed -n 's/^lab6: stage 4: .* CR4=\(0x[0-9a-f]*\).*/\1/p' "$out")")
	efer=$(num "$(sed -n 's/^lab6: stage 4: .* EFER=\(0x[0-9a-f]*\).*/\1/p' "$out")")
	check "lab6: CR0.PE 0 -> 1 -> 1 and CR0.PG 0 -> 0 -> 1 across the stages" \
		-n "$c4" -a $((c1 & 1)) -eq 0 -a $((c2 & 0x80000001)) -eq 1 -a $((c4 & 0x80000001)) -eq $((0x80000001))
	check "lab6: long mode: CR4.PAE set, EFER.LME and EFER.LMA set ($(printf 'CR4=%#x EFER=%#x' "${cr4:-0}" "${efer:-0}"))" \
		-n "$efer" -a $((cr4 & 0x20)) -ne 0 -a $((efer & 0x500)) -eq $((0x500))
	check_lab6_step "$d"
}

# Lab 6 with --step: stop at each stage and ask the VMM which mode the vCPU is in.
check_lab6_step() {
	local d=$1 err=$1/lab6-step.err
	[ -e "$d/lab6-step.rc" ] || return
	status_ok "$d" lab6-step 109 || return
	local modes
	modes=$(sed -n 's/^  mode: \([a-z]* mode\)\(, [0-9]*-bit\)\{0,1\}.*/\1\2/p' "$err" | tr '\n' ';')
	check "lab6 --step: at the 4 stops the vCPU is in $modes" \
		"$modes" = "real mode;protected mode, 32-bit;protected mode, 32-bit;long mode, 64-bit;"
	check "lab6 --step: one instruction single-stepped in real mode ($(sed -n 's/^stop: vcpu0 single-stepped 1 instruction: \(rip=0x[0-9a-f]*\).*/\1/p' "$err"))" \
		-n "$(grep -E '^stop: vcpu0 single-stepped 1 instruction: rip=0x[0-9a-f]+, real mode' "$err")"
	check "lab6 --step: in long mode CS has L=1, CR0 has PG, EFER has LME and LMA" \
		-n "$(grep -E '^  cs .* l=1 ' "$err")" -a -n "$(grep -E '^  cr0 .*PG' "$err")" -a -n "$(grep -F '[LME LMA]' "$err")"
}

# --- main ----------------------------------------------------------------------------
want=("$@")
[ ${#want[@]} -eq 0 ] && want=(1 2 3 4 5 6)
for w in "${want[@]}"; do
	case "$w" in [1-6]) ;; *) echo "labs: no lab '$w' (1-6)"; echo "labs: 0 passed, 1 failed"; exit 2 ;; esac
done
SELECTED=()
for r in "${RUNS[@]}"; do
	n=${r%%|*}
	n=${n#lab}
	n=${n%%-*}
	case " ${want[*]} " in *" $n "*) SELECTED+=("$r") ;; esac
done

for f in "$TRAPEZE" "$FW/lab_trap.elf" "$FW/lab_boot.bin"; do
	if [ ! -e "$f" ]; then
		echo "labs: $f is missing (run make)"
		echo "labs: 0 passed, 1 failed"
		exit 1
	fi
done

kind=hardware
[ -d /sys/module/kvm_pvm ] && kind=kvm_pvm
mkdir -p "$work/direct" "$work/nested"
echo "labs: running on this host's KVM ($kind)"
for r in "${SELECTED[@]}"; do
	IFS='|' read -r name expect tmo cpus trace args step <<<"$r"
	run_direct "$name" "$expect" "$tmo" "$cpus" "$trace" "$args" "$step"
done
for w in "${want[@]}"; do
	echo "== lab $w ($kind)"
	"check_lab$w" "$work/direct" "$kind"
done

# The same labs under hardware-style KVM, in the nested host.
nested=${LABS_NESTED:-auto}
if [ "$nested" != no ] && [ "$kind" = kvm_pvm ]; then
	if ! command -v qemu-system-x86_64 >/dev/null || [ ! -x tests/nested/run.sh ]; then
		if [ "$nested" = yes ]; then
			fail "nested host: qemu-system-x86_64 or tests/nested/run.sh missing"
		else
			skip "nested host (hardware-style KVM): qemu-system-x86_64 is not installed"
		fi
	else
		echo "labs: running the labs again in the nested host (tests/nested, QEMU TCG + KVM with nested paging)"
		nested_table >"$work/nested.list"
		run_nested
		if ! grep -q '^@@NESTED-DONE' "$keep" 2>/dev/null; then
			fail "nested host: no results; its runner said:"
			tail -n 20 "$work/nested.log" | sed 's/^/      /'
		else
			grep -E '^total nested run' "$work/nested.log" | sed 's/^/  /'
			nested_split "$keep"
			for w in "${want[@]}"; do
				echo "== lab $w (nested: hardware-style KVM)"
				"check_lab$w" "$work/nested" hardware
			done
		fi
	fi
elif [ "$nested" = yes ]; then
	skip "nested host: this host's KVM is already hardware KVM"
fi

echo "labs: $passed passed, $failed failed ($skipped skipped)"
[ "$failed" -eq 0 ]
