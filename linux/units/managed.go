package units

import (
	"path/filepath"
	"strings"
)

// The fleet's managed policy (docs/fleet.md) is read by every service at
// its start; the router also reads it again on its own, so every call
// answers to the policy as it is now. What the policy sets inside a
// service — its network rules, its deny lists — follows at the service's
// next start: a path unit watches the policy file and a oneshot unit
// restarts the running services when it changes.
const (
	ManagedPolicy      = "/etc/gimme/managed.yaml"
	ManagedPathUnit    = "carapace-managed.path"
	ManagedRestartUnit = "carapace-managed.service"
)

// ManagedRestarts are the units a policy change restarts, if running:
// every service but the router (which follows the file itself) and the
// egress proxy; the owner's instances by pattern.
func ManagedRestarts() []string {
	var out []string
	for _, s := range Services {
		switch {
		case s.Name == "router":
		case s.Template():
			out = append(out, strings.TrimSuffix(s.Unit(), ".service")+"*.service")
		default:
			out = append(out, s.Unit())
		}
	}
	return append(out, Egress.Unit())
}

// ManagedPathSections returns the path unit: a change of the policy
// file (written, replaced by a rename, created, removed) starts the
// restart unit.
func ManagedPathSections() []Section {
	return []Section{
		{Name: "Unit", Directives: kv(
			"Description", "Carapace: watch the managed policy",
			"Documentation", "https://github.com/gimme-tools/carapace/blob/main/docs/fleet.md",
		)},
		{Name: "Path", Directives: kv("PathChanged", ManagedPolicy, "Unit", ManagedRestartUnit)},
		{Name: "Install", Directives: kv("WantedBy", "multi-user.target")},
	}
}

// ManagedRestartSections returns the oneshot unit that restarts the
// running services. It runs as root (systemctl needs the manager's
// private socket) with nothing else: no network, no writable path, no
// capability, only Unix sockets.
func ManagedRestartSections() []Section {
	svc := kv(
		"Type", "oneshot",
		"ExecStart", "/usr/bin/systemctl try-restart "+strings.Join(ManagedRestarts(), " "),
	)
	svc = append(svc, base()...)
	svc = append(svc, kv(
		"ProtectSystem", "strict",
		"ProtectHome", "yes",
		"ProtectProc", "invisible",
		"ProcSubset", "pid",
		"PrivateNetwork", "yes",
		"RestrictAddressFamilies", "AF_UNIX",
		"MemoryDenyWriteExecute", "yes",
		"IPAddressDeny", "any",
	)...)
	return []Section{
		{Name: "Unit", Directives: kv(
			"Description", "Carapace: restart the services after a managed policy change",
			"Documentation", "https://github.com/gimme-tools/carapace/blob/main/docs/fleet.md",
		)},
		{Name: "Service", Directives: svc},
	}
}

// managedFiles are the two units, for BaseFiles.
func managedFiles() []File {
	return []File{
		{Path: filepath.Join(UnitDir, ManagedPathUnit), Mode: 0o644, Content: Render(header, ManagedPathSections())},
		{Path: filepath.Join(UnitDir, ManagedRestartUnit), Mode: 0o644, Content: Render(header, ManagedRestartSections())},
	}
}
