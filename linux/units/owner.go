package units

import (
	"net/netip"
	"path/filepath"
	"strings"
)

// Owner is what the per-owner drop-ins are made from: the owner's
// configuration, resolved to absolute paths.
type Owner struct {
	Name string
	UID  string
	// Folders are the file service's folders.
	Folders []Folder
	// Roots are the code service's project roots.
	Roots []string
	// CodeNetwork is set when some command may use the network.
	CodeNetwork bool
	// AuditCollector are the addresses of the system config's syslog
	// collector (audit.export.syslog), resolved at install: the router
	// may reach them besides localhost.
	AuditCollector []netip.Addr
}

// Folder is one folder the file service may reach.
type Folder struct {
	Path     string
	ReadOnly bool
}

// DropIns returns the per-owner drop-ins: the file service's folders and
// the code service's roots bind-mounted into their otherwise empty /home.
// The code service never gets the network (PrivateNetwork= stays): where
// the owner allows hosts, its helpers and commands may make internet
// sockets, for the loopback of each command's own network namespace
// (the forwarder there, docs/network.md), and only loopback traffic
// passes; the connections leave through the egress unit (Egress).
func DropIns(o Owner) []File {
	var out []File
	var file []Directive
	for _, f := range o.Folders {
		key := "BindPaths"
		if f.ReadOnly {
			key = "BindReadOnlyPaths"
		}
		// "-": a folder that does not exist (yet) is skipped, not fatal.
		file = append(file, Directive{key, quote("-" + f.Path)})
	}
	if len(file) > 0 {
		out = append(out, dropIn("file", file))
	}
	var code []Directive
	for _, r := range o.Roots {
		code = append(code, Directive{"BindPaths", quote("-" + r)})
	}
	if o.CodeNetwork {
		// Sockets are filtered by the cgroup that made them, whatever
		// the namespace: IPAddressDeny=any would drop the commands'
		// loopback too.
		code = append(code, kv(
			"RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6",
			"IPAddressAllow", "localhost",
		)...)
	}
	if len(code) > 0 {
		out = append(out, dropIn("code", code))
	}
	if len(o.AuditCollector) > 0 {
		// The router exports audit records to the collector (docs/fleet.md);
		// it reaches nothing else but localhost.
		var ips []string
		fam := "AF_UNIX AF_INET"
		for _, a := range o.AuditCollector {
			ips = append(ips, a.Unmap().String())
			if a.Unmap().Is6() {
				fam = "AF_UNIX AF_INET AF_INET6"
			}
		}
		out = append(out, dropIn("router", kv("IPAddressAllow", strings.Join(ips, " "), "RestrictAddressFamilies", fam)))
	}
	return out
}

// DropInPath returns where the owner drop-in of service name lives.
func DropInPath(name string) string {
	s, _ := Lookup(name)
	return filepath.Join(DropInRoot, s.Unit()+".d", DropInName)
}

func dropIn(name string, d []Directive) File {
	return File{
		Path:    DropInPath(name),
		Mode:    0o644,
		Content: Render(header, []Section{{Name: "Service", Directives: d}}),
	}
}

// quote escapes a path for BindPaths=: backslash, quote and colon (the
// source:destination separator) are escaped, "%" is doubled (unit
// specifiers), and a path with blanks is quoted as one word.
func quote(p string) string {
	p = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `:`, `\:`, "%", "%%").Replace(p)
	if strings.ContainsAny(p, " \t") {
		return `"` + p + `"`
	}
	return p
}
