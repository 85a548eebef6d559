package managed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gimme-tools/carapace/core/denyread"
	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/service/file"
)

// maxFile bounds a policy file: a few KiB in practice.
const maxFile = 1 << 20

// Locate returns the policy file to read and whether it is an override:
// DefaultPath (on macOS the managed preferences first, Sources) when the
// machine has one; else override (--managed, $CARAPACE_MANAGED) when
// given. An override never replaces a machine's policy: with one present
// it is ignored, and warn says so.
func Locate(override string) (p string, isOverride bool, warn string) {
	return locate(Sources(), override)
}

func locate(sources []string, override string) (p string, isOverride bool, warn string) {
	machine := ""
	for _, s := range sources {
		if _, err := os.Lstat(s); !errors.Is(err, fs.ErrNotExist) {
			machine = s
			break
		}
	}
	switch {
	case machine != "" && override != "" && override != machine:
		return machine, false, "ignoring the managed policy " + override + ": this machine's " + machine + " applies"
	case machine != "":
		return machine, false, ""
	case override != "":
		return override, true, ""
	}
	return "", false, ""
}

// Load reads the policy at p (none when p is "" or there is no file). It
// never fails: a policy that cannot be trusted, read or parsed stops every
// service, and an invalid entry the services it governs (Policy.Err).
//
// The file must be a regular file, not a symbolic link, owned by root
// and writable by no one else, in directories only root can change. An
// override (Locate) may also belong to the user running Carapace: it is
// only read on a machine without a policy of its own, by that user's
// dev stack or tests.
func Load(p string, override bool) *Policy {
	if p == "" {
		return None()
	}
	trusted := []uint32{0}
	if override {
		trusted = append(trusted, uint32(os.Geteuid()))
	}
	data, err := readTrusted(p, trusted)
	if errors.Is(err, fs.ErrNotExist) {
		return None()
	}
	if err != nil {
		pol := &Policy{Source: p}
		pol.breakAll(service.Names(), &Error{File: p, Err: err})
		return pol
	}
	return Parse(p, data)
}

// Parse reads a policy from data (a plist when name ends in .plist),
// without Load's checks of who may have written it: for authoring tools
// (`carapace policy profile`). Errors are in the policy (Policy.Errs).
func Parse(name string, data []byte) *Policy {
	pol := &Policy{Source: name}
	if strings.HasSuffix(name, ".plist") {
		decodePlist(pol, name, data)
	} else {
		decodeYAML(pol, name, data, false)
	}
	return pol
}

// readTrusted reads p after checking that only a trusted uid can have
// written it or can replace it.
func readTrusted(p string, trusted []uint32) ([]byte, error) {
	if !filepath.IsAbs(p) {
		return nil, fmt.Errorf("%s: the path must be absolute", p)
	}
	if err := checkParents(filepath.Dir(p), trusted); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, errors.New("is a symbolic link: write the policy itself there")
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if err := checkOwner(fi, trusted, false); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFile {
		return nil, errors.New("larger than 1 MiB")
	}
	return data, nil
}

// checkParents checks every directory from dir up to the root, as named
// and as resolved: each owned by a trusted uid and writable by no one
// else (a sticky directory, like /tmp, may be shared: no one can replace
// a file they do not own there).
func checkParents(dir string, trusted []uint32) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	for _, d := range []string{filepath.Clean(dir), real} {
		for {
			fi, err := os.Lstat(d)
			if err != nil {
				return err
			}
			if err := checkOwner(fi, trusted, true); err != nil {
				return fmt.Errorf("%s: %w", d, err)
			}
			if d == "/" || d == "." {
				break
			}
			d = filepath.Dir(d)
		}
	}
	return nil
}

func checkOwner(fi fs.FileInfo, trusted []uint32, dir bool) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("cannot read the owner")
	}
	if !slices.Contains(trusted, st.Uid) {
		return fmt.Errorf("owned by uid %d, not root: only root may write the managed policy", st.Uid)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil // its target is checked as resolved
	}
	if fi.Mode().Perm()&0o022 != 0 && !(dir && fi.Mode()&fs.ModeSticky != 0) {
		return fmt.Errorf("writable by group or others (mode %v): chmod go-w", fi.Mode().Perm())
	}
	return nil
}

// field decodes one top-level key.
type field func(p *Policy, n *yaml.Node) error

var fields = map[string]field{
	"services":      list(func(p *Policy) *[]string { return &p.Services }, checkServices),
	"folders":       list(func(p *Policy) *[]string { return &p.Folders }, checkPatterns),
	"project_roots": list(func(p *Policy) *[]string { return &p.ProjectRoots }, checkPatterns),
	"deny_read":     list(func(p *Policy) *[]string { return &p.DenyRead }, checkGlobs),
	"deny_write":    list(func(p *Policy) *[]string { return &p.DenyWrite }, checkGlobs),
	"agents":        list(func(p *Policy) *[]string { return &p.Agents }, checkNames),
	"network": mapping(func(p *Policy) any { return &p.Network }, func(p *Policy) error {
		_, err := egress.ParseRules(p.Network.Allow, p.Network.Deny)
		return err
	}, "allow", "deny"),
	"shell":  mapping(func(p *Policy) any { return &p.Shell }, nil, "require_human"),
	"tokens": mapping(func(p *Policy) any { return &p.Tokens }, checkTTL, "max_ttl"),
	"audit":  mapping(func(p *Policy) any { return &p.Audit }, nil, "export_required"),
}

// Keys are the policy's top-level keys, sorted.
func Keys() []string { return slices.Sorted(maps.Keys(fields)) }

// decodeYAML reads a policy; noLines leaves the lines out of errors
// (a plist read through YAML has none worth naming).
func decodeYAML(pol *Policy, p string, data []byte, noLines bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		pol.breakAll(service.Names(), &Error{File: p, Err: errors.New(strings.TrimPrefix(err.Error(), "yaml: "))})
		return
	}
	if len(bytes.TrimSpace(data)) == 0 || len(doc.Content) == 0 {
		return // an empty file: no limits
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		pol.breakAll(service.Names(), &Error{File: p, Line: root.Line, Err: errors.New("expected a mapping of keys: " + strings.Join(Keys(), ", "))})
		return
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		fn, ok := fields[k.Value]
		if !ok {
			// An unknown key may be a misspelt limit: stop everything
			// rather than run without it.
			pol.breakAll(service.Names(), &Error{File: p, Line: k.Line, Key: k.Value, Err: errors.New("unknown key (expected " + strings.Join(Keys(), ", ") + ")")})
			continue
		}
		if err := fn(pol, v); err != nil {
			e := &Error{File: p, Line: v.Line, Key: k.Value, Err: err}
			var sub *subKeyError
			if errors.As(err, &sub) {
				e.Key, e.Line, e.Err = k.Value+"."+sub.key, sub.line, sub.err
			}
			if noLines {
				e.Line = 0
			}
			pol.breakAll(governs(k.Value, service.Names()), e)
		}
	}
}

// list decodes a list of strings. A key with no value is an error, not
// "no limit": an emptied list must never widen.
func list(at func(*Policy) *[]string, check func([]string) error) field {
	return func(p *Policy, n *yaml.Node) error {
		if n.Kind != yaml.SequenceNode {
			return errors.New("expected a list, e.g. [a, b] (an empty list, [], allows none; leave the key out for no limit)")
		}
		v := []string{}
		if err := n.Decode(&v); err != nil {
			return cleanYAML(err)
		}
		if v == nil {
			v = []string{}
		}
		if err := check(v); err != nil {
			return err
		}
		*at(p) = v
		return nil
	}
}

// mapping decodes a mapping with known keys.
func mapping(at func(*Policy) any, check func(*Policy) error, keys ...string) field {
	return func(p *Policy, n *yaml.Node) error {
		if n.Kind != yaml.MappingNode {
			return errors.New("expected a mapping with " + strings.Join(keys, ", "))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !slices.Contains(keys, k.Value) {
				return &subKeyError{k.Value, k.Line, fmt.Errorf("unknown key (expected %s)", strings.Join(keys, ", "))}
			}
			if v.Tag == "!!null" {
				return &subKeyError{k.Value, k.Line, errors.New("no value")}
			}
			var one yaml.Node
			one.Kind, one.Content = yaml.MappingNode, []*yaml.Node{k, v}
			if err := one.Decode(at(p)); err != nil {
				return &subKeyError{k.Value, v.Line, cleanYAML(err)}
			}
			if check != nil {
				if err := check(p); err != nil {
					return &subKeyError{k.Value, v.Line, err}
				}
			}
		}
		return nil
	}
}

func cleanYAML(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return err
}

// checkGlobs checks deny globs as the file service and Check use them.
func checkGlobs(v []string) error {
	if err := file.CheckGlobs(v); err != nil {
		return err
	}
	_, err := denyread.New(v)
	return err
}

func checkServices(v []string) error {
	for _, s := range v {
		if !slices.Contains(service.Names(), s) {
			return fmt.Errorf("%q is not a service (expected %s)", s, strings.Join(service.Names(), ", "))
		}
	}
	return nil
}

func checkPatterns(v []string) error {
	for _, s := range v {
		if !filepath.IsAbs(s) && s != "~" && !strings.HasPrefix(s, "~/") {
			return fmt.Errorf("%q must be absolute or start with ~/", s)
		}
		for seg := range strings.SplitSeq(strings.Trim(s, "/"), "/") {
			if _, err := path.Match(seg, ""); err != nil || seg == ".." {
				return fmt.Errorf("%q: bad pattern segment %q (path.Match syntax: *, ?, [abc])", s, seg)
			}
		}
	}
	return nil
}

func checkNames(v []string) error {
	for _, s := range v {
		if strings.TrimSpace(s) == "" {
			return errors.New("an empty name")
		}
	}
	return nil
}

func checkTTL(p *Policy) error {
	if p.Tokens.MaxTTL == "" {
		return nil
	}
	d, err := time.ParseDuration(p.Tokens.MaxTTL)
	if err != nil || d <= 0 {
		return fmt.Errorf("max_ttl %q is not a positive duration (e.g. 30m, 8h)", p.Tokens.MaxTTL)
	}
	p.maxTTL = d
	return nil
}

// subKeyError is an error in one key of a mapping.
type subKeyError struct {
	key  string
	line int
	err  error
}

func (e *subKeyError) Error() string { return e.key + ": " + e.err.Error() }
