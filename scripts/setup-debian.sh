#!/bin/bash
# setup-debian.sh - install what mcmirror needs to build and test, from Debian 12's packages.
#
# Run it as root, or as a user who may use sudo (it asks sudo itself). The README's commands and .ci/run both use it, so the list below
# is the one place the project's dependencies are named. Installing Debian's memcached package
# would start memcached.service (postgresql and mariadb-server their services, after creating
# their default clusters): a temporary policy-rc.d stops that (the demo and the tests start their own
# servers, on loopback or unix sockets in temporary directories, and never touch a system service).
set -euo pipefail
packages=(
	cmake gcc make pkg-config libc6-dev                 # build
	clang libclang-rt-14-dev python3                    # CI: the clang build, libFuzzer targets (tests/fuzz), their seeds
	groff-base                                          # tests: the man pages render cleanly
	libmemcached-dev liblmdb-dev                        # the shim and the tool
	libssl-dev                                          # the tool's TLS (--tls)
	libcmocka-dev memcached libmemcached-tools lmdb-utils  # tests: a real server, real clients
	valgrind                                            # tests: the unit tests under memcheck
	php-cli php-memcached python3-pylibmc               # tests: unmodified applications
	openssl sasl2-bin libsasl2-modules libsasl2-modules-db  # tests: certificates, SASL users (memcached -S)
	php-fpm libfcgi-bin                                 # tests: php-fpm workers, FastCGI requests (cgi-fcgi)
	libpq-dev libmariadb-dev                            # external stores: PostgreSQL, MariaDB/MySQL clients
	postgresql mariadb-server                           # tests: real servers the harness starts itself
)
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null; then
		exec sudo "$0" "$@"
	fi
	echo "setup-debian.sh: needs root to install packages (run it as root, or install sudo)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends "${packages[@]}" </dev/null >/dev/null
echo "setup-debian.sh: installed ${packages[*]}" >&2
