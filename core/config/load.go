package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/secret"
)

// DefaultSystemPath is where the system file lives when installed.
const DefaultSystemPath = "/etc/gimme/carapace.yaml"

// OwnerPath returns the owner file's path for a home directory and
// $XDG_CONFIG_HOME (which wins when set and absolute).
func OwnerPath(home, xdgConfigHome string) string {
	if filepath.IsAbs(xdgConfigHome) {
		return filepath.Join(xdgConfigHome, "gimme", "local.yaml")
	}
	return filepath.Join(home, ".config", "gimme", "local.yaml")
}

// LoadSystem reads the system file at path. A missing file yields the
// defaults when missingOK is set.
func LoadSystem(path string, missingOK bool) (*System, error) {
	var c System
	if err := load(path, missingOK, &c); err != nil {
		return nil, err
	}
	if err := c.validate(path); err != nil {
		return nil, err
	}
	return &c, nil
}

// LoadOwner reads the owner file at path; a missing file yields the
// defaults (DefaultOwner). home expands a leading "~".
func LoadOwner(path, home string) (*Owner, error) {
	c := DefaultOwner()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		c.expand(home)
		return c, nil
	}
	if err != nil {
		return nil, errs.E("read "+path, errs.Failed, errs.Hint("check the file's permissions"), err)
	}
	// An owner file replaces the defaults service by service: start from
	// an empty config so a list in the file is not appended to ours.
	c = &Owner{}
	if err := decode(path, data, c); err != nil {
		return nil, err
	}
	if err := c.validate(path); err != nil {
		return nil, err
	}
	c.expand(home)
	return c, nil
}

// DefaultOwner is the configuration used when there is no owner file: the
// WebSpec example's folders and roots, shell off.
func DefaultOwner() *Owner {
	return &Owner{Services: Services{
		File: FileService{Enabled: true, Paths: []Folder{{Path: "~/Documents"}, {Path: "~/Downloads"}, {Path: "~/Desktop"}}},
		Code: CodeService{Enabled: true, ProjectRoots: []string{"~/Projects", "~/Code"}},
		App:  AppService{Enabled: true, AllowedApps: []string{"Visual Studio Code", "Terminal", "Finder"}},
	}}
}

func load(path string, missingOK bool, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && missingOK {
		return nil
	}
	if err != nil {
		return errs.E("read "+path, errs.Failed, errs.Hint("create the file or pass --config with an existing one"), err)
	}
	return decode(path, data, v)
}

// decode parses YAML strictly: unknown keys are errors.
func decode(path string, data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return yamlError(path, err)
	}
	return nil
}

var (
	lineRe    = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownRe = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
)

// yamlError rewrites yaml.v3's errors as "file:line: key: what".
func yamlError(path string, err error) error {
	var te *yaml.TypeError
	var msgs []string
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	for i, m := range msgs {
		line, rest := "", m
		if sm := lineRe.FindStringSubmatch(m); sm != nil {
			line, rest = sm[1], sm[2]
		}
		if um := unknownRe.FindStringSubmatch(rest); um != nil {
			rest = fmt.Sprintf("unknown key %q (in %s)", um[1], strings.TrimPrefix(um[2], "config."))
		}
		if line != "" {
			msgs[i] = path + ":" + line + ": " + rest
		} else {
			msgs[i] = path + ": " + rest
		}
	}
	return errs.E("config", errs.InvalidParams, errs.ReasonBadConfig,
		errs.Hint("fix the key named above; `carapace config check` validates both files"),
		errors.New(strings.Join(msgs, "; ")))
}

// fieldError reports a bad value at a known line.
func fieldError(path string, line int, key, what string) error {
	loc := path
	if line > 0 {
		loc += ":" + strconv.Itoa(line)
	}
	return errs.E("config", errs.InvalidParams, errs.ReasonBadConfig,
		errs.Hint("fix the key named above; `carapace config check` validates both files"),
		fmt.Errorf("%s: %s: %s", loc, key, what))
}

// UnmarshalYAML accepts "90s", "5m", "1h30m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration (expected e.g. 90s, 5m, 1h)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML accepts a byte count or a number with KiB, MiB or GiB.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a size (expected bytes, or e.g. 512KiB, 1MiB, 2GiB)", n.Line, n.Value)
	}
	*s = Size(v)
	return nil
}

// ParseSize parses "1048576", "512KiB", "1MiB", "2GiB" (also KB/MB/GB as
// the binary units).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suf) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suf)), u.m
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return v * mult, nil
}

// UnmarshalYAML accepts a plain path or {path, mode, deny, deny_write, redact}.
func (f *Folder) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		f.Path = n.Value
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a folder is a path or {path, mode, deny, deny_write, redact}", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch k := n.Content[i]; k.Value {
		case "path", "mode", "deny", "deny_write", "redact":
		default:
			return fmt.Errorf("line %d: unknown key %q (in a folder: expected path, mode, deny, deny_write, redact)", k.Line, k.Value)
		}
	}
	type plain Folder
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	switch p.Mode {
	case "", "rw":
	case "ro":
		p.ReadOnly = true
	default:
		return fmt.Errorf("line %d: mode %q: expected rw or ro", n.Line, p.Mode)
	}
	if p.Path == "" {
		return fmt.Errorf("line %d: a folder needs a path", n.Line)
	}
	*f = Folder(p)
	return nil
}

// UnmarshalYAML reads {allow, deny, projects}. The list of project roots
// this key used to hold (each given the whole network) is refused with
// the new shape, never reinterpreted.
func (n *Network) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind == yaml.SequenceNode {
		return fmt.Errorf(`line %d: services.code.network is no longer a list of project roots (each given the whole network): it is {allow: [hosts], deny: [hosts], projects: {ROOT: {allow: [...]}}}; for the old meaning write network: {projects: {~/Projects/webapp: {allow: ["*"]}}}, better the hosts it needs (docs/network.md)`, node.Line)
	}
	if node.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: services.code.network is {allow: [hosts], deny: [hosts], projects: {...}}", node.Line)
	}
	if err := knownKeys(node, "services.code.network", "allow", "deny", "projects", "routes", "ask"); err != nil {
		return err
	}
	var raw struct {
		Allow    []string             `yaml:"allow"`
		Deny     []string             `yaml:"deny"`
		Projects map[string]yaml.Node `yaml:"projects"`
		Routes   map[string]yaml.Node `yaml:"routes"`
		Ask      bool                 `yaml:"ask"`
	}
	if err := node.Decode(&raw); err != nil {
		return err
	}
	n.Allow, n.Deny, n.Ask = raw.Allow, raw.Deny, raw.Ask
	for name, rn := range raw.Routes {
		r, err := decodeRoute(name, &rn)
		if err != nil {
			return err
		}
		if n.Routes == nil {
			n.Routes = map[string]Route{}
		}
		n.Routes[name] = r
	}
	for root, pn := range raw.Projects {
		key := "services.code.network.projects[" + strconv.Quote(root) + "]"
		if pn.Kind != yaml.MappingNode {
			return fmt.Errorf("line %d: %s is {allow: [hosts], deny: [hosts]}", pn.Line, key)
		}
		if err := knownKeys(&pn, key, "allow", "deny"); err != nil {
			return err
		}
		var rs NetworkRules
		if err := pn.Decode(&rs); err != nil {
			return err
		}
		if n.Projects == nil {
			n.Projects = map[string]NetworkRules{}
		}
		n.Projects[root] = rs
	}
	return nil
}

// decodeRoute reads and checks one credential route, naming its line.
func decodeRoute(name string, rn *yaml.Node) (Route, error) {
	key := "services.code.network.routes." + name
	if rn.Kind != yaml.MappingNode {
		return Route{}, fmt.Errorf(`line %d: %s is {upstream: "https://host", header: "Name: value with {secret}"}`, rn.Line, key)
	}
	if err := knownKeys(rn, key, "upstream", "header", "secret"); err != nil {
		return Route{}, err
	}
	var r Route
	if err := rn.Decode(&r); err != nil {
		return Route{}, err
	}
	if _, err := egress.ParseRoute(name, r.Upstream, r.Header); err != nil {
		return Route{}, fmt.Errorf("line %d: %s: %v", rn.Line, key, err)
	}
	if err := secret.CheckName(r.SecretName(name)); err != nil {
		return Route{}, fmt.Errorf("line %d: %s.secret: %v", rn.Line, key, err)
	}
	return r, nil
}

// knownKeys refuses a mapping key not in keys: node.Decode inside an
// UnmarshalYAML does not inherit the decoder's KnownFields.
func knownKeys(node *yaml.Node, in string, keys ...string) error {
	for i := 0; i+1 < len(node.Content); i += 2 {
		k := node.Content[i]
		if !slices.Contains(keys, k.Value) {
			return fmt.Errorf("line %d: unknown key %q (in %s: expected %s)", k.Line, k.Value, in, strings.Join(keys, ", "))
		}
	}
	return nil
}
