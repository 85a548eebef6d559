#!/usr/bin/env bash
# deps.sh installs the Debian packages Carapace's tests and benchmarks use.
# It runs apt-get only for what is missing, so it is quick when all is there.
set -euo pipefail
need=()
for pair in socat:socat bwrap:bubblewrap setfacl:acl shellcheck:shellcheck; do
	cmd=${pair%%:*} pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
# chromium runs the browser check of the WebSocket entry (it skips
# without it); large, so it is installed only as root and never required.
if [ "$(id -u)" -eq 0 ] && ! command -v chromium >/dev/null 2>&1 && [ -z "${CARAPACE_NO_BROWSER:-}" ]; then
	need+=(chromium)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
	exit 0
fi
echo "deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; } || {
	echo "deps: could not install ${need[*]}; tests that need them will skip" >&2
}
