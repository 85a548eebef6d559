package managed

import (
	"path"
	"slices"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/service"
)

// Change is one value the policy set over the layers below it: the key
// (as `carapace config check` names it) and what became of it.
type Change struct {
	Key  string `json:"key" yaml:"key"`
	What string `json:"what" yaml:"what"`
}

// Apply narrows the owner's and the system's configuration (expanded:
// home is what "~" stands for) to the policy, and returns what it changed.
// It only ever removes or adds limits: a service it does not allow is
// turned off, a folder or project root outside the patterns dropped, the
// deny globs added, the network rules intersected, the token lifetime
// lowered. A service the policy stops (Err) is turned off too.
func (p *Policy) Apply(o *config.Owner, sys *config.System, home string) []Change {
	if p == nil {
		return nil
	}
	var ch []Change
	note := func(key, what string) { ch = append(ch, Change{key, what}) }
	s := &o.Services
	for _, name := range service.Names() {
		on := enabled(s, name)
		if on == nil || !*on {
			continue
		}
		switch {
		case p.Err(name) != nil:
			*on = false
			note("services."+name+".enabled", "off: the managed policy has an error ("+p.Err(name).Error()+")")
		case !p.Allows(name):
			*on = false
			note("services."+name+".enabled", "off: not among the managed services")
		}
	}
	if p.Folders != nil {
		s.File.Paths = slices.DeleteFunc(s.File.Paths, func(f config.Folder) bool {
			out := !Inside(f.Path, p.Folders, home)
			if out {
				note("services.file.paths", "dropped "+f.Path+": outside the managed folders")
			}
			return out
		})
	}
	if p.ProjectRoots != nil {
		s.Code.ProjectRoots = slices.DeleteFunc(s.Code.ProjectRoots, func(r string) bool {
			out := !Inside(r, p.ProjectRoots, home)
			if out {
				note("services.code.project_roots", "dropped "+r+": outside the managed project roots")
			}
			return out
		})
	}
	if len(p.DenyRead) > 0 {
		s.File.Deny = append(s.File.Deny, p.DenyRead...)
		s.Code.DenyRead = append(s.Code.DenyRead, p.DenyRead...)
		note("services.file.deny", "added the managed deny_read")
		note("services.code.deny_read", "added the managed deny_read")
	}
	if len(p.DenyWrite) > 0 {
		s.File.DenyWrite = append(s.File.DenyWrite, p.DenyWrite...)
		note("services.file.deny_write", "added the managed deny_write")
	}
	if p.Network.Allow != nil || p.Network.Deny != nil {
		p.narrowNetwork(&s.Code.Network, note)
	}
	if max := p.MaxTTL(); max > 0 && (sys.Tokens.MaxTTL.D() <= 0 || sys.Tokens.MaxTTL.D() > max) {
		sys.Tokens.MaxTTL = config.Duration(max)
		note("tokens.max_ttl", "lowered to "+max.String())
	}
	return ch
}

func enabled(s *config.Services, name string) *bool {
	switch name {
	case "file":
		return &s.File.Enabled
	case "code":
		return &s.Code.Enabled
	case "shell":
		return &s.Shell.Enabled
	case "app":
		return &s.App.Enabled
	}
	return nil
}

// narrowNetwork keeps of each allow list only what the managed allow list
// also allows, and adds the managed deny list.
func (p *Policy) narrowNetwork(n *config.Network, note func(key, what string)) {
	if p.Network.Allow != nil {
		n.Allow = intersect(n.Allow, p.Network.Allow)
		for root, rs := range n.Projects {
			rs.Allow = intersect(rs.Allow, p.Network.Allow)
			n.Projects[root] = rs
		}
		note("services.code.network.allow", "kept within the managed network.allow")
	}
	if len(p.Network.Deny) > 0 {
		n.Deny = append(n.Deny, p.Network.Deny...)
		note("services.code.network.deny", "added the managed network.deny")
	}
}

// intersect returns the host rules allowed by both lists: each rule of
// own that a managed rule covers, and each managed rule that a rule of
// own covers (own "*.corp.example" and managed "git.corp.example" give
// "git.corp.example"). A rule neither side covers is left out.
func intersect(own, managed []string) []string {
	out := []string{}
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, os := range own {
		o, err := egress.ParseRule(os)
		if err != nil {
			continue // validated before; never widen on a surprise
		}
		for _, ms := range managed {
			m, err := egress.ParseRule(ms)
			if err != nil {
				continue
			}
			switch {
			case covers(m, o):
				add(os)
			case covers(o, m):
				add(ms)
			}
		}
	}
	return out
}

// covers reports whether every host and port rule b allows, a allows.
func covers(a, b egress.Rule) bool {
	hosts := false
	switch {
	case a.Host == "*":
		hosts = true
	case b.Host == "*":
	case a.Addr.IsValid() || b.Addr.IsValid():
		hosts = a.Addr == b.Addr
	case a.Suffix:
		hosts = strings.HasSuffix(b.Host, "."+a.Host) || (b.Suffix && b.Host == a.Host)
	default:
		hosts = !b.Suffix && a.Host == b.Host
	}
	if !hosts {
		return false
	}
	if a.AnyPort {
		return true
	}
	if b.AnyPort {
		return false
	}
	for _, port := range b.Ports {
		if !slices.Contains(a.Ports, port) {
			return false
		}
	}
	return true
}

// Inside reports whether p (absolute, clean) lies inside a match of one
// of the patterns: "~/Work/*" holds ~/Work/a and ~/Work/a/b, not ~/Work.
func Inside(p string, patterns []string, home string) bool {
	return inside(split(p), compile(patterns, home))
}

// compile expands and splits patterns.
func compile(patterns []string, home string) [][]string {
	out := make([][]string, len(patterns))
	for i, pat := range patterns {
		out[i] = split(config.ExpandHome(pat, home))
	}
	return out
}

func inside(segs []string, patterns [][]string) bool {
	for _, ps := range patterns {
		if len(ps) > len(segs) {
			continue
		}
		ok := true
		for i, g := range ps {
			if m, _ := path.Match(g, segs[i]); !m {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func split(p string) []string {
	p = strings.Trim(path.Clean(p), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// Lifetime is how long a token may be used: from its issue to its
// expiry, or from now when it names no issue time.
func Lifetime(issued, expires, now time.Time) time.Duration {
	if issued.IsZero() || issued.After(now) {
		issued = now
	}
	return expires.Sub(issued)
}
