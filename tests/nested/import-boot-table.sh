#!/usr/bin/env bash
# Turns the rows of the boot-test table (tests/boot/table.txt) that run a
# guest into nested-table lines, so the tiny guests boot on hardware-KVM
# semantics too, from one table.
#
# usage: import-boot-table.sh [TABLE] [TIMEOUT-S] [SKIP]
#   defaults: tests/boot/table.txt, 60 s; SKIP: space-separated test names
#   (boot.NAME) to leave out: run.sh passes the names tests.list has, so a
#   row there replaces the imported one
#
# A boot row is  name | exit status | stdout texts | stderr texts | trapeze arguments
# (texts separated by ' && ', arguments split at single spaces and run
# without a shell, paths relative to the repository root). It becomes
#   boot.NAME | STATUS | TIMEOUT | out:T1 && err:T2 ... | "$TRAPEZE" 'ARG' ...
# Rows that expect status 64 (bad input: nothing runs) stay with the boot
# suite; they test option parsing, which no KVM changes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
table=${1:-$here/../boot/table.txt}
timeout_s=${2:-60}
skip=" ${3:-} "
[ -r "$table" ] || exit 0

awk -F'|' -v tmo="$timeout_s" -v skip="$skip" '
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t\r]+$/, "", s); return s }
function texts(s, tag,    n, i, p, r) {
	n = split(s, p, / && /)
	r = ""
	for (i = 1; i <= n; i++) {
		p[i] = trim(p[i])
		if (p[i] != "")
			r = r (r == "" ? "" : " && ") tag ":" p[i]
	}
	return r
}
function shquote(s) { gsub(/\047/, "\047\\\047\047", s); return "\047" s "\047" }
{
	line = trim($0)
	if (line == "" || substr(line, 1, 1) == "#" || NF != 5)
		next
	name = trim($1); status = trim($2)
	if (status == "64" || index(skip, " boot." name " "))
		next
	want = texts($3, "out")
	e = texts($4, "err")
	if (e != "")
		want = want (want == "" ? "" : " && ") e
	cmd = "\"$TRAPEZE\""
	n = split(trim($5), a, / /)
	for (i = 1; i <= n; i++)
		if (a[i] != "")
			cmd = cmd " " shquote(a[i])
	printf "boot.%s | %s | %s | %s | %s\n", name, status, tmo, want, cmd
}' "$table"
