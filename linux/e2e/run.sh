#!/usr/bin/env bash
# run.sh DEB PROBE NETPROBE — the Linux end-to-end test: boot a minimal Debian 12
# under systemd-nspawn, install the .deb as apt would, check what issue 7
# lists from inside the booted system, purge, and print a summary table.
# Needs root, debootstrap and systemd-container (installed if missing).
# See docs/linux.md and /work/shared/notes/linux-e2e.md for the traps.
set -uo pipefail

DEB=$(readlink -f "$1")
PROBE=$(readlink -f "$2")
NETPROBE=$(readlink -f "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
START=$SECONDS
[[ $(id -u) = 0 ]] || { echo "e2e-linux must run as root" >&2; exit 2; }
command -v systemd-nspawn >/dev/null || apt-get install -y debootstrap systemd-container >&2

TARBALL=$("$HERE/rootfs.sh") || exit 1
WORK=$(mktemp -d /var/tmp/carapace-e2e.XXXXXX)
ROOT=$WORK/root
mkdir -p "$ROOT"
tar -C "$ROOT" -xzf "$TARBALL"

# The owner (ada, with folders and a secret outside them) and a stranger.
chroot "$ROOT" useradd -m -u 1000 -s /bin/bash ada
chroot "$ROOT" useradd -m -u 1001 -s /bin/bash mallory
install -d -o 1000 -g 1000 -m 0700 "$ROOT/home/ada/Documents" "$ROOT/home/ada/Projects" "$ROOT/home/ada/Secret" "$ROOT/home/ada/.config/gimme"
echo hello >"$ROOT/home/ada/Documents/hello.txt"
echo secret >"$ROOT/home/ada/Secret/key.txt"
install -m 0755 "$PROBE" "$ROOT/home/ada/Projects/landlockprobe"
install -m 0755 "$NETPROBE" "$ROOT/home/ada/Projects/netprobe"
# The one allowed host is the container's own 127.0.0.1:8080 (a loopback
# address is reached only when a rule names it); :8081 is not allowed.
cat >"$ROOT/home/ada/.config/gimme/local.yaml" <<'YAML'
services:
  file:  { enabled: true, paths: [~/Documents] }
  code:  { enabled: true, project_roots: [~/Projects], network: { allow: ["127.0.0.1:8080"] } }
  shell: { enabled: false }
  app:   { enabled: false }
YAML
chown -R 1000:1000 "$ROOT/home/ada"
chmod 0700 "$ROOT/home/ada"
mkdir -p "$ROOT/opt/payload"
cp "$DEB" "$ROOT/opt/payload/carapace.deb"
install -m 0755 "$NETPROBE" "$ROOT/opt/payload/netprobe"

systemd-nspawn -q -D "$ROOT" -M carapace-e2e --boot --register=no --keep-unit \
	--console=pipe --private-network \
	--system-call-filter="landlock_create_ruleset landlock_add_rule landlock_restrict_self" \
	</dev/null >"$WORK/boot.log" 2>&1 &
NSPAWN=$!
cleanup() {
	kill -TERM "$NSPAWN" 2>/dev/null
	wait "$NSPAWN" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# The container's systemd: the first descendant of nspawn named systemd.
L=""
for _ in $(seq 200); do
	for p in $(pgrep -P "$NSPAWN") $(pgrep -P "$(pgrep -P "$NSPAWN" | head -n1)" 2>/dev/null); do
		[[ $(cat "/proc/$p/comm" 2>/dev/null) = systemd ]] && L=$p
	done
	[[ -n $L ]] && break
	sleep 0.1
done
[[ -n $L ]] || { echo "container systemd never appeared"; cat "$WORK/boot.log"; exit 1; }
inside() { nsenter -t "$L" -a -- "$@"; }
state=""
for _ in $(seq 300); do
	state=$(inside systemctl is-system-running 2>/dev/null)
	[[ $state = running || $state = degraded ]] && break
	sleep 0.1
done
BOOTED=$((SECONDS - START))

declare -a ROWS
row() { ROWS+=("$(printf '%-44s %-8s %s' "$1" "$2" "$3")"); }
check() { # check NAME DETAIL-CMD... : pass when the command succeeds
	local name=$1; shift
	local out
	if out=$("$@" 2>&1); then row "$name" PASS "$(echo "$out" | tr '\n' ' ' | cut -c1-90)"
	else row "$name" FAIL "$(echo "$out" | tr '\n' ' ' | cut -c1-90)"
		printf '=== %s\n%s\n' "$name" "$out" >>"$FAIL_LOG"; fi
}
FAIL_LOG=${FAIL_LOG:-/tmp/carapace-e2e-failures.log}
: >"$FAIL_LOG"
as() { local u=$1; shift; inside runuser -u "$u" -- "$@"; }
skip() { row "$1" SKIP "skipped: not in this build ($2)"; }

t0=$SECONDS
check "apt install ./carapace.deb" inside env CARAPACE_OWNER=ada DEBIAN_FRONTEND=noninteractive apt-get install -y -q /opt/payload/carapace.deb
INSTALL_S=$((SECONDS - t0))
{ echo "=== journal after install"; inside journalctl --no-pager -n 60 -u 'carapace-*'; } >>"$FAIL_LOG" 2>&1
# supported NAME: the binary can serve NAME (see install.ProbeServices).
# Output is captured first: grep -q closing a pipe early trips pipefail.
supported() {
	local out
	out=$(inside carapace serve "$1" --config /dev/null --owner-config /dev/null --socket /dev/null/x 2>&1)
	[[ -n $out && $out != *"not in this build"* ]]
}
has() { local out; out=$(inside carapace "$@" 2>&1); [[ $out == *"usage: carapace $1"* || $out == *"carapace $1 "* ]]; }

# Users and sockets.
check "router runs as _gimme_router" sh -c "nsenter -t $L -a ps -eo user:20,comm | grep -E '^_gimme_router +carapace'"
check "code runs as _gimme_code" sh -c "nsenter -t $L -a ps -eo user:20,comm | grep -E '^_gimme_code +carapace'"
if supported file; then check "file runs as _gimme_file" sh -c "nsenter -t $L -a ps -eo user:20,comm | grep -E '^_gimme_file +carapace'"
else skip "file runs as _gimme_file" "carapace serve file"; fi
check "router.sock 0660 root:carapace-clients" sh -c "[ \"\$(nsenter -t $L -a stat -c '%a %U:%G' /run/gimme/router.sock)\" = '660 root:carapace-clients' ] && echo ok"
check "code.sock 0660 root:_gimme" sh -c "[ \"\$(nsenter -t $L -a stat -c '%a %U:%G' /run/gimme/code/code.sock)\" = '660 root:_gimme' ] && echo ok"

# Who may connect.
check "stranger refused at connect" sh -c "nsenter -t $L -a runuser -u mallory -- carapace whoami 2>&1 | grep -o 'connect: permission denied'"
check "owner: carapace whoami" sh -c "nsenter -t $L -a runuser -u ada -- carapace whoami | grep 'the owner'"
check "owner: carapace exec -- id (as _gimme_code)" sh -c "nsenter -t $L -a runuser -u ada -- carapace exec --cwd /home/ada/Projects -- id | grep _gimme_code"
check "code cannot read ~/Secret" sh -c "nsenter -t $L -a runuser -u ada -- carapace exec --cwd /home/ada/Projects -- cat /home/ada/Secret/key.txt 2>&1 | grep -o 'No such file or directory'"
check "Landlock inside the code unit" sh -c "nsenter -t $L -a runuser -u ada -- carapace exec --cwd /home/ada/Projects -- ./landlockprobe /home/ada/Projects/landlockprobe | grep 'permission denied; inside /usr: readable'"
check ".git/hooks read-only in the code unit" sh -c "nsenter -t $L -a runuser -u ada -- sh -c 'mkdir -p /home/ada/Projects/gitproj/.git/hooks && echo [core] > /home/ada/Projects/gitproj/.git/config' && nsenter -t $L -a runuser -u ada -- carapace exec --cwd /home/ada/Projects/gitproj -- sh -c 'touch made-here && echo x > .git/hooks/pre-commit' 2>&1 | grep -o 'Read-only file system'"
if has sandbox-exec; then
	check "command runs in sandbox-exec (NoNewPrivs)" sh -c "nsenter -t $L -a runuser -u ada -- carapace exec --cwd /home/ada/Projects -- grep -E '^NoNewPrivs:.1' /proc/self/status"
else skip "sandboxed command via sandbox-exec" "carapace sandbox-exec"; fi
if has token --help; then
	check "owner: token issue" sh -c "nsenter -t $L -a runuser -u ada -- carapace token issue --aud file --scope 'GET:~/Documents/*' --ttl 5m 2>/dev/null | grep -E '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$'"
else skip "owner: token issue" "carapace token"; fi
if supported file && has file --help; then
	check "owner: read an allowed file" sh -c "nsenter -t $L -a runuser -u ada -- carapace file read /home/ada/Documents/hello.txt | grep hello"
	check "file refuses ~/Secret" sh -c "! nsenter -t $L -a runuser -u ada -- carapace file read /home/ada/Secret/key.txt 2>&1 | grep -q secret"
elif supported file; then
	# No `carapace file` subcommand yet: the same through the raw method.
	check "owner: read an allowed file" sh -c "nsenter -t $L -a runuser -u ada -- carapace call file.read '{\"path\":\"/home/ada/Documents/hello.txt\"}' | grep hello"
	check "file refuses a folder not configured" sh -c "out=\$(nsenter -t $L -a runuser -u ada -- carapace call file.read '{\"path\":\"/home/ada/Secret/key.txt\"}' 2>&1); echo \"\$out\" | grep -q outside_allowed && ! echo \"\$out\" | grep -q secret && echo refused"
else
	skip "owner: read an allowed file" "carapace file"
	skip "file refuses outside folders" "carapace file"
fi
check "ACL only on configured folders" sh -c "nsenter -t $L -a getfacl -R -p /home/ada 2>/dev/null | awk '/^# file:/{f=\$3} /_gimme/{print f}' | sort -u | grep -v -E '^/home/ada/(Documents|Projects)' | grep . && exit 1; nsenter -t $L -a getfacl -p /home/ada/Projects | grep '^user:_gimme_code:rwx'"

# Network: the egress unit is the commands' one way out (docs/network.md).
inside systemd-run --quiet --unit=e2e-web /opt/payload/netprobe serve 127.0.0.1:8080 127.0.0.1:8081
check "network: an allowed host, through egress" sh -c "out=\$(nsenter -t $L -a runuser -u ada -- carapace exec --cwd /home/ada/Projects -- ./netprobe get http://127.0.0.1:8080/ 2>&1); echo \"\$out\"; echo \"\$out\" | grep -q 'served by 127.0.0.1:8080'"
check "network: an unlisted host refused (403)" sh -c "out=\$(nsenter -t $L -a runuser -u ada -- carapace exec --cwd /home/ada/Projects -- ./netprobe get http://127.0.0.1:8081/ 2>&1); echo \"\$out\"; echo \"\$out\" | grep -q '403' && ! echo \"\$out\" | grep -q 'served by'"
check "network: audit (allow :8080, deny :8081)" sh -c "log=\$(nsenter -t $L -a grep -h '\"by\":\"egress\"' /var/lib/carapace/audit/audit.log); echo \"\$log\" | grep '\"allow' | grep -q '127.0.0.1:8080' && echo \"\$log\" | grep '\"deny' | grep -q '127.0.0.1:8081' && echo \"\$log\" | wc -l"
check "egress runs as _gimme_egress" sh -c "nsenter -t $L -a ps -eo user:20,comm | grep -E '^_gimme_egress +carapace'"
check "egress.sock 0660 root:_gimme_code" sh -c "[ \"\$(nsenter -t $L -a stat -c '%a %U:%G' /run/gimme/egress/egress.sock)\" = '660 root:_gimme_code' ] && echo ok"
check "a command cannot reach egress.sock" sh -c "out=\$(nsenter -t $L -a runuser -u ada -- carapace exec --cwd /home/ada/Projects -- ./netprobe dial /run/gimme/egress/egress.sock 2>&1); echo \"\$out\"; ! echo \"\$out\" | grep -q connected"
check "stranger refused at egress.sock" sh -c "out=\$(nsenter -t $L -a runuser -u mallory -- /opt/payload/netprobe dial /run/gimme/egress/egress.sock 2>&1); echo \"\$out\"; echo \"\$out\" | grep -q 'permission denied'"

# Healing.
heal() {
	local unit=$1 before after
	before=$(inside systemctl show -p MainPID --value "$unit")
	inside systemctl kill -s KILL "$unit"
	for _ in $(seq 100); do
		after=$(inside systemctl show -p MainPID --value "$unit")
		[[ $after != 0 && $after != "$before" ]] && inside systemctl is-active -q "$unit" && break
		sleep 0.1
	done
	[[ $after != 0 && $after != "$before" ]] || return 1
	inside runuser -u ada -- carapace exec --cwd /home/ada/Projects -- true && echo "pid $before -> $after, exec ok"
}
check "systemctl kill -s KILL carapace-code heals" heal carapace-code.service
if supported file; then check "systemctl kill -s KILL carapace-file heals" heal carapace-file.service
else skip "systemctl kill -s KILL carapace-file heals" "carapace serve file"; fi

# Exposure, measured by the booted systemd.
for u in carapace-router carapace-code carapace-file carapace-egress carapace-shell@1000 carapace-app@1000 carapace-managed; do
	target=15; [[ $u = *@* ]] && target=50
	score=$(inside systemd-analyze security --no-pager "$u.service" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [[ -n $score ]] && (( 10#${score/./} <= target )); then row "exposure $u" PASS "$score (target $((target / 10)).$((target % 10)))"
	else row "exposure $u" FAIL "${score:-none} (target $((target / 10)).$((target % 10)))"; fi
done
# Fleets (issue 23): /etc/gimme/managed.yaml wins over local.yaml and
# flags, binds issued tokens at their next call, stops the service an
# invalid entry governs; refusals reach journald with their fields.
if has policy profile --help; then
	managed() { inside sh -c "printf '$1' >/etc/gimme/managed.yaml.new && chmod 0644 /etc/gimme/managed.yaml.new && mv /etc/gimme/managed.yaml.new /etc/gimme/managed.yaml"; }
	pid0=$(inside systemctl show -p MainPID --value carapace-file.service)
	managed 'services: [file, code]\nfolders: ["~/Documents"]\ntokens: {max_ttl: 1h}\n'
	# carapace-managed.path restarts the running services, so what the
	# policy sets inside them takes effect without a restart by hand.
	fleet_restart() {
		local pid
		for _ in $(seq 150); do
			pid=$(inside systemctl show -p MainPID --value carapace-file.service)
			if [[ -n $pid && $pid != 0 && $pid != "$pid0" ]]; then echo "carapace-file $pid0 → $pid"; return 0; fi
			sleep 0.2
		done
		echo "carapace-file still $pid0"
		inside systemctl status --no-pager carapace-managed.path carapace-managed.service 2>&1 | tail -20
		return 1
	}
	check "managed: a change restarts the services" fleet_restart
	as ada carapace config reload >/dev/null 2>&1
	fleet_wider() {
		as ada sh -c 'printf "services:\n  file: {enabled: true, paths: [~/Documents, ~/Secret]}\n  code: {enabled: true, project_roots: [~/Projects]}\n  shell: {enabled: true}\n" >/tmp/wider.yaml'
		local out
		out=$(as ada carapace config check --owner-config /tmp/wider.yaml 2>&1) || { echo "$out"; return 1; }
		echo "$out" | grep -A2 'key: services.shell.enabled' | grep -q 'layer: managed' &&
			! echo "$out" | grep -A1 'key: services.file.paths' | grep -q Secret && echo "shell off, ~/Secret dropped (layer managed)"
	}
	check "managed: local.yaml cannot widen" fleet_wider
	fleet_ttl() {
		local out
		out=$(as ada carapace token issue --aud file --scope 'GET:~/Documents/*' --ttl 10h --name codex 2>&1) && return 1
		echo "$out" | grep -o -E 'managed_token_lifetime|bad_ttl'
	}
	check "managed: --ttl 10h refused" fleet_ttl
	fleet_bind() {
		local tok out
		tok=$(as ada carapace token issue --aud file --scope 'GET:~/Documents/*' --ttl 30m --name codex) || return 1
		as ada carapace call --token "$tok" file.read '{"path":"/home/ada/Documents/hello.txt"}' | grep -q hello || return 1
		managed 'services: [code]\n'
		as ada carapace config reload >/dev/null || return 1
		out=$(as ada carapace call --token "$tok" file.read '{"path":"/home/ada/Documents/hello.txt"}' 2>&1)
		echo "$out" | grep -o managed_service
	}
	check "managed: a change binds an issued token" fleet_bind
	fleet_journal() {
		local out
		out=$(inside journalctl -o json --no-pager CARAPACE_DECISION=deny CARAPACE_REASON=managed_service)
		for f in '"CARAPACE_METHOD":"file.read"' '"CARAPACE_AGENT":"codex"' '"CARAPACE_RESOURCE":"/home/ada/Documents/hello.txt"' '"CARAPACE_BY":"router"' '"CARAPACE_SEQ":' '"CARAPACE_PREV":' '"MESSAGE_ID":"4f1c7e2a9b5d4c38a6e0d2b7c9f13a55"'; do
			echo "$out" | grep -q "$f" || { echo "no $f in: $out" | cut -c1-400; return 1; }
		done
		echo "refusal in journald with its fields"
	}
	check "journalctl CARAPACE_DECISION=deny" fleet_journal
	fleet_invalid() {
		managed 'network:\n  allow: ["not a host"]\n'
		inside systemctl restart carapace-code.service >/dev/null 2>&1
		for _ in $(seq 100); do
			inside journalctl --no-pager -u carapace-code.service -n 40 | grep -q 'managed.yaml:2: network.allow' && break
			sleep 0.1
		done
		! inside systemctl is-active -q carapace-code.service && inside journalctl --no-pager -u carapace-code.service -n 40 | grep -o 'managed.yaml:2: network.allow' | head -1
	}
	check "managed: an invalid entry stops code" fleet_invalid
	inside rm -f /etc/gimme/managed.yaml
	as ada carapace config reload >/dev/null 2>&1
	inside systemctl reset-failed carapace-code.service >/dev/null 2>&1
	inside systemctl restart carapace-code.service >/dev/null 2>&1
else skip "managed policy and journald export" "carapace policy profile"; fi
check "carapace-installer doctor" inside carapace-installer doctor

# Purge leaves nothing.
t0=$SECONDS
check "apt purge carapace" inside env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q carapace
PURGE_S=$((SECONDS - t0))
leftovers() {
	inside sh -c '
		ls -d /usr/lib/systemd/system/carapace* /etc/systemd/system/carapace* /usr/lib/sysusers.d/carapace* \
			/usr/lib/tmpfiles.d/carapace* /etc/gimme /var/lib/carapace /run/gimme /usr/bin/carapace 2>/dev/null
		getent passwd _gimme_router _gimme_file _gimme_code _gimme_egress
		getent group _gimme carapace-clients _gimme_router _gimme_file _gimme_code _gimme_egress
		systemctl list-units --all --no-legend "carapace*"
		getfacl -R -p /home/ada 2>/dev/null | grep -E "_gimme|user:[0-9]+:" 
		find / -xdev \( -nouser -o -nogroup \) -print 2>/dev/null | head
	' | grep . && return 1
	echo "no unit, user, group, socket, ACL or file left"
}
check "purge leaves nothing" leftovers

echo
echo "Carapace Linux end-to-end ($(inside systemctl --version | head -n1), booted in ${BOOTED}s, install ${INSTALL_S}s, purge ${PURGE_S}s, total $((SECONDS - START))s)"
printf '%-44s %-8s %s\n' CHECK RESULT DETAIL
printf '%s\n' "${ROWS[@]}"
! printf '%s\n' "${ROWS[@]}" | grep -qE '^.{44} FAIL'
