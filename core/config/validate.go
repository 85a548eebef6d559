package config

import (
	"errors"
	"sort"

	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/policy"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/service/file"
	"net"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func (c *System) validate(path string) error {
	if c.Owner != "" {
		if _, err := strconv.Atoi(c.Owner); err != nil {
			if _, err := user.Lookup(c.Owner); err != nil {
				return fieldError(path, 0, "owner", "no user "+strconv.Quote(c.Owner)+" on this machine")
			}
		}
	}
	for _, d := range []struct{ key, v string }{{"runtime_dir", c.RuntimeDir}, {"state_dir", c.StateDir}, {"audit.path", c.Audit.Path}} {
		if d.v != "" && !filepath.IsAbs(d.v) {
			return fieldError(path, 0, d.key, "must be an absolute path")
		}
	}
	for i, is := range c.Issuers {
		if is.Issuer == "" || is.JWKSFile == "" {
			return fieldError(path, 0, "issuers["+strconv.Itoa(i)+"]", "needs both issuer and jwks_file")
		}
		if !filepath.IsAbs(is.JWKSFile) {
			return fieldError(path, 0, "issuers["+strconv.Itoa(i)+"].jwks_file", "must be an absolute path")
		}
	}
	if s := c.Audit.Export.Syslog; s.Address != "" {
		if _, port, err := net.SplitHostPort(s.Address); err != nil || port == "" {
			return fieldError(path, 0, "audit.export.syslog.address", "expected host:port, e.g. siem.example.com:6514")
		}
		for _, f := range []struct{ key, v string }{{"ca_file", s.CAFile}, {"cert_file", s.CertFile}, {"key_file", s.KeyFile}} {
			if f.v != "" && !filepath.IsAbs(f.v) {
				return fieldError(path, 0, "audit.export.syslog."+f.key, "must be an absolute path")
			}
		}
		if (s.CertFile == "") != (s.KeyFile == "") {
			return fieldError(path, 0, "audit.export.syslog", "cert_file and key_file go together")
		}
	} else if s != (Syslog{}) {
		return fieldError(path, 0, "audit.export.syslog.address", "needed with the other syslog keys")
	}
	if n := c.Services.Code.Network; n != nil {
		if _, err := egress.ParseRules(n.Allow, n.Deny); err != nil {
			return fieldError(path, 0, "services.code.network", err.Error())
		}
	}
	switch c.Audit.Fsync {
	case "", "always", "batch":
	default:
		return fieldError(path, 0, "audit.fsync", "expected always or batch")
	}
	if l := c.WS.Listen; l != "" {
		host, port, err := net.SplitHostPort(l)
		if err != nil || port == "" {
			return fieldError(path, 0, "websocket.listen", "expected host:port, e.g. 127.0.0.1:7001")
		}
		if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && !c.WS.AllowNonLoopback {
			return fieldError(path, 0, "websocket.listen", "must be a loopback address (127.0.0.1, [::1], localhost)")
		}
	}
	if u := c.Relay.URL; u != "" && !strings.HasPrefix(u, "wss://") && !strings.HasPrefix(u, "ws://127.0.0.1") && !strings.HasPrefix(u, "ws://localhost") && !strings.HasPrefix(u, "ws://[::1]") {
		return fieldError(path, 0, "relay.url", "must be wss:// (ws:// only for loopback)")
	}
	return nil
}

func (c *Owner) validate(path string) error {
	for i, f := range c.Services.File.Paths {
		if !absOrHome(f.Path) {
			return fieldError(path, 0, "services.file.paths["+strconv.Itoa(i)+"]", strconv.Quote(f.Path)+" must be absolute or start with ~/")
		}
	}
	globs := map[string][]string{"services.file.deny": c.Services.File.Deny, "services.file.deny_write": c.Services.File.DenyWrite}
	for i, f := range c.Services.File.Paths {
		k := "services.file.paths[" + strconv.Itoa(i) + "]"
		globs[k+".deny"], globs[k+".deny_write"] = f.Deny, f.DenyWrite
	}
	for i, pr := range c.Services.Code.Projects {
		k := "services.code.projects[" + strconv.Itoa(i) + "]"
		if !absOrHome(pr.Path) {
			return fieldError(path, 0, k+".path", strconv.Quote(pr.Path)+" must be absolute or start with ~/")
		}
		globs[k+".deny_read"] = pr.DenyRead
	}
	globs["services.code.deny_read"] = c.Services.Code.DenyRead
	for key, gs := range globs {
		if err := file.CheckGlobs(gs); err != nil {
			return fieldError(path, 0, key, err.Error()+` (path.Match syntax: *, ?, [abc]; a trailing / covers a folder and all it holds)`)
		}
	}
	if err := redact.CheckPatterns(c.Redact.Patterns); err != nil {
		return fieldError(path, 0, "redact.patterns", err.Error())
	}
	for i, r := range c.Services.Code.ProjectRoots {
		if !absOrHome(r) {
			return fieldError(path, 0, "services.code.project_roots["+strconv.Itoa(i)+"]", strconv.Quote(r)+" must be absolute or start with ~/")
		}
	}
	if err := c.Services.Code.Network.validate(path); err != nil {
		return err
	}
	if n := c.Services.Code.WarmHelpers; n < -1 || n > 64 {
		return fieldError(path, 0, "services.code.warm_helpers", "expected -1 (none), 0 (the default, 2) or up to 64")
	}
	switch c.Services.Code.Sandbox {
	case "", "on", "off":
	default:
		return fieldError(path, 0, "services.code.sandbox", "expected on or off")
	}
	if r := c.Services.Shell.Reviewer; r != "" && !filepath.IsAbs(r) {
		return fieldError(path, 0, "services.shell.reviewer", "expected an absolute path to the reviewer command")
	}
	if d := c.Services.Shell.ReviewerTimeout.D(); d < 0 || d > 10*time.Minute {
		return fieldError(path, 0, "services.shell.reviewer_timeout", "expected a duration up to 10m")
	}
	for _, rules := range []struct {
		key   string
		rules []PolicyRule
	}{{"services.code.policy", c.Services.Code.Policy}, {"services.shell.policy", c.Services.Shell.Policy}} {
		if _, err := (policy.Config{Policy: rules.rules}).Rules(); err != nil {
			var re *policy.RuleError
			if errors.As(err, &re) {
				return fieldError(path, re.Line, rules.key, err.Error())
			}
			return fieldError(path, 0, rules.key, err.Error())
		}
	}
	return nil
}

func absOrHome(p string) bool {
	return filepath.IsAbs(p) || p == "~" || strings.HasPrefix(p, "~/")
}

// ExpandHome replaces a leading "~" with home and cleans the result.
func ExpandHome(p, home string) string {
	switch {
	case p == "~":
		return filepath.Clean(home)
	case strings.HasPrefix(p, "~/"):
		return filepath.Join(home, p[2:])
	}
	return filepath.Clean(p)
}

func (c *Owner) expand(home string) {
	for i := range c.Services.File.Paths {
		c.Services.File.Paths[i].Path = ExpandHome(c.Services.File.Paths[i].Path, home)
	}
	for i := range c.Services.Code.ProjectRoots {
		c.Services.Code.ProjectRoots[i] = ExpandHome(c.Services.Code.ProjectRoots[i], home)
	}
	if ps := c.Services.Code.Network.Projects; ps != nil {
		expanded := make(map[string]NetworkRules, len(ps))
		for root, rs := range ps {
			expanded[ExpandHome(root, home)] = rs
		}
		c.Services.Code.Network.Projects = expanded
	}
	for i := range c.Services.Code.Projects {
		c.Services.Code.Projects[i].Path = ExpandHome(c.Services.Code.Projects[i].Path, home)
	}
}

// NetworkCap returns the system's cap on the owner's network rules
// (services.code.network in the system file), and whether one is set.
// Call it on a validated config.
func (c SystemCode) NetworkCap() (egress.Cap, bool) {
	if c.Network == nil {
		return egress.Cap{}, false
	}
	rs, _ := egress.ParseRules(c.Network.Allow, c.Network.Deny)
	return egress.Cap{Name: "the system's cap (services.code.network in the system file)", Allow: rs.Allow, Deny: rs.Deny}, true
}

func (n Network) validate(path string) error {
	if _, err := egress.ParseRules(n.Allow, n.Deny); err != nil {
		return fieldError(path, 0, "services.code.network", err.Error())
	}
	for _, root := range n.projectRoots() {
		key := "services.code.network.projects[" + strconv.Quote(root) + "]"
		if !absOrHome(root) {
			return fieldError(path, 0, key, strconv.Quote(root)+" must be absolute or start with ~/")
		}
		if _, err := egress.ParseRules(n.Projects[root].Allow, n.Projects[root].Deny); err != nil {
			return fieldError(path, 0, key, err.Error())
		}
	}
	return nil
}

func (n Network) projectRoots() []string {
	roots := make([]string, 0, len(n.Projects))
	for r := range n.Projects {
		roots = append(roots, r)
	}
	sort.Strings(roots)
	return roots
}

// RulesFor returns the rules for commands run in dir: the top-level lists
// and those of every project root that holds dir. Call it on a
// validated, expanded config.
func (n Network) RulesFor(dir string) egress.Rules {
	rs, _ := egress.ParseRules(n.Allow, n.Deny)
	rs.Ask = n.Ask
	for _, root := range n.projectRoots() {
		if dir == root || root == "/" || strings.HasPrefix(dir, root+"/") {
			p, _ := egress.ParseRules(n.Projects[root].Allow, n.Projects[root].Deny)
			rs = rs.Merge(p)
		}
	}
	return rs
}

// WholeNetwork lists where the config allows every host ("*"): the key
// of each such list. `carapace config check` and `doctor` flag them.
func (n Network) WholeNetwork() []string {
	var keys []string
	if rs, err := egress.ParseRules(n.Allow, nil); err == nil && rs.Everything() {
		keys = append(keys, "services.code.network.allow")
	}
	for _, root := range n.projectRoots() {
		if rs, err := egress.ParseRules(n.Projects[root].Allow, nil); err == nil && rs.Everything() {
			keys = append(keys, "services.code.network.projects["+strconv.Quote(root)+"].allow")
		}
	}
	return keys
}

// Any reports whether some list allows a host, or a route is set: some
// command may have network (through the proxy).
func (n Network) Any() bool {
	if len(n.Allow) > 0 || len(n.Routes) > 0 || n.Ask {
		return true
	}
	for _, rs := range n.Projects {
		if len(rs.Allow) > 0 {
			return true
		}
	}
	return false
}
