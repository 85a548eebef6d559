package install

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strings"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/managed"
	"github.com/gimme-tools/carapace/core/stack"
	"github.com/gimme-tools/carapace/linux/units"
)

// Account is a user as the plan needs it.
type Account struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
	GID  string `json:"gid"`
	Home string `json:"home"`
}

// Facts is everything about the system a plan is made from. Gather reads
// them; tests build them by hand.
type Facts struct {
	Owner Account
	// OwnerConfigPath and OwnerConfig are the owner's local.yaml (nil
	// when there is none: the defaults apply).
	OwnerConfigPath string
	OwnerConfig     []byte
	Config          *config.Owner
	// Supported names the services this carapace binary can serve.
	Supported map[string]bool
	// HaveSystemConfig is set when /etc/gimme/carapace.yaml exists (it
	// is the admin's then, and never overwritten).
	HaveSystemConfig bool
	// AuditCollector are the addresses of the system config's syslog
	// collector, resolved now (the router's unit may reach them).
	AuditCollector []netip.Addr
	// Previous is the last install's record, if any.
	Previous *Record
	// ServiceUIDs are the uids of the service users that exist.
	ServiceUIDs map[string]int
	// Exists reports whether a path exists.
	Exists func(string) bool
}

// Record is what an install granted, kept in units.InstallRecord so that
// uninstall (and the next install) take back exactly that.
type Record struct {
	Owner  Account  `json:"owner"`
	Grants []Grant  `json:"grants"`
	Units  []string `json:"units"`
}

// GatherOwner reads the facts an install for owner needs.
func GatherOwner(owner string) (*Facts, error) {
	u, err := user.Lookup(owner)
	if err != nil {
		return nil, fmt.Errorf("owner %q: %w (give an existing login with --owner)", owner, err)
	}
	f := base()
	f.Owner = Account{Name: u.Username, UID: u.Uid, GID: u.Gid, Home: u.HomeDir}
	f.OwnerConfigPath = config.OwnerPath(u.HomeDir, "")
	f.OwnerConfig, err = os.ReadFile(f.OwnerConfigPath)
	if errors.Is(err, fs.ErrNotExist) {
		f.OwnerConfig, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the owner's config: %w", err)
	}
	if f.Config, err = config.LoadOwner(f.OwnerConfigPath, u.HomeDir); err != nil {
		return nil, err
	}
	// Grant (ACLs, bind mounts, units) only what the fleet's managed
	// policy allows: the services narrow to it again at every start.
	p, _, _ := managed.Locate("")
	managed.Load(p, false).Apply(f.Config, &config.System{}, u.HomeDir)
	f.Supported = ProbeServices(units.Binary)
	if f.HaveSystemConfig {
		sys, err := config.LoadSystem(units.SystemConfig, true)
		if err != nil {
			return nil, err
		}
		if f.AuditCollector, err = collector(sys.Audit.Export.Syslog.Address); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// collector resolves a syslog collector's host:port ("" none) to the
// addresses the router's unit lets it reach.
func collector(addr string) ([]netip.Addr, error) {
	if addr == "" {
		return nil, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("audit.export.syslog.address %q: %w", addr, err)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
	if err != nil || len(ips) == 0 {
		return nil, fmt.Errorf("audit.export.syslog.address %q: the installer lets the router reach the collector's addresses and could not resolve it: %v (give an IP address, or fix the name and run the installer again)", addr, err)
	}
	return ips, nil
}

// Gather reads the facts an uninstall or status needs.
func Gather() *Facts { return base() }

func base() *Facts {
	f := &Facts{Exists: exists, ServiceUIDs: map[string]int{}}
	f.HaveSystemConfig = exists(units.SystemConfig)
	if b, err := os.ReadFile(units.InstallRecord); err == nil {
		var r Record
		if json.Unmarshal(b, &r) == nil {
			f.Previous = &r
		}
	}
	for _, s := range units.Services {
		if s.Template() {
			continue
		}
		if u, err := user.Lookup(s.User); err == nil {
			var n int
			fmt.Sscan(u.Uid, &n)
			f.ServiceUIDs[s.User] = n
		}
	}
	return f
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// ProbeServices asks the carapace binary which services it can serve: a
// service this build lacks fails with "not in this build" before it
// touches its socket; one it has gets as far as the (impossible) socket.
// The router is always there.
func ProbeServices(bin string) map[string]bool {
	out := map[string]bool{"router": true}
	for _, s := range units.Services {
		if s.Name == "router" {
			continue
		}
		msg, _ := exec.Command(bin, "serve", s.Name, "--config", os.DevNull,
			"--owner-config", os.DevNull, "--socket", "/dev/null/probe.sock").CombinedOutput()
		out[s.Name] = len(msg) > 0 && !strings.Contains(string(msg), "not in this build")
	}
	return out
}

// owned lists the service names the owner config enables and the
// binary supports, router first.
func (f *Facts) enabled() []units.Service {
	var out []units.Service
	for _, s := range units.Services {
		on := s.Name == "router" || stack.Enabled(f.Config, s.Name)
		if on && f.Supported[s.Name] {
			out = append(out, s)
		}
	}
	return out
}

// grants returns the ACL grants the owner config asks for, on folders
// that exist.
func (f *Facts) grants() []Grant {
	var out []Grant
	add := func(g Grant) {
		if f.Exists(g.Path) && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	if f.Config.Services.File.Enabled && f.Supported["file"] {
		for _, d := range f.Config.Services.File.Paths {
			add(Grant{Path: d.Path, User: "_gimme_file", Owner: f.Owner.Name, ReadOnly: d.ReadOnly || d.Mode == "ro"})
		}
	}
	if f.Config.Services.Code.Enabled && f.Supported["code"] {
		for _, r := range f.Config.Services.Code.ProjectRoots {
			add(Grant{Path: r, User: "_gimme_code", Owner: f.Owner.Name})
		}
	}
	return out
}
