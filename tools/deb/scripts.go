package main

// The maintainer scripts. They only call carapace-installer, which holds
// every decision; `apt purge` ends with postrm removing what the
// installer kept for a reinstall (configuration, device key, audit log).

// postinst installs for an owner: $CARAPACE_OWNER, else the user who ran
// sudo, else the owner of a previous install, else the only login user.
const postinst = `#!/bin/sh
set -e
[ "$1" = configure ] || exit 0
if [ ! -d /run/systemd/system ]; then
	echo "carapace: systemd is not running; after booting with systemd run: sudo carapace-installer install --owner YOUR_USER" >&2
	exit 0
fi
owner=${CARAPACE_OWNER:-}
if [ -z "$owner" ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
	owner=$SUDO_USER
fi
if [ -z "$owner" ] && [ -r /etc/gimme/installed.json ]; then
	owner=$(sed -n 's/.*"name": *"\([^"]*\)".*/\1/p' /etc/gimme/installed.json | head -n 1)
fi
if [ -z "$owner" ]; then
	humans=$(getent passwd | awk -F: '$3 >= 1000 && $3 < 60000 { print $1 }')
	if [ "$(echo "$humans" | grep -c .)" = 1 ]; then
		owner=$humans
	fi
fi
if [ -z "$owner" ]; then
	echo "carapace: no owner chosen; run: sudo carapace-installer install --owner YOUR_USER" >&2
	exit 0
fi
carapace-installer install --owner "$owner"
echo "carapace: installed for $owner; $owner must log out and in to join carapace-clients; check with: carapace-installer doctor"
`

// prerm removes the install on remove; an upgrade keeps it running and
// the new postinst re-applies it.
const prerm = `#!/bin/sh
set -e
case "$1" in
remove | deconfigure)
	carapace-installer uninstall || true
	;;
esac
`

const postrm = `#!/bin/sh
set -e
if [ "$1" = purge ]; then
	rm -rf /etc/gimme /var/lib/carapace
fi
`
