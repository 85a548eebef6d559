// Package denyread decides which names inside a project a sandboxed
// command may not read: secrets such as .env files, private keys and
// credential folders. The code service masks every match in the
// command's mount namespace (core/sandbox.Spec.Masked) and the file
// service refuses the same globs.
//
// Globs are path.Match patterns matched, ignoring case, against each
// component of a path below the project ("*.pem" matches a/b/key.pem); a
// glob with a slash against that many consecutive components; a
// trailing slash is ignored (".ssh/" matches the directory, and so
// everything in it). They are the file service's deny-glob syntax.
//
// A Matcher is built for the walk over a command's whole tree (kept up
// to date between commands by core/autorun.Index): most names are turned
// away by their first and last byte alone, without a map lookup or a
// path.Match.
package denyread

import (
	"fmt"
	"path"
	"strings"
)

// Default are the globs every project gets. The id_* is narrowed
// to the names ssh-keygen gives private keys, so that id_utils.py stays
// readable (the file service's own defaults name the same four).
var Default = []string{
	".env", ".env.*", "*.pem", "*.key",
	"id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*",
	".npmrc", ".pypirc", ".netrc", ".git-credentials",
	".aws/", ".ssh/", ".gnupg/",
}

// Matcher matches names against globs.
type Matcher struct {
	exact    map[string]string // lower-case name → glob
	prefixes []affix           // "id_rsa*"
	suffixes []affix           // "*.pem"
	other    []string          // single-component globs of any other shape
	multi    [][]string        // globs with a slash, by component
	first    [256]bool         // first bytes (lower-case) of exact names and prefixes
	last     [256]bool         // last bytes of suffixes
	any      bool              // some glob can match any first and last byte
}

type affix struct{ text, glob string }

// New compiles globs; it fails on a glob path.Match cannot parse.
func New(globs []string) (*Matcher, error) {
	m := &Matcher{exact: map[string]string{}}
	for _, g := range globs {
		t := strings.ToLower(strings.Trim(g, "/"))
		if t == "" {
			return nil, fmt.Errorf("empty deny_read glob %q", g)
		}
		parts := strings.Split(t, "/")
		for _, p := range parts {
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("deny_read glob %q: %w", g, err)
			}
		}
		if len(parts) > 1 {
			m.multi = append(m.multi, parts)
			m.add(parts[len(parts)-1], g, false)
			continue
		}
		m.add(t, g, true)
	}
	return m, nil
}

// add indexes the single-component glob t; keep is false when it only
// feeds the first/last-byte filter (the last component of a glob with a
// slash). A name can match only if its first byte may start an exact name
// or a prefix, or its last byte may end a suffix, or some glob has
// another shape.
func (m *Matcher) add(t, glob string, keep bool) {
	const meta = `*?[\`
	switch {
	case !strings.ContainsAny(t, meta):
		if keep {
			m.exact[t] = glob
		}
		m.first[t[0]] = true
	case len(t) > 1 && strings.HasSuffix(t, "*") && !strings.ContainsAny(t[:len(t)-1], meta):
		if keep {
			m.prefixes = append(m.prefixes, affix{t[:len(t)-1], glob})
		}
		m.first[t[0]] = true
	case len(t) > 1 && strings.HasPrefix(t, "*") && !strings.ContainsAny(t[1:], meta):
		if keep {
			m.suffixes = append(m.suffixes, affix{t[1:], glob})
		}
		m.last[t[len(t)-1]] = true
	default:
		if keep {
			m.other = append(m.other, t)
		}
		m.any = true
	}
}

// Name returns the glob that matches name, a single path component, or "".
// parents are the components above it, nearest last, for globs with a
// slash; nil is fine when there are none.
func (m *Matcher) Name(name string, parents []string) string {
	if name == "" {
		return ""
	}
	if !m.any && !m.first[lower(name[0])] && !m.last[lower(name[len(name)-1])] {
		return ""
	}
	l := strings.ToLower(name)
	if g, ok := m.exact[l]; ok {
		return g
	}
	for _, a := range m.prefixes {
		if strings.HasPrefix(l, a.text) {
			return a.glob
		}
	}
	for _, a := range m.suffixes {
		if strings.HasSuffix(l, a.text) {
			return a.glob
		}
	}
	for _, g := range m.other {
		if ok, _ := path.Match(g, l); ok {
			return g
		}
	}
	for _, parts := range m.multi {
		if m.matchMulti(parts, l, parents) {
			return strings.Join(parts, "/")
		}
	}
	return ""
}

func (m *Matcher) matchMulti(parts []string, name string, parents []string) bool {
	if len(parents) < len(parts)-1 {
		return false
	}
	comps := append(append([]string(nil), parents[len(parents)-(len(parts)-1):]...), name)
	for i, p := range parts {
		if ok, _ := path.Match(p, strings.ToLower(comps[i])); !ok {
			return false
		}
	}
	return true
}

// Path returns the glob that matches rel, a slash-separated path below the
// project, in any of its components, or "".
func (m *Matcher) Path(rel string) string {
	comps := strings.Split(strings.Trim(rel, "/"), "/")
	for i, c := range comps {
		if g := m.Name(c, comps[:i]); g != "" {
			return g
		}
	}
	return ""
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
