#!/bin/sh
# Runs the nested test table and prints markers on stdout. POSIX sh: it runs
# under busybox inside the L1 host and under dash/bash on a host with
# hardware virtualization (mode direct).
#
# usage: batch.sh LIST WORKDIR     run every test of LIST
#        batch.sh --names LIST     print "NAME TIMEOUT" per test
#        batch.sh --only "N1 N2.." LIST   print LIST's lines for those tests
#
# Environment the test commands see (exported): ROOT (a copy of the
# repository's test inputs; commands run in it), TRAPEZE (the VMM binary),
# FW (the guest-firmware images), L2 (L2 kernels and initramfs images).
#
# LIST lines: NAME | EXPECT-STATUS | TIMEOUT-S | EXPECTED-TEXT | COMMAND
# ('#' starts a comment line; see tests.list). EXPECTED-TEXT is one or more
# substrings separated by ' && '; "out:TEXT" must be in the command's
# stdout, "err:TEXT" in its stderr, plain TEXT in either. Per test it prints
#   @@NESTED-BEGIN NAME
#   @@NESTED-OUT NAME| <a line of the command's stdout>   (last 200 lines)
#   @@NESTED-ERR NAME| <a line of its stderr>             (last 200 lines)
#   @@NESTED-RESULT NAME status=S expect=E text=found|missing|none
#                   result=PASS|FAIL elapsed_ms=N [reason=...]
# and at the end @@NESTED-DONE passed=P failed=F.
# A test that outlives its timeout gets SIGTERM, 3 s later SIGKILL (its whole
# process group), and fails with reason=timeout.

OUT_LINES=200

trim() {
	t=$1
	t=${t#"${t%%[![:space:]]*}"}
	t=${t%"${t##*[![:space:]]}"}
	printf '%s' "$t"
}

# Reads LIST; calls "$1" NAME EXPECT TIMEOUT TEXT COMMAND for each test line.
for_each_test() {
	fn=$1
	while IFS= read -r line || [ -n "$line" ]; do
		case "$(trim "$line")" in '' | '#'*) continue ;; esac
		IFS='|' read -r f_name f_expect f_tmo f_text f_cmd <<EOF
$line
EOF
		"$fn" "$(trim "$f_name")" "$(trim "$f_expect")" "$(trim "$f_tmo")" \
			"$(trim "$f_text")" "$(trim "$f_cmd")" "$line"
	done <"$list"
}

# Milliseconds since boot, from /proc/uptime (busybox date has no %N).
now_ms() {
	read -r up _ </proc/uptime
	s=${up%.*}
	c=${up#*.}
	echo $((s * 1000 + ${c#0} * 10))
}

print_names() {
	echo "$1 $3"
}

print_only() {
	case " $only " in *" $1 "*) printf '%s\n' "$6" ;; esac
}

# Checks every ' && '-separated piece of $1 against $out / $err; prints the
# first piece that is missing, nothing when all are there.
missing_text() {
	rest=$1
	while [ -n "$rest" ]; do
		case "$rest" in
		*' && '*) piece=${rest%%' && '*} rest=${rest#*' && '} ;;
		*) piece=$rest rest="" ;;
		esac
		piece=$(trim "$piece")
		case "$piece" in
		out:*) files=$out piece=${piece#out:} ;;
		err:*) files=$err piece=${piece#err:} ;;
		*) files="$out $err" ;;
		esac
		[ -z "$piece" ] && continue
		# shellcheck disable=SC2086 # two file names, neither with spaces
		cat $files | grep -qF -- "$piece" || { printf '%s' "$piece"; return; }
	done
}

print_lines() {	# print_lines KIND FILE: the file's last lines as markers
	n=$(wc -l <"$2")
	[ "$n" -gt "$OUT_LINES" ] &&
		echo "@@NESTED-$1 $name| ... ($((n - OUT_LINES)) earlier lines left out)"
	tail -n "$OUT_LINES" "$2" | tr -d '\r' | while IFS= read -r l || [ -n "$l" ]; do
		printf '@@NESTED-%s %s| %s\n' "$1" "$name" "$l"
	done
}

run_test() {
	name=$1 expect=$2 tmo=$3 text=$4 cmd=$5
	out=$work/$name.out
	err=$work/$name.err
	flag=$work/$name.timeout
	rm -f "$out" "$err" "$flag"
	echo "@@NESTED-BEGIN $name"

	reason=""
	case "$name" in "" | *[!A-Za-z0-9._-]*) reason="bad test name" ;; esac
	case "$expect" in '' | *[!0-9]*) reason="bad expected status '$expect'" ;; esac
	case "$tmo" in '' | *[!0-9]*) reason="bad timeout '$tmo'" ;; esac
	[ -n "$cmd" ] || reason="no command"
	if [ -n "$reason" ]; then
		echo "@@NESTED-RESULT $name status=- expect=$expect text=none result=FAIL elapsed_ms=0 reason=$reason"
		failed=$((failed + 1))
		return
	fi

	start=$(now_ms)
	# Own session and process group: the watchdog kills everything the
	# command started. stdin is /dev/null so no test waits for input.
	# Append mode, so a test that also opens /dev/stdout or /dev/stderr by
	# name (--trace-file /dev/stderr) adds to the output instead of
	# overwriting it at its own offset.
	: >"$out"
	: >"$err"
	setsid sh -c "$cmd" </dev/null >>"$out" 2>>"$err" &
	pid=$!
	# shellcheck disable=SC2016 # $1..$3 are the inner shell's arguments
	setsid sh -c 'sleep "$1"; : >"$2"; kill -TERM -"$3"; sleep 3; kill -KILL -"$3"' \
		watchdog "$tmo" "$flag" "$pid" </dev/null >/dev/null 2>&1 &
	wd=$!
	wait "$pid"
	status=$?
	# The watchdog may not have reached setsid() yet: kill the pid too.
	kill -TERM -"$wd" 2>/dev/null
	kill -TERM "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	elapsed=$(($(now_ms) - start))

	textres=none
	lacking=""
	if [ -n "$text" ]; then
		lacking=$(missing_text "$text")
		if [ -z "$lacking" ]; then textres=found; else textres=missing; fi
	fi
	if [ -e "$flag" ]; then
		reason="timeout after ${tmo}s"
	elif [ "$status" -ne "$expect" ]; then
		reason="exit status $status, expected $expect"
	elif [ -n "$lacking" ]; then
		reason="output lacks: $lacking"
	fi

	print_lines OUT "$out"
	print_lines ERR "$err"

	if [ -z "$reason" ]; then
		echo "@@NESTED-RESULT $name status=$status expect=$expect text=$textres result=PASS elapsed_ms=$elapsed"
		passed=$((passed + 1))
	else
		echo "@@NESTED-RESULT $name status=$status expect=$expect text=$textres result=FAIL elapsed_ms=$elapsed reason=$reason"
		failed=$((failed + 1))
	fi
}

case "${1:-}" in
--names)
	list=$2
	for_each_test print_names
	exit 0 ;;
--only)
	only=$2 list=$3
	for_each_test print_only
	exit 0 ;;
esac

[ $# -eq 2 ] || { echo "usage: batch.sh LIST WORKDIR" >&2; exit 2; }
list=$1 work=$2
[ -r "$list" ] || { echo "batch.sh: cannot read $list" >&2; exit 2; }
mkdir -p "$work" || exit 2
case "$list" in /*) ;; *) list=$PWD/$list ;; esac
case "$work" in /*) ;; *) work=$PWD/$work ;; esac
cd "${ROOT:-.}" || exit 2
export ROOT TRAPEZE FW L2
passed=0
failed=0
pid="" wd=""
# Stopped from outside (run.sh's overall timeout): the test and its watchdog
# live in sessions of their own, so take them down too.
stop_batch() {
	[ -n "$pid" ] && kill -KILL -"$pid" 2>/dev/null
	[ -n "$wd" ] && kill -KILL -"$wd" "$wd" 2>/dev/null
	exit 143
}
trap stop_batch TERM INT
for_each_test run_test
echo "@@NESTED-DONE passed=$passed failed=$failed"
[ "$failed" -eq 0 ]
