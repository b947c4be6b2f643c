#!/bin/bash
# setup-debian.sh - install what mcmirror needs to build and test, from Debian 12's packages.
# Run as root (or through sudo). Installs nothing else; starts no service.
set -euo pipefail
packages=(
	cmake gcc make pkg-config                 # build
	libmemcached-dev liblmdb-dev              # the shim and the tool
	libcmocka-dev memcached libmemcached-tools lmdb-utils  # tests: a real server, real clients
	php-cli php-memcached python3-pylibmc    # tests: unmodified applications
)
if [ "$(id -u)" != 0 ]; then
	echo "setup-debian.sh: run as root (sudo $0)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# Debian starts memcached.service on install; mcmirror's demo and tests start their own servers
# on other ports and never touch it.
echo "setup-debian.sh: installed ${packages[*]}" >&2
