#!/usr/bin/env bash
# rootfs.sh prints the path of a cached minimal Debian 12 root file system
# tarball for the end-to-end test, building it with debootstrap the first
# time (about 65 s; later runs reuse the tarball).
set -euo pipefail

CACHE=${CARAPACE_E2E_CACHE:-/var/cache/carapace-e2e}
TARBALL=$CACHE/bookworm-minbase.tar.gz
# systemd, dbus: a booted system. acl: setfacl for the file service's
# folders. procps: ps for the checks. passwd and adduser come with minbase.
PACKAGES=systemd,systemd-sysv,dbus,acl,procps

if [[ -s $TARBALL ]]; then
	echo "$TARBALL"
	exit 0
fi
command -v debootstrap >/dev/null || apt-get install -y debootstrap systemd-container >&2
mirror=$(awk '/^URIs:/ && /debian\/?$/ {print $2; exit} /^deb / && !/security/ {print $2; exit}' \
	/etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "debootstrap bookworm from $mirror (first run only)" >&2
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$work/root" "$mirror" >&2
rm -f "$work"/root/var/cache/apt/archives/*.deb
tar -C "$work/root" -czf "$TARBALL.tmp" .
mv "$TARBALL.tmp" "$TARBALL"
echo "$TARBALL"
