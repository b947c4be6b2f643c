#!/bin/bash
# test_install_man.sh - the manual pages render without a groff warning, and cannot drift from the
# tool: every command `mcmirror help` lists has its own section in mcmirror.1, and every long option
# of every command's --help (and of the global help) is described there.
. "$MCM_HARNESS/lib.sh" || exit 1
man1=$MCM_SOURCE_DIR/docs/mcmirror.1
man7=$MCM_SOURCE_DIR/docs/libmcmirror.7
[ -f "$man1" ] && [ -f "$man7" ] || fail "no manual pages in $MCM_SOURCE_DIR/docs"

# commands: the lines after "commands:" up to the blank line
"$MCM_TOOL" help >"$MCM_TMP/help" || fail "mcmirror help"
cmds=$(awk '/^commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }' "$MCM_TMP/help")
[ "$(echo "$cmds" | wc -w)" -ge 5 ] || fail "cannot read the commands from 'mcmirror help': $(cat "$MCM_TMP/help")"
missing=
for cmd in $cmds help; do
	grep -qx "\.SS $cmd" "$man1" || missing+=" $cmd"
done
[ -z "$missing" ] || fail "commands without a '.SS' section in docs/mcmirror.1:$missing"

# options: each --long of each --help must appear as \-\-long
check_options() { # WHERE HELPFILE
	local opt
	for opt in $(grep -o -- '--[a-z][a-z-]*' "$2" | sort -u); do
		grep -qF -- "$(echo "$opt" | sed 's/-/\\-/g')" "$man1" || missing+=" $1:$opt"
	done
}
check_options global "$MCM_TMP/help"
for cmd in $cmds; do
	"$MCM_TOOL" "$cmd" --help >"$MCM_TMP/help.$cmd" || fail "mcmirror $cmd --help"
	check_options "$cmd" "$MCM_TMP/help.$cmd"
done
[ -z "$missing" ] || fail "options not in docs/mcmirror.1:$missing"

# the libmcmirror(7) page names every MCMIRROR_ variable the shim reads
for var in $(grep -o 'MCMIRROR_[A-Z][A-Z_]*' "$MCM_SOURCE_DIR/shim/config.c" | sort -u); do
	grep -q "^\.B $var\$" "$man7" || missing+=" $var"
done
[ -z "$missing" ] || fail "variables of shim/config.c not described in docs/libmcmirror.7:$missing"

# rendering
command -v groff >/dev/null || skip "no groff: the pages' content was checked, their rendering was not"
for page in "$man1" "$man7"; do
	groff -man -Tutf8 -ww -z "$page" 2>"$MCM_TMP/groff" || fail "groff failed on $page: $(cat "$MCM_TMP/groff")"
	[ ! -s "$MCM_TMP/groff" ] || fail "groff warns about $page: $(cat "$MCM_TMP/groff")"
done
echo PASS
