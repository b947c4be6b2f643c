#!/bin/bash
# test_protect_tls.sh - replay, verify, import and follow over TLS (memcached -Z) with certificates the
# test makes: the right CA works and every value comes back (read by an independent Python client);
# the wrong CA, a self-signed certificate, a certificate for another name, a plain server and a
# client certificate that is missing or untrusted are refused with a message saying what failed,
# exit 1, and nothing reaches the server; a client certificate the server requires works; a unix
# socket stays plain; --tls-insecure connects to anything; TLS and SASL on one server work together
# (when memcached has SASL and saslpasswd2 is installed).
. "$MCM_HARNESS/lib.sh" || exit 1
. "$(dirname "$0")/protect_lib.sh"
need_memcached
need_python
memcached_offers --enable-ssl || skip "$MEMCACHED_BINARY has no TLS (-Z)"
CERTS=$MCM_TMP/certs
make_certs "$CERTS"
N=3000

mc_start S $(tls_opts server)
SRV=127.0.0.1:$S_PORT
M=$MCM_TMP/m
"$MCM_BIN/mkmirror" "$M" "$SRV" "$N" 300 0 tls: || fail "mkmirror"
TLS=(--tls --tls-ca "$CERTS/ca.crt")

# Refusals: each says what failed, exits 1, and the server stores nothing.
run replay --servers "$SRV" --tls --tls-ca "$CERTS/other.crt"
refused 1 "cannot connect to '$SRV': certificate verify failed for '$SRV': unable to get local issuer certificate"
run verify --servers "$SRV" --tls --tls-ca "$CERTS/other.crt"
refused 1 "certificate verify failed for '$SRV'"
run replay --servers "$SRV"
refused 1 "connection closed by the server before any answer (does it require SASL authentication (--auth-file) or TLS (--tls)?)"
assert_eq "$(total_items "$S_PORT" --tls "$CERTS/ca.crt")" 0 "items stored after refused replays"

mc_start SELF $(tls_opts self)
run replay --servers "127.0.0.1:$SELF_PORT" --tls
refused 1 "certificate verify failed for '127.0.0.1:$SELF_PORT': self-signed certificate"
mc_start WRONG $(tls_opts wrong)
run replay --servers "127.0.0.1:$WRONG_PORT" "${TLS[@]}"
refused 1 "certificate verify failed for '127.0.0.1:$WRONG_PORT': IP address mismatch"
run replay --servers "localhost:$WRONG_PORT" "${TLS[@]}"
refused 1 "certificate verify failed for 'localhost:$WRONG_PORT': hostname mismatch"
mc_start PLAIN
run replay --servers "127.0.0.1:$PLAIN_PORT" "${TLS[@]}"
refused 1 "TLS handshake with '127.0.0.1:$PLAIN_PORT' failed: wrong version number (is TLS enabled on the server: memcached -Z?)"
for p in "$SELF_PORT" "$WRONG_PORT"; do
	assert_eq "$(total_items "$p" --tls -)" 0 "items stored on a refused server"
done
assert_eq "$(mc_cmd "$PLAIN_PORT" 'stats\r\nquit\r\n' | tr -d '\r' | awk '$2 == "total_items" { print $3 }')" 0 \
	"items stored on the plain server"
# Files that cannot be used are named.
run replay --servers "$SRV" --tls-ca "$MCM_TMP/none.pem"
refused 1 "cannot read the CA file '$MCM_TMP/none.pem': No such file or directory"
run replay --servers "$SRV" --tls-ca "$CERTS/server.ext"
refused 1 "cannot load the CA file '$CERTS/server.ext': no certificate or crl found"
run replay --servers "$SRV" --tls-cert "$CERTS/client.crt" --tls-key "$CERTS/server.key"
refused 1 "cannot use the client key '$CERTS/server.key': key values mismatch"
run replay --servers "$SRV" --tls-key "$CERTS/client.key"
refused 2 "--tls-key needs --tls-cert"

# The right CA: replay, then every value read back independently; verify over TLS; by name too.
run replay --servers "$SRV" "${TLS[@]}"
assert_eq "$rc" 0 "replay over TLS ($(cat "$ERR"))"
grep -q "replayed $N, already present 0, skipped expired 0, failed 0" "$ERR" || fail "replay summary: $(cat "$ERR")"
out=$(check check "$S_PORT" "$N" 300 tls: --tls "$CERTS/ca.crt") || fail "values after the TLS replay: $out"
run verify --servers "$SRV" "${TLS[@]}"
assert_eq "$rc" 0 "verify over TLS ($(cat "$ERR"))"
grep -q "checked $N: matching $N," "$ERR" || fail "verify summary: $(cat "$ERR")"
run verify --servers "localhost:$S_PORT" "${TLS[@]}"
assert_eq "$rc" 0 "verify by host name ($(cat "$ERR"))"
# The checker can fail: a changed item is caught, and verify sees it too.
check fill "$S_PORT" 1 7 tls: --tls "$CERTS/ca.crt" || fail "overwrite"
out=$(check check "$S_PORT" "$N" 300 tls: --tls "$CERTS/ca.crt") && fail "the checker missed a changed item: $out"
run verify --servers "$SRV" "${TLS[@]}"
refused 1 "different value 1"
run verify --servers "$SRV" --tls --tls-insecure
grep -q "checked $N: matching $((N - 1))," "$ERR" || fail "--tls-insecure: $(cat "$ERR")"
run verify --servers "127.0.0.1:$SELF_PORT" --tls --tls-insecure
refused 1 "missing $N"

# A server that requires a client certificate (ssl_verify_mode 2: the TLS 1.3 alert comes after the
# handshake; the connect still fails, before anything is sent).
mc_start CC $(tls_opts server ssl_verify_mode=2 "ssl_ca_cert=$CERTS/clientca.crt")
run replay --servers "127.0.0.1:$CC_PORT" "${TLS[@]}"
refused 1 "cannot connect to '127.0.0.1:$CC_PORT': TLS: tlsv13 alert certificate required (the server wants a client certificate: --tls-cert and --tls-key)"
run replay --servers "127.0.0.1:$CC_PORT" "${TLS[@]}" --tls-cert "$CERTS/stranger.crt" --tls-key "$CERTS/stranger.key"
refused 1 "(the server does not trust the client certificate)"
CLIENT=(--tls-cert "$CERTS/client.crt" --tls-key "$CERTS/client.key")
assert_eq "$(total_items "$CC_PORT" --tls "$CERTS/ca.crt" "$CERTS/client.crt" "$CERTS/client.key")" 0 \
	"items stored by refused clients"
run replay --servers "127.0.0.1:$CC_PORT" "${TLS[@]}" "${CLIENT[@]}"
assert_eq "$rc" 0 "replay with a client certificate ($(cat "$ERR"))"
out=$(check check "$CC_PORT" "$N" 300 tls: --tls "$CERTS/ca.crt" "$CERTS/client.crt" "$CERTS/client.key") ||
	fail "values after the replay with a client certificate: $out"
run verify --servers "127.0.0.1:$CC_PORT" "${TLS[@]}" "${CLIENT[@]}"
assert_eq "$rc" 0 "verify with a client certificate ($(cat "$ERR"))"

# import over TLS: a server filled by the checker, imported, replayed into a plain server, checked there.
mc_start SRC $(tls_opts server)
check fill "$SRC_PORT" "$N" 300 imp: --tls "$CERTS/ca.crt" || fail "fill the TLS source"
M=$MCM_TMP/imported
run import --servers "127.0.0.1:$SRC_PORT" "${TLS[@]}"
assert_eq "$rc" 0 "import over TLS ($(cat "$ERR"))"
grep -q "imported $N, gone 0, misplaced 0, failed 0 of $N keys listed" "$ERR" || fail "import summary: $(cat "$ERR")"
mc_start DST
"$MCM_TOOL" --mirror "$M" replay --servers "127.0.0.1:$DST_PORT" 2>"$ERR" || fail "replay of the import: $(cat "$ERR")"
out=$(check check "$DST_PORT" "$N" 300 imp:) || fail "values imported over TLS: $out"
run import --servers "127.0.0.1:$SRC_PORT" --tls --tls-ca "$CERTS/other.crt"
refused 1 "certificate verify failed for '127.0.0.1:$SRC_PORT'"

# follow over TLS into a standby; a wrong CA is an outage it retries, said once.
M=$MCM_TMP/m
mc_start STANDBY $(tls_opts server)
run follow --servers "127.0.0.1:$STANDBY_PORT" --once "${TLS[@]}"
assert_eq "$rc" 0 "follow --once over TLS ($(cat "$ERR"))"
out=$(check check "$STANDBY_PORT" "$N" 300 tls: --tls "$CERTS/ca.crt") || fail "values followed over TLS: $out"
run follow --servers "127.0.0.1:$STANDBY_PORT" --name wrongca --once --timeout 1 --tls --tls-ca "$CERTS/other.crt"
refused 1 "certificate verify failed for '127.0.0.1:$STANDBY_PORT'"

# TLS and SASL on one server: replay and verify need both, and with both every value comes back
# (read by the independent client, also with both).
if memcached_offers --enable-sasl && PATH=$PATH:/usr/sbin:/sbin command -v saslpasswd2 >/dev/null; then
	PW=pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	credentials "$MCM_TMP/ts.cred" plain restore "$PW"
	sasl_server TS restore "$PW" $(tls_opts server)
	M=$MCM_TMP/m
	run replay --servers "127.0.0.1:$TS_PORT" --auth-file "$MCM_TMP/ts.cred"
	refused 1 "cannot connect to '127.0.0.1:$TS_PORT'"
	run replay --servers "127.0.0.1:$TS_PORT" "${TLS[@]}"
	refused 1 "cannot connect to '127.0.0.1:$TS_PORT'"
	assert_eq "$(total_items "$TS_PORT" --tls "$CERTS/ca.crt" --auth "$MCM_TMP/ts.cred")" 0 "items stored after refused replays (TLS and SASL)"
	run replay --servers "127.0.0.1:$TS_PORT" "${TLS[@]}" --auth-file "$MCM_TMP/ts.cred"
	assert_eq "$rc" 0 "replay with TLS and SASL ($(cat "$ERR"))"
	out=$(check check "$TS_PORT" "$N" 300 tls: --tls "$CERTS/ca.crt" --auth "$MCM_TMP/ts.cred") ||
		fail "values after the replay with TLS and SASL: $out"
	run verify --servers "127.0.0.1:$TS_PORT" "${TLS[@]}" --auth-file "$MCM_TMP/ts.cred"
	assert_eq "$rc" 0 "verify with TLS and SASL ($(cat "$ERR"))"
	grep -q "checked $N: matching $N," "$ERR" || fail "verify with TLS and SASL: $(cat "$ERR")"
	no_secret "$PW" "${OUTPUTS[@]}" "$MCM_TMP"/memcached-*.log
	echo "TLS and SASL on one server: $N values replayed and verified" >&2
else
	echo "TLS and SASL together not tested: memcached without -S or no saslpasswd2" >&2
fi

# A unix socket stays plain with --tls (memcached speaks no TLS there, even with -Z).
SOCK=$MCM_TMP/mc.sock
"$MEMCACHED_BINARY" -s "$SOCK" -u "$(id -un)" -m 64 $(tls_opts server) >"$MCM_TMP/memcached-sock.log" 2>&1 &
MCM_PIDS+=("$!")
for i in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || fail "memcached on a unix socket did not start: $(cat "$MCM_TMP/memcached-sock.log")"
run replay --servers "$SOCK" "${TLS[@]}"
assert_eq "$rc" 0 "replay --tls to a unix socket ($(cat "$ERR"))"
run verify --servers "$SOCK" "${TLS[@]}"
assert_eq "$rc" 0 "verify --tls on a unix socket ($(cat "$ERR"))"
echo ok
