#!/usr/bin/env bash
# Runs trapeze's test suites and prints one closing line:
#   tests: N passed, N failed
# Usage: scripts/run-tests.sh [unit|boot|gdb|nested|labs]...   (default: all)
# Each check binary reports "NN%: Checks: C, Failures: F, Errors: E"; the
# nested runner ends with "nested: N passed, N failed", the labs runner with
# "labs: N passed, N failed", the debugger suite with "gdb: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit boot gdb nested labs)

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count_check() {	# adds the counts of a check binary's summary line in $log
	local line c f e
	line=$(grep -E '^[0-9]+%: Checks: ' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "run-tests: $1 printed no check summary" >&2
		failed=$((failed + 1))
		return
	fi
	c=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
	f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
	e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
	passed=$((passed + c - f - e))
	failed=$((failed + f + e))
}

run_check_binary() {
	echo "== $1"
	"$1" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	count_check "$1"
	if [ "$rc" -ne 0 ] && ! grep -qE 'Failures: [1-9]|Errors: [1-9]' "$log"; then
		echo "run-tests: $1 exited $rc" >&2
		failed=$((failed + 1))
	fi
}

for s in "${suites[@]}"; do
	case "$s" in
	unit)
		for t in build/tests/unit/test_*; do
			[ -x "$t" ] && [ "${t%.d}" = "$t" ] && run_check_binary "$t"
		done ;;
	boot)
		run_check_binary build/tests/boot/boot_test ;;
	gdb)
		# The debuggers (docs/debugging.md); ends "gdb: N passed, N failed".
		echo "== tests/gdb/run.sh"
		tests/gdb/run.sh 2>&1 | tee "$log"
		rc=${PIPESTATUS[0]}
		line=$(grep -E '^gdb: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
		if [ -n "$line" ]; then
			passed=$((passed + $(sed -E 's/gdb: ([0-9]+) passed.*/\1/' <<<"$line")))
			failed=$((failed + $(sed -E 's/gdb: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")))
		fi
		if [ "$rc" -ne 0 ] && [ -z "$line" ]; then
			failed=$((failed + 1))
		fi ;;
	nested)
		echo "== tests/nested/run.sh"
		if [ -x tests/nested/run.sh ]; then
			tests/nested/run.sh 2>&1 | tee "$log"
			rc=${PIPESTATUS[0]}
			line=$(grep -E '^nested: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
			if [ -n "$line" ]; then
				passed=$((passed + $(sed -E 's/nested: ([0-9]+) passed.*/\1/' <<<"$line")))
				failed=$((failed + $(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$line")))
			fi
			if [ "$rc" -ne 0 ] && [ -z "$line" ]; then
				failed=$((failed + 1))
			fi
		else
			echo "run-tests: tests/nested/run.sh is missing" >&2
			failed=$((failed + 1))
		fi ;;
	labs)
		# The teaching labs (docs/labs/); ends "labs: N passed, N failed".
		echo "== tests/labs/run.sh"
		if [ -x tests/labs/run.sh ]; then
			tests/labs/run.sh 2>&1 | tee "$log"
			rc=${PIPESTATUS[0]}
			line=$(grep -E '^labs: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
			if [ -n "$line" ]; then
				passed=$((passed + $(sed -E 's/labs: ([0-9]+) passed.*/\1/' <<<"$line")))
				failed=$((failed + $(sed -E 's/labs: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")))
			fi
			if [ "$rc" -ne 0 ] && [ -z "$line" ]; then
				failed=$((failed + 1))
			fi
		else
			echo "run-tests: tests/labs/run.sh is missing" >&2
			failed=$((failed + 1))
		fi ;;
	*)
		echo "run-tests: unknown suite '$s'" >&2
		exit 2 ;;
	esac
done

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
