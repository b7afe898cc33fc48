#!/usr/bin/env bash
# The debugger suite (docs/debugging.md): real gdb in batch mode against
# trapeze's --gdb stub, --step driven through a pipe as a lab would drive
# it, and the busybox GDB-protocol client of the nested host. Ends with one
# line that scripts/run-tests.sh counts:
#   gdb: N passed, N failed
#
# usage: tests/gdb/run.sh [NAME...]       (default: every test)
#
# A test is a file in tests/gdb/:
#   NAME.gdb   a gdb script. trapeze runs with --gdb unix:SOCKET and the
#              arguments of its "# args:" line; gdb (gdb -q -batch -nx) is
#              given the ELF of "# file:" (optional), connects, and runs the
#              script.
#   NAME.step  --step commands, piped into `trapeze run --step... ARGS` on
#              stdin (the "# args:" line has the whole trapeze command line).
#   NAME.rsp   a conversation of tests/boot/rsp-client.sh (the busybox client
#              the nested host uses); "# args:" is its scenario and trapeze's
#              run arguments.
# Directives, as comment lines of the test file:
#   # args: ...          trapeze's arguments
#   # status: N          trapeze's exit status (default 0)
#   # interrupt: S       send SIGINT to gdb (a Ctrl-C while the guest runs)
#                        S seconds after gdb printed "@@RUNNING" (the script
#                        says `echo @@RUNNING\n` before its `continue`)
#   # host: pvm|hw       run only on kvm_pvm / only on hardware-semantics KVM;
#                        elsewhere the test is skipped (said, not counted)
#   # expect gdb|out|err: TEXT   TEXT must appear in gdb's output, trapeze's
#                        stdout or stderr, in the order of these lines per
#                        stream
#   # check: step-over-out       every single-step that ran an `out` ends
#                        right after that `out` (rip of the exit = rip after
#                        the step)
# Each test has 60 s; a hang fails it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo" || exit 1

trapeze=build/trapeze
limit=60
passed=0
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -d /sys/module/kvm_pvm ]; then host=pvm; else host=hw; fi

directive() {	# directive FILE NAME: the value of "# NAME: value"
	sed -n "s/^# $2: //p" "$1" | head -n 1
}

pass() {
	echo "gdb: PASS $1${2:+ ($2)}"
	passed=$((passed + 1))
}

fail() {
	echo "gdb: FAIL $1: $2"
	failed=$((failed + 1))
	for f in gdb out err; do
		[ -s "$work/$f" ] && sed "s/^/    $f: /" "$work/$f" | tail -n 40
	done
}

# check_expect FILE: every "# expect STREAM: TEXT" in order within its stream:
# each TEXT must start after the end of the previous match in that stream
# (the same line may hold several).
check_expect() {
	local file=$1 stream text pos line
	declare -A at=([gdb]="1 1" [out]="1 1" [err]="1 1")
	while IFS= read -r line; do
		stream=${line#\# expect }
		stream=${stream%%:*}
		text=${line#\# expect "$stream": }
		# shellcheck disable=SC2086 # "LINE COLUMN"
		pos=$(set -- ${at[$stream]}; awk -v fl="$1" -v fc="$2" -v t="$text" '
			NR < fl { next }
			{
				off = NR == fl ? fc - 1 : 0
				i = index(substr($0, off + 1), t)
				if (i) { print NR, off + i + length(t); exit }
			}' "$work/$stream")
		if [ -z "$pos" ]; then
			why="$stream lacks (after line ${at[$stream]% *}): $text"
			return 1
		fi
		at[$stream]=$pos
	done < <(grep -E '^# expect (gdb|out|err): ' "$file")
	return 0
}

# A single-step that ran an `out` must end right after it: the exit's rip.
check_step_over_out() {
	local r
	r=$(awk '
		/during the step: .* out port=/ { match($0, /rip=0x[0-9a-f]+/); want = substr($0, RSTART + 4, RLENGTH - 4); next }
		want != "" && /rip=0x/ { match($0, /rip=0x[0-9a-f]+/); got = substr($0, RSTART + 4, RLENGTH - 4);
			n++; if (got != want) { print "step over the out at " want " ended at " got; bad = 1 } want = "" }
		END { if (!n) print "no single-step ran an out"; else if (!bad) print "ok " n }' "$work/err")
	case $r in
	ok*) return 0 ;;
	*) why=$r; return 1 ;;
	esac
}

run_checks() {	# run_checks NAME FILE STATUS
	local name=$1 file=$2 status=$3 want
	want=$(directive "$file" status)
	want=${want:-0}
	if [ "$status" -ne "$want" ]; then
		fail "$name" "trapeze exit status $status, expected $want"
		return
	fi
	if ! check_expect "$file"; then
		fail "$name" "$why"
		return
	fi
	if grep -q '^# check: step-over-out' "$file" && ! check_step_over_out; then
		fail "$name" "$why"
		return
	fi
	pass "$name"
}

# Waits until trapeze has ended (or kills it after the limit); sets status.
reap() {
	local pid=$1 n=0
	while kill -0 "$pid" 2>/dev/null && [ "$n" -lt $((limit * 10)) ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		sleep 1
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	status=$?
}

run_gdb_test() {	# run_gdb_test NAME FILE
	local name=$1 file=$2 sock="$work/sock" args elf irq pid gpid n=0
	args=$(directive "$file" args)
	elf=$(directive "$file" file)
	irq=$(directive "$file" interrupt)
	rm -f "$sock"
	# shellcheck disable=SC2086 # the args line is split into words on purpose
	$trapeze $args --gdb "unix:$sock" >"$work/out" 2>"$work/err" </dev/null &
	pid=$!
	while [ ! -S "$sock" ] && kill -0 "$pid" 2>/dev/null && [ "$n" -lt 100 ]; do
		sleep 0.05
		n=$((n + 1))
	done
	if [ ! -S "$sock" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		fail "$name" "trapeze did not listen on $sock"
		return
	fi
	# gdb itself, not under timeout(1): that would pass our SIGINT on twice
	# (to its child and to its group), and a second Ctrl-C makes gdb give up.
	gdb -q -batch -nx -ex "set pagination off" -ex "set confirm off" \
		${elf:+"$elf"} -ex "target remote $sock" -x "$file" >"$work/gdb" 2>&1 &
	gpid=$!
	if [ -n "$irq" ]; then
		n=0
		while ! grep -q '@@RUNNING' "$work/gdb" && kill -0 "$gpid" 2>/dev/null &&
		      [ "$n" -lt 400 ]; do
			sleep 0.05
			n=$((n + 1))
		done
		sleep "$irq"
		kill -INT "$gpid" 2>/dev/null
	fi
	reap "$gpid"
	reap "$pid"
	run_checks "$name" "$file" "$status"
}

run_step_test() {	# run_step_test NAME FILE
	local name=$1 file=$2 args pid
	args=$(directive "$file" args)
	: >"$work/gdb"
	# shellcheck disable=SC2086
	grep -v '^#' "$file" | $trapeze $args >"$work/out" 2>"$work/err" &
	pid=$!
	reap "$pid"
	run_checks "$name" "$file" "$status"
}

run_rsp_test() {	# run_rsp_test NAME FILE
	local name=$1 file=$2 args pid
	args=$(directive "$file" args)
	: >"$work/gdb"
	# shellcheck disable=SC2086
	busybox sh tests/boot/rsp-client.sh ${args%% *} "$trapeze" ${args#* } \
		>"$work/out" 2>"$work/err" </dev/null &
	pid=$!
	reap "$pid"
	run_checks "$name" "$file" "$status"
}

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in "$here"/*.gdb "$here"/*.step "$here"/*.rsp; do
		[ -e "$f" ] || continue
		b=$(basename "$f")
		names+=("${b%.*}")
	done
fi

if [ ! -x "$trapeze" ]; then
	echo "gdb: $trapeze is not built (make)"
	echo "gdb: 0 passed, 1 failed"
	exit 1
fi
for name in "${names[@]}"; do
	file=
	for ext in gdb step rsp; do
		[ -f "$here/$name.$ext" ] && file="$here/$name.$ext"
	done
	if [ -z "$file" ]; then
		fail "$name" "no test tests/gdb/$name.{gdb,step,rsp}"
		continue
	fi
	only=$(directive "$file" host)
	if [ -n "$only" ] && [ "$only" != "$host" ]; then
		echo "gdb: SKIP $name (only on $only hosts; this one is $host)"
		continue
	fi
	case $file in
	*.gdb)
		if ! command -v gdb >/dev/null; then
			fail "$name" "gdb is not installed (scripts/deps.sh installs it)"
			continue
		fi
		run_gdb_test "$name" "$file" ;;
	*.step) run_step_test "$name" "$file" ;;
	*.rsp)
		if ! command -v busybox >/dev/null; then
			fail "$name" "busybox is not installed (scripts/deps.sh installs it)"
			continue
		fi
		run_rsp_test "$name" "$file" ;;
	esac
done
echo "gdb: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
