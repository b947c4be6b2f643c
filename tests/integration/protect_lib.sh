# protect_lib.sh - what the protected-server tests share (sourced after lib.sh): certificates made by
# the test, credentials files, the independent checker, and the check that no secret leaked.

PY=/usr/bin/python3
CHECK_PY=$(dirname "${BASH_SOURCE[0]}")/protect_check.py

# check ARGS...: the independent client (protect_check.py: Python's own socket, ssl and struct).
check() {
	"$PY" "$CHECK_PY" "$@"
}

# memcached_offers OPTION: memcached's help lists OPTION (read whole: with pipefail, grep -q closing the
# pipe early would fail the pipeline by SIGPIPE and skip the test by mistake).
memcached_offers() {
	local help
	help=$("$MEMCACHED_BINARY" -h 2>&1) || true
	grep -qF -- "$1" <<<"$help"
}

need_python() {
	[ -x "$PY" ] || skip "no $PY (Debian package python3)"
}

# make_certs DIR: with openssl, EC keys, valid two days:
#   ca.crt        a CA; server.crt/.key signed by it for DNS:localhost and IP:127.0.0.1
#   other.crt     another CA (the wrong one)
#   self.crt/.key a self-signed server certificate (for 127.0.0.1)
#   wrong.crt/.key signed by ca.crt, but for DNS:db.example only
#   clientca.crt  a CA for clients; client.crt/.key signed by it
#   stranger.crt/.key a client certificate clientca did not sign
make_certs() {
	local d=$1
	command -v openssl >/dev/null || skip "no openssl (Debian package openssl)"
	mkdir -p "$d"
	(
		set -e
		cd "$d"
		key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1"; }
		ca() { key "$1.key"; openssl req -x509 -key "$1.key" -out "$1.crt" -days 2 -subj "/CN=$2"; }
		signed() { # NAME CA SUBJECT_ALT_NAME
			key "$1.key"
			openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1"
			printf 'subjectAltName=%s\n' "$3" >"$1.ext"
			openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 2 \
				-extfile "$1.ext" -out "$1.crt"
		}
		ca ca "mcmirror test CA"
		ca other "another CA"
		ca clientca "mcmirror client CA"
		signed server ca "DNS:localhost,IP:127.0.0.1"
		signed wrong ca "DNS:db.example"
		signed client clientca "DNS:client.example"
		signed stranger other "DNS:stranger.example"
		key self.key
		openssl req -x509 -key self.key -out self.crt -days 2 -subj "/CN=self" -addext "subjectAltName=IP:127.0.0.1"
	) >"$MCM_TMP/openssl.log" 2>&1 || fail "openssl could not make the test certificates: $(tail -3 "$MCM_TMP/openssl.log")"
}

# tls_opts NAME [memcached -o settings...]: the memcached options of a TLS server with certificate NAME.
tls_opts() {
	local name=$1 extra=""
	shift
	[ $# = 0 ] || extra=",$(IFS=,; echo "$*")"
	echo "-Z -o ssl_chain_cert=$CERTS/$name.crt,ssl_key=$CERTS/$name.key$extra"
}

# credentials FILE MECHANISM USER PASSWORD: a credentials file, mode 0600.
credentials() {
	(umask 077; printf '# test credentials\nmechanism %s\nuser %s\npassword %s\n' "$2" "$3" "$4" >"$1")
}

# total_items PORT [CHECK OPTIONS...]: how many items the server ever stored (the checker's count).
total_items() {
	local port=$1
	shift
	check count "$port" 0 0 x "$@"
}

# no_secret SECRET FILE...: fail when SECRET appears in any of the files.
no_secret() {
	local secret=$1 f
	shift
	for f in "$@"; do
		[ -e "$f" ] || continue
		! grep -aqF -- "$secret" "$f" || fail "the password appears in $f"
	done
}

# no_secret_in_process SECRET PID: nor in its command line or environment.
no_secret_in_process() {
	local f
	for f in cmdline environ; do
		tr '\0' '\n' <"/proc/$2/$f" >"$MCM_TMP/proc.$f" || fail "cannot read /proc/$2/$f"
		no_secret "$1" "$MCM_TMP/proc.$f"
	done
	! ps -ww -o args= -p "$2" | grep -qF -- "$1" || fail "the password appears in ps"
}

# sasl_server NAME USER PASSWORD [MEMCACHED OPTIONS...]: memcached -S (binary protocol only) whose SASL
# PLAIN users are in a sasldb the test makes with saslpasswd2 (its config in $MCM_TMP/sasl, found
# through SASL_CONF_PATH); the options are added to memcached's (e.g. TLS).
sasl_server() {
	local d=$MCM_TMP/sasl
	SASLPASSWD2=$(PATH=$PATH:/usr/sbin:/sbin command -v saslpasswd2 || true)
	[ -n "$SASLPASSWD2" ] || skip "no saslpasswd2 (Debian package sasl2-bin)"
	memcached_offers --enable-sasl || skip "$MEMCACHED_BINARY has no SASL (-S)"
	mkdir -p "$d"
	printf 'mech_list: plain\nsasldb_path: %s/sasldb2\n' "$d" >"$d/memcached.conf"
	printf '%s' "$3" | "$SASLPASSWD2" -f "$d/sasldb2" -a memcached -p -c "$2" ||
		fail "saslpasswd2 could not add the test user"
	SASL_CONF_PATH=$d mc_start "$1" -S -B binary "${@:4}"
}

# The tests' way of running the tool: stderr of the last run in $ERR, and a copy of every run's
# stderr listed in OUTPUTS (the secret checks read them all).
ERR=$MCM_TMP/err
OUTPUTS=()

# run CMD ARGS...: mcmirror with the mirror $M; sets rc.
run() {
	rc=0
	"$MCM_TOOL" --mirror "$M" "$@" 2>"$ERR" || rc=$?
	OUTPUTS+=("$MCM_TMP/err.${#OUTPUTS[@]}")
	cp "$ERR" "${OUTPUTS[-1]}"
}

# refused STATUS MESSAGE: the last run exited STATUS and said MESSAGE.
refused() {
	assert_eq "$rc" "$1" "exit status ($(cat "$ERR"))"
	grep -qF -- "$2" "$ERR" || fail "want '$2', got: $(cat "$ERR")"
}
