#!/bin/bash
# test_sql_ship.sh pg|my - a mirror holding every kind of record (tools_fill: binary keys and values,
# group keys, namespaces, deletions, drops, expired values, a flush, a delayed flush, odd pools) is
# shipped into PostgreSQL or MariaDB: the table then holds every record exactly (sql_check.py); more
# writes and a flush are shipped on top; a second run ships nothing; the positions move with the rows.
. "$MCM_HARNESS/lib.sh" || exit 1
. "$MCM_HARNESS/sql.sh" || exit 1
DB=${1:?pg or my}
need_sql "$DB"

M=$MCM_TMP/m
"$MCM_BIN/tools_fill" "$M" >"$MCM_TMP/expect" || fail "tools_fill"
pools=$(awk '{print $2}' "$MCM_TMP/expect")
sql_start "$DB" D
URL=$(eval "echo \$D_URL")

check_table() {
	"$MCM_TOOL" --mirror "$M" dump --all -f "$MCM_TMP/dump" || fail "dump"
	sql_export "$DB" D >"$MCM_TMP/export" || fail "export"
	python3 "$SQL_CHECK" table "$MCM_TMP/export" --single "$MCM_TMP/dump=$(sql_origin "$M")" >"$MCM_TMP/check" ||
		fail "$1: the table is not what the mirror holds: $(cat "$MCM_TMP/check")"
}

for p in $pools; do
	follow_to "$M" "$URL" --create --once --pool "$p" --name "p$p" >"$MCM_TMP/out" 2>"$MCM_TMP/err" ||
		fail "follow --create --pool $p: $(cat "$MCM_TMP/err")"
done
check_table "first shipment"
assert_eq "$(sql_q "$DB" D "SELECT COUNT(*) FROM mcmirror_positions")" 5 "position rows"
assert_eq "$(sql_q "$DB" D "SELECT COUNT(*) FROM mcmirror_pools")" 5 "pool rows"
assert_eq "$(sql_q "$DB" D "SELECT value FROM mcmirror_meta WHERE name = 'schema_version'")" 1 "schema version"
assert_eq "$(sql_q "$DB" D "SELECT SUM(repeats) FROM mcmirror_positions")" 0 "changes given twice"
# the delayed flush of pool C is kept with its origin's position
ft=$(sql_q "$DB" D "SELECT MAX(flush_time) FROM mcmirror_positions")
[ "$ft" -gt "$(date +%s)" ] || fail "the delayed flush was not kept: '$ft'"

# nothing new: nothing shipped, nothing changed
follow_to "$M" "$URL" --once --pool 335ba8a0684190e6 --name p335ba8a0684190e6 2>"$MCM_TMP/err" ||
	fail "again: $(cat "$MCM_TMP/err")"
grep -q "^mcmirror: follow: 'postgresql\|^mcmirror: follow: 'mysql" "$MCM_TMP/err" && grep -q "': 0 changes applied" "$MCM_TMP/err" ||
	fail "a second run shipped again: $(cat "$MCM_TMP/err")"

# more writes to pool A go on top: a rewrite, a deletion, a drop, a new key; then a flush and a value after it
A=335ba8a0684190e6
"$MCM_BIN/sql_fill" "$M" 127.0.0.1:11211 set:a:empty=now-full del:a:ttl "set:new key=v" drop:a:grouped ||
	fail "more writes"
follow_to "$M" "$URL" --once --pool $A --name p$A 2>"$MCM_TMP/err" || fail "more: $(cat "$MCM_TMP/err")"
grep -q "': 4 changes applied" "$MCM_TMP/err" || fail "more writes: $(cat "$MCM_TMP/err")"
check_table "after more writes"
"$MCM_BIN/sql_fill" "$M" 127.0.0.1:11211 flush set:after=1 || fail "flush"
follow_to "$M" "$URL" --once --pool $A --name p$A --batch 1 2>"$MCM_TMP/err" || fail "flush: $(cat "$MCM_TMP/err")"
check_table "after a flush"
live=$(sql_q "$DB" D "SELECT COUNT(*) FROM mcmirror_items WHERE state = 'live' AND pool = $(python3 -c "print(0x$A - (1 << 64) if 0x$A >= 1 << 63 and '$DB' == 'pg' else 0x$A)")")
assert_eq "$live" 1 "live rows of the flushed pool"
assert_eq "$(sql_q "$DB" D "SELECT SUM(repeats) FROM mcmirror_positions")" 0 "changes given twice"

# Two more mirrors write the same keys at chosen times, and ship in the order that tries the rules:
# the newest write wins whichever arrives last, a deletion beats an older value, a tie goes to the
# larger origin id, and a host's own later change always replaces its earlier one.
X=$MCM_TMP/x Y=$MCM_TMP/y P=127.0.0.1:11300 T=1700000000000000
"$MCM_BIN/sql_fill" "$X" $P at:$((T + 200)):k1=x-new at:$((T + 100)):k2=x-old at:$((T + 300)):k3=x-tie \
	delat:$((T + 100)):k4 at:$((T + 500)):k5=x || fail "fill x"
"$MCM_BIN/sql_fill" "$Y" $P at:$((T + 100)):k1=y-old delat:$((T + 200)):k2 at:$((T + 300)):k3=y-tie \
	at:$((T + 50)):k4=y-older || fail "fill y"
follow_to "$X" "$URL" --once >/dev/null 2>"$MCM_TMP/err" || fail "x: $(cat "$MCM_TMP/err")"
follow_to "$Y" "$URL" --once >/dev/null 2>"$MCM_TMP/err" || fail "y: $(cat "$MCM_TMP/err")"
"$MCM_BIN/sql_fill" "$X" $P putat:$((T + 400)):k5=x-again-but-older-clock || fail "fill x again" # (a clock stepped back)
follow_to "$X" "$URL" --once >/dev/null 2>"$MCM_TMP/err" || fail "x again: $(cat "$MCM_TMP/err")"
"$MCM_TOOL" --mirror "$X" dump --all -f "$MCM_TMP/dx" && "$MCM_TOOL" --mirror "$Y" dump --all -f "$MCM_TMP/dy" || fail "dumps"
"$MCM_TOOL" --mirror "$M" dump --all -f "$MCM_TMP/dump" || fail "dump"
sql_export "$DB" D >"$MCM_TMP/export"
ox=$(sql_origin "$X") oy=$(sql_origin "$Y")
python3 "$SQL_CHECK" table "$MCM_TMP/export" --single "$MCM_TMP/dump=$(sql_origin "$M")" "$MCM_TMP/dx=$ox" \
	"$MCM_TMP/dy=$oy" >"$MCM_TMP/check" || fail "two origins: $(cat "$MCM_TMP/check")"
if [ "$DB" = pg ]; then text="encode(value, 'escape')"; else text=value; fi
row() { sql_q "$DB" D "SELECT state, COALESCE($text, '-') FROM mcmirror_items WHERE item_key = '$1'" | tr '\t|' '  '; }
assert_eq "$(row k1)" "live x-new" "newer value shipped first"
assert_eq "$(row k2)" "deleted -" "a newer deletion beats an older value"
if [[ $ox > $oy ]]; then tie=x-tie; else tie=y-tie; fi
assert_eq "$(row k3)" "live $tie" "a tie goes to the larger origin"
assert_eq "$(row k4)" "deleted -" "an older value does not bring a deleted key back"
assert_eq "$(row k5)" "live x-again-but-older-clock" "a host's own later change"

# import --from: a new mirror holds exactly what the store holds; a second import changes nothing
I=$MCM_TMP/imported
rows=$(sql_q "$DB" D "SELECT COUNT(*) FROM mcmirror_items")
live=$(sql_q "$DB" D "SELECT COUNT(*) FROM mcmirror_items WHERE state = 'live'")
"$MCM_TOOL" --mirror "$I" import --from "$URL" 2>"$MCM_TMP/err" || fail "import --from: $(cat "$MCM_TMP/err")"
grep -q "^mcmirror: import: imported 6 pools, $live live items and $((rows - live)) deletions from " "$MCM_TMP/err" ||
	fail "import --from summary ($rows rows, $live live): $(cat "$MCM_TMP/err")"
"$MCM_TOOL" --mirror "$I" dump --all -f "$MCM_TMP/di" || fail "dump of the imported mirror"
sql_export "$DB" D >"$MCM_TMP/export"
python3 "$SQL_CHECK" same "$MCM_TMP/di" "$MCM_TMP/export" >"$MCM_TMP/check" ||
	fail "the imported mirror is not the store: $(cat "$MCM_TMP/check")"
"$MCM_TOOL" --mirror "$I" import --from "$URL" --pool 335ba8a0684190e6 2>"$MCM_TMP/err" ||
	fail "import --from --pool: $(cat "$MCM_TMP/err")"
"$MCM_TOOL" --mirror "$I" dump --all -f "$MCM_TMP/di2" || fail "dump"
[ "$(grep -v '^created=' "$MCM_TMP/di" | grep -v '^DATA=END' | grep -v '^last_seq=')" = \
	"$(grep -v '^created=' "$MCM_TMP/di2" | grep -v '^DATA=END' | grep -v '^last_seq=')" ] || fail "a second import changed the mirror"
# usage: --from with --servers; an unknown scheme; a password is not shown
rc=0; "$MCM_TOOL" --mirror "$I" import --from "$URL" --servers 127.0.0.1:1 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 2 "--from with --servers"
rc=0; "$MCM_TOOL" --mirror "$I" import --from "redis://u:hunter2@h/0" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 2 "an unknown scheme"
grep -q "^mcmirror: import: --from 'redis://u@h/0': not a URL mcmirror reads" "$MCM_TMP/err" || fail "$(cat "$MCM_TMP/err")"
# a batch larger than what a sink keeps in memory (16 MB) is written while it is queued, in the
# transaction its commit ends: 180 values of 95 kB in one batch (then a few more changes on top); each
# row's value is checked by its MD5 against what sql_fill wrote
L=$MCM_TMP/large
"$MCM_BIN/sql_fill" "$L" 127.0.0.1:11400 big:large:180:95000 || fail "fill large"
follow_to "$L" "$URL" --once --batch 100000 2>"$MCM_TMP/err" || fail "large batch: $(cat "$MCM_TMP/err")"
grep -q "': 180 changes applied" "$MCM_TMP/err" || fail "large batch: $(cat "$MCM_TMP/err")"
"$MCM_BIN/sql_fill" "$L" 127.0.0.1:11400 set:large3=small del:large7 || fail "fill large again"
follow_to "$L" "$URL" --once 2>"$MCM_TMP/err" || fail "large batch again: $(cat "$MCM_TMP/err")"
if [ "$DB" = pg ]; then
	sql_q "$DB" D "SELECT encode(item_key, 'escape'), state, COALESCE(md5(value), '-') FROM mcmirror_items
		WHERE substring(item_key FROM 1 FOR 5) = 'large'::bytea ORDER BY 1" | tr '|' ' ' >"$MCM_TMP/large.rows"
else
	sql_q "$DB" D "SELECT item_key, state, COALESCE(MD5(value), '-') FROM mcmirror_items WHERE item_key LIKE 'large%'
		ORDER BY 1" | tr '\t' ' ' >"$MCM_TMP/large.rows"
fi
python3 - "$MCM_TMP/large.rows" <<-'PY' || fail "large batches: $(head -5 "$MCM_TMP/large.rows")"
	import hashlib, sys
	want = {}
	for i in range(180):
	    want['large%d' % i] = ('live', hashlib.md5(bytes((i * 31 + j * 7) % 256 for j in range(95000))).hexdigest())
	want['large3'] = ('live', hashlib.md5(b'small').hexdigest())
	want['large7'] = ('deleted', '-')
	got = {l.split()[0]: tuple(l.split()[1:]) for l in open(sys.argv[1]) if l.strip()}
	sys.exit(0 if got == want else 1)
PY
assert_eq "$(sql_q "$DB" D "SELECT SUM(changes) FROM mcmirror_positions WHERE origin = '$(sql_origin "$L")'")" 182 \
	"changes counted in large batches"
# PostgreSQL: --create leaves half of each page of mcmirror_items free, so that a batch rewriting every
# row of a page keeps each row's new version on its page (a HOT update: no index entry added;
# docs/SQL.md): 300 rows of 100 bytes (several full pages without it), rewritten in one batch, are
# all still on the page they were on
if [ "$DB" = pg ]; then
	assert_eq "$(sql_q pg D "SELECT array_to_string(reloptions, ',') FROM pg_class
		WHERE oid = 'mcmirror_items'::regclass")" "fillfactor=50" "storage parameters of mcmirror_items"
	H=$MCM_TMP/hot
	pages() {
		sql_q pg D "SELECT encode(item_key, 'hex'), (ctid::text::point)[0], seq FROM mcmirror_items
			WHERE origin = '$(sql_origin "$H")' ORDER BY 1"
	}
	"$MCM_BIN/mkmirror" "$H" 127.0.0.1:11500 300 100 >/dev/null || fail "mkmirror"
	follow_to "$H" "$URL" --once 2>"$MCM_TMP/err" || fail "rows to rewrite: $(cat "$MCM_TMP/err")"
	pages >"$MCM_TMP/pages.1"
	"$MCM_BIN/mkmirror" "$H" 127.0.0.1:11500 300 100 >/dev/null || fail "mkmirror again"
	follow_to "$H" "$URL" --once 2>"$MCM_TMP/err" || fail "rewritten rows: $(cat "$MCM_TMP/err")"
	grep -q "': 300 changes applied" "$MCM_TMP/err" || fail "rewritten rows: $(cat "$MCM_TMP/err")"
	pages >"$MCM_TMP/pages.2"
	assert_eq "$(wc -l <"$MCM_TMP/pages.1") $(cut -d'|' -f3 "$MCM_TMP/pages.1" "$MCM_TMP/pages.2" | sort -u | wc -l)" \
		"300 600" "rows, and distinct versions of them"
	[ "$(cut -d'|' -f1,2 "$MCM_TMP/pages.1" | awk -F'|' '{print $2}' | sort -u | wc -l)" -ge 3 ] ||
		fail "the rows fill fewer than 3 pages: $(cut -d'|' -f2 "$MCM_TMP/pages.1" | sort | uniq -c)"
	cmp -s <(cut -d'|' -f1,2 "$MCM_TMP/pages.1") <(cut -d'|' -f1,2 "$MCM_TMP/pages.2") ||
		fail "rewritten rows moved to other pages: $(diff <(cut -d'|' -f1,2 "$MCM_TMP/pages.1") \
			<(cut -d'|' -f1,2 "$MCM_TMP/pages.2") | grep -c '^>') of 300"
fi
echo PASS
