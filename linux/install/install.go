package install

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/gimme-tools/carapace/linux/units"
)

// defaultOwnerYAML is the owner snapshot written when the owner has no
// local.yaml: the same defaults config.DefaultOwner gives.
const defaultOwnerYAML = `# The owner has no ~/.config/gimme/local.yaml: these are Carapace's defaults.
services:
  file:  { enabled: true, paths: [~/Documents, ~/Downloads, ~/Desktop] }
  code:  { enabled: true, project_roots: [~/Projects, ~/Code] }
  shell: { enabled: false }
  app:   { enabled: true, allowed_apps: ["Visual Studio Code", "Terminal", "Finder"] }
`

// InstallPlan returns the steps that install Carapace for f.Owner, or
// bring an existing install in line with the owner's current config.
func InstallPlan(f *Facts) Plan {
	var p Plan
	for _, file := range units.BaseFiles() {
		p = append(p, write(file.Path, file.Mode, file.Content, "base file (also shipped in the .deb)"))
	}
	p = append(p,
		run("create the service users and groups", "systemd-sysusers", units.SysusersFile),
		run("create /run/gimme and the state directory", "systemd-tmpfiles", "--create", units.TmpfilesFile),
	)
	if !f.HaveSystemConfig {
		p = append(p, write(units.SystemConfig, 0o644, []byte("# Carapace system settings; see docs.\nowner: "+f.Owner.Name+"\n"), "system config naming the owner"))
	}
	snap := f.OwnerConfig
	if snap == nil {
		snap = []byte(defaultOwnerYAML)
	}
	p = append(p, write(units.OwnerSnapshot, 0o600, snap, "snapshot of "+f.OwnerConfigPath+" the services read (LoadCredential)"))
	p = append(p, p.grantChanges(f)...)
	p = append(p, dropInSteps(f)...)
	p = append(p, run("let the owner reach the router socket (takes effect at the owner's next login)", "gpasswd", "-a", f.Owner.Name, units.ClientsGroup))
	on := f.enabled()
	p = append(p, write(units.InstallRecord, 0o600, recordJSON(f, on), "what this install granted, for uninstall"))
	p = append(p, run("load the units", "systemctl", "daemon-reload"))
	p = append(p, unitSteps(f, on)...)
	return p
}

// grantChanges revokes grants the last install made that the config no
// longer asks for, and grants the current ones (setfacl -m is idempotent).
func (Plan) grantChanges(f *Facts) []Step {
	want := f.grants()
	var p []Step
	if f.Previous != nil {
		for _, g := range f.Previous.Grants {
			if !slices.Contains(want, g) {
				p = append(p, revokeSteps(g, f.ServiceUIDs[g.User], atoi(f.Owner.UID), atoi(f.Owner.GID))...)
			}
		}
	}
	for _, g := range want {
		p = append(p, grantSteps(g)...)
	}
	return p
}

// dropInSteps writes the owner drop-ins and removes the ones no longer
// needed.
func dropInSteps(f *Facts) []Step {
	o := units.Owner{Name: f.Owner.Name, UID: f.Owner.UID, CodeNetwork: f.Config.Services.Code.Network.Any(), AuditCollector: f.AuditCollector}
	for _, g := range f.grants() {
		switch g.User {
		case "_gimme_file":
			o.Folders = append(o.Folders, units.Folder{Path: g.Path, ReadOnly: g.ReadOnly})
		case "_gimme_code":
			o.Roots = append(o.Roots, g.Path)
		}
	}
	var p []Step
	written := map[string]bool{}
	for _, d := range units.DropIns(o) {
		written[d.Path] = true
		p = append(p, write(d.Path, d.Mode, d.Content, "owner drop-in: the folders this service may reach"))
	}
	for _, s := range units.Services {
		if d := units.DropInPath(s.Name); !s.Template() && !written[d] && f.Exists(d) {
			p = append(p, remove(d, "no longer needed"))
		}
	}
	return p
}

// unitSteps enables and (re)starts the units of the enabled services and
// disables the rest, so a re-install applies a changed config.
func unitSteps(f *Facts, on []units.Service) []Step {
	var p []Step
	for _, s := range units.Services {
		svc, sock := s.Instance(f.Owner.UID)
		if !slices.Contains(on, s) {
			p = append(p, try(s.Name+" is disabled or not in this build", "systemctl", "disable", "--now", sock, svc))
			continue
		}
		p = append(p,
			run("start "+s.Name+" at boot and now", "systemctl", "enable", "--now", sock),
			run("start "+s.Name+" with the current config", "systemctl", "enable", svc),
			run("(re)start "+s.Name+" with the current config", "systemctl", "restart", svc),
		)
	}
	// A change of the managed policy restarts the running services
	// (docs/fleet.md); with no policy the path unit only waits.
	p = append(p, run("restart the services when the managed policy changes", "systemctl", "enable", "--now", units.ManagedPathUnit))
	// The egress proxy runs with the code service: its commands' one
	// way to the network (docs/network.md).
	svc, sock := units.Egress.Unit(), units.Egress.SocketUnit()
	if !slices.ContainsFunc(on, func(s units.Service) bool { return s.Name == "code" }) {
		return append(p, try("egress is not needed without the code service", "systemctl", "disable", "--now", sock, svc))
	}
	return append(p,
		run("start the egress proxy at boot and now", "systemctl", "enable", "--now", sock),
		run("start the egress proxy with the code service", "systemctl", "enable", svc),
		run("(re)start the egress proxy", "systemctl", "restart", svc),
	)
}

func recordJSON(f *Facts, on []units.Service) []byte {
	r := Record{Owner: f.Owner, Grants: f.grants()}
	for _, s := range on {
		svc, sock := s.Instance(f.Owner.UID)
		r.Units = append(r.Units, sock, svc)
		if s.Name == "code" {
			r.Units = append(r.Units, units.Egress.SocketUnit(), units.Egress.Unit())
		}
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	return append(b, '\n')
}

// UninstallPlan returns the steps that remove every trace of an install:
// units, drop-ins, ACLs, users, groups, sockets and the installer's
// record; with purge also the configuration, the device key and the
// audit log. Without purge those stay, owned by root, for a reinstall.
func UninstallPlan(f *Facts, purge bool) Plan {
	var p Plan
	var all []string
	for _, s := range units.Services {
		if !s.Template() {
			all = append(all, s.SocketUnit(), s.Unit())
		}
	}
	all = append(all, units.Egress.SocketUnit(), units.Egress.Unit(), units.ManagedPathUnit, units.ManagedRestartUnit)
	if f.Previous != nil {
		for _, u := range f.Previous.Units {
			if !slices.Contains(all, u) {
				all = append(all, u)
			}
		}
	}
	p = append(p, try("stop every Carapace unit", append([]string{"systemctl", "disable", "--now"}, all...)...))
	if f.Previous != nil {
		uid, gid := atoi(f.Previous.Owner.UID), atoi(f.Previous.Owner.GID)
		for _, g := range f.Previous.Grants {
			p = append(p, revokeSteps(g, f.ServiceUIDs[g.User], uid, gid)...)
		}
	}
	for _, file := range units.BaseFiles() {
		p = append(p, remove(file.Path, "base file"))
	}
	for _, s := range units.Services {
		p = append(p, remove(filepath.Dir(units.DropInPath(s.Name)), "owner drop-ins"))
	}
	p = append(p,
		try("forget the removed units", "systemctl", "daemon-reload"),
		try("clear failed-unit records", "systemctl", "reset-failed"),
		remove(units.RuntimeDir, "sockets"),
		remove(units.InstallRecord, "the installer's record"),
	)
	codeState := filepath.Join(filepath.Dir(units.StateDir), units.CodeStateDir)
	if purge {
		p = append(p, remove(units.StateDir, "device key, revocation list, audit log (--purge)"),
			remove(codeState, "credential routes' secrets (--purge)"),
			remove(units.ConfigDir, "configuration (--purge)"))
	} else {
		p = append(p, try("keep the state for a reinstall, owned by root", "chown", "-R", "root:root", units.StateDir),
			try("keep the routes' secrets for a reinstall, owned by root", "chown", "-R", "root:root", codeState))
	}
	for _, s := range units.Services {
		if !s.Template() {
			p = append(p, try("remove the service user", "userdel", s.User))
		}
	}
	p = append(p, try("remove the egress proxy's user", "userdel", units.Egress.User))
	for _, g := range []string{units.InternalGroup, units.ClientsGroup, "_gimme_router", "_gimme_file", "_gimme_code", units.Egress.User} {
		p = append(p, try("remove the group if it is left", "groupdel", g))
	}
	return p
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// String summarises a record for status output.
func (r *Record) String() string {
	return fmt.Sprintf("owner %s (uid %s), %d folder grants, units %v", r.Owner.Name, r.Owner.UID, len(r.Grants), r.Units)
}
