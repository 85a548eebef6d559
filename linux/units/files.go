package units

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Sysusers returns the sysusers.d file: one system user per service and
// one for the egress proxy (no shell, no home), the internal group with only the router in it, and
// the clients group.
func Sysusers() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", header)
	fmt.Fprintf(&b, "g %s - -\n", InternalGroup)
	fmt.Fprintf(&b, "g %s - -\n", ClientsGroup)
	for _, s := range Services {
		if !s.Template() {
			fmt.Fprintf(&b, "u %s - %q / /usr/sbin/nologin\n", s.User, s.Description)
		}
	}
	fmt.Fprintf(&b, "u %s - %q / /usr/sbin/nologin\n", Egress.User, Egress.Description)
	fmt.Fprintf(&b, "m _gimme_router %s\n", InternalGroup)
	return []byte(b.String())
}

// Tmpfiles returns the tmpfiles.d file: the socket directory, readable by
// all (the sockets' own modes decide who connects), and the router's
// state directory, 0711: no one else may list it, but the services, which
// re-verify every token, may open device.pub and revoked.json (0644) by
// name; device.key (0600) and the audit log (0700) stay the router's.
func Tmpfiles() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", header)
	fmt.Fprintf(&b, "d %s 0755 root root -\n", RuntimeDir)
	fmt.Fprintf(&b, "d %s 0711 _gimme_router _gimme_router -\n", StateDir)
	return []byte(b.String())
}

// BaseFiles returns every file that does not depend on the owner: the
// .deb ships exactly these.
func BaseFiles() []File {
	out := []File{
		{Path: SysusersFile, Mode: 0o644, Content: Sysusers()},
		{Path: TmpfilesFile, Mode: 0o644, Content: Tmpfiles()},
	}
	for _, s := range Services {
		out = append(out,
			File{Path: filepath.Join(UnitDir, s.Unit()), Mode: 0o644, Content: Render(header, ServiceSections(s))},
			File{Path: filepath.Join(UnitDir, s.SocketUnit()), Mode: 0o644, Content: Render(header, SocketSections(s))},
		)
	}
	out = append(out,
		File{Path: filepath.Join(UnitDir, Egress.Unit()), Mode: 0o644, Content: Render(header, EgressSections())},
		File{Path: filepath.Join(UnitDir, Egress.SocketUnit()), Mode: 0o644, Content: Render(header, EgressSocketSections())},
	)
	return append(out, managedFiles()...)
}
