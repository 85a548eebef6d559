// Package scope parses and matches capability-token scope entries of the
// form VERB:host/path-pattern (DESIGN.md, "Capability tokens").
//
// The grammar:
//
//	entry   = verb ":" [host] path
//	verb    = "GET" | "PUT" | "DELETE" | "POST"
//	host    = a lower-case DNS name: the service audience, "file.local.gimme.tools"
//	path    = "/" segments | "~" | "~/" segments
//
// The host may be left out when the path starts with "/" or "~"; Parse then
// uses the implied host it is given (the token's audience). "~" is the
// owner's home, only in this short form; a path starting "/~" is refused,
// so that the canonical form (always with host, "~" expanded) reads one way.
//
// Matching is on cleaned, absolute, slash-separated paths, segment by
// segment:
//   - a final "/*" covers the whole subtree, the directory itself included:
//     "~/Documents/*" covers ~/Documents, ~/Documents/a and ~/Documents/a/b,
//     never ~/Documents-old;
//   - "*" anywhere else matches any run of characters within one segment,
//     including none and including a leading dot;
//   - every other character matches itself.
//
// A pattern with a ".." segment is refused by Parse, and a requested path
// with a ".." segment never matches: nothing climbs out of a grant by
// accident. "**" is refused so nobody mistakes it for a recursive glob.
package scope

import (
	"fmt"
	"path"
	"strings"
)

// The verbs, by what they permit (DESIGN.md).
const (
	GET    = "GET"    // read, list, stat
	PUT    = "PUT"    // write, mkdir, move
	DELETE = "DELETE" // remove
	POST   = "POST"   // execute, activate
)

// MaxEntryLen bounds an entry's length; longer entries are refused.
const MaxEntryLen = 4096

// Entry is one parsed scope entry.
type Entry struct {
	Verb    string
	Host    string
	Pattern string // the cleaned, absolute pattern, "~" expanded

	segs    []string // Pattern's segments, without the final "*" when Subtree
	subtree bool     // Pattern ends in "/*"
}

// String returns the entry in its canonical long form,
// "GET:file.local.gimme.tools/home/ann/Documents/*".
func (e Entry) String() string { return e.Verb + ":" + e.Host + e.Pattern }

// Subtree reports whether the entry covers a whole subtree (ends in "/*").
func (e Entry) Subtree() bool { return e.subtree }

// Set is a list of entries; a request is allowed when any entry allows it.
type Set []Entry

// ParseError describes an entry Parse refused.
type ParseError struct {
	Entry string
	Why   string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("scope entry %q: %s (want VERB:host/path, e.g. GET:~/Documents/*)", clip(e.Entry), e.Why)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Parse parses one entry. impliedHost is used when the entry names no host;
// home is the owner's home directory, used to expand "~" (it must be an
// absolute, clean path when the entry uses "~").
func Parse(entry, impliedHost, home string) (Entry, error) {
	bad := func(why string, a ...any) (Entry, error) {
		return Entry{}, &ParseError{Entry: entry, Why: fmt.Sprintf(why, a...)}
	}
	if len(entry) > MaxEntryLen {
		return bad("longer than %d bytes", MaxEntryLen)
	}
	verb, rest, ok := strings.Cut(entry, ":")
	if !ok {
		return bad("no ':' after the verb")
	}
	if !validVerb(verb) {
		return bad("verb %q is not GET, PUT, DELETE or POST", clip(verb))
	}
	host, p := splitHost(rest)
	if host == "" {
		host = impliedHost
	}
	if !validHost(host) {
		if host == "" {
			return bad("no host, and none implied")
		}
		return bad("host %q is not a lower-case DNS name", clip(host))
	}
	abs, err := expand(p, home)
	if err != nil {
		return bad("%s", err)
	}
	return compile(verb, host, abs, bad)
}

func compile(verb, host, abs string, bad func(string, ...any) (Entry, error)) (Entry, error) {
	e := Entry{Verb: verb, Host: host}
	segs, err := segments(abs)
	if err != nil {
		return bad("%s", err)
	}
	if len(segs) > 0 && segs[0] == "~" {
		// Refused so that no canonical form reads two ways.
		return bad("a path may not start with /~; write ~/ without a host")
	}
	for _, s := range segs {
		if strings.Contains(s, "**") {
			return bad("%q: use a final /* for a whole subtree; ** is not supported", s)
		}
	}
	if n := len(segs); n > 0 && segs[n-1] == "*" {
		e.subtree, segs = true, segs[:n-1]
	}
	e.segs = segs
	e.Pattern = "/" + strings.Join(segs, "/")
	if e.subtree {
		e.Pattern = strings.TrimSuffix(e.Pattern, "/") + "/*"
	}
	if len(e.String()) > MaxEntryLen {
		return bad("longer than %d bytes once ~ is expanded", MaxEntryLen)
	}
	return e, nil
}

// splitHost splits "host/path" or "/path" or "~/path" into host and path.
func splitHost(rest string) (host, p string) {
	if rest == "" || rest[0] == '/' || rest[0] == '~' {
		return "", rest
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return rest, ""
	}
	return rest[:i], rest[i:]
}

// expand turns "~" and "~/x" into paths under home and checks the result is
// absolute.
func expand(p, home string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home == "" || !path.IsAbs(home) || path.Clean(home) != home {
			return "", fmt.Errorf("uses ~ but the owner's home %q is not an absolute clean path", home)
		}
		return home + p[1:], nil
	}
	if strings.HasPrefix(p, "~") {
		return "", fmt.Errorf("~user is not supported; use ~/ or an absolute path")
	}
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("path %q is not absolute", clip(p))
	}
	return p, nil
}

// segments checks p (absolute) and returns its cleaned segments. It refuses
// ".." segments, NUL and other control characters.
func segments(p string) ([]string, error) {
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return nil, fmt.Errorf("path contains a control character")
		}
	}
	for s := range strings.SplitSeq(p, "/") {
		if s == ".." {
			return nil, fmt.Errorf("path contains a .. segment")
		}
	}
	c := path.Clean(p)
	if c == "/" {
		return nil, nil
	}
	return strings.Split(c[1:], "/"), nil
}

func validVerb(v string) bool {
	return v == GET || v == PUT || v == DELETE || v == POST
}

// validHost reports whether h is a plausible lower-case DNS name with at
// least one dot, as every audience host has.
func validHost(h string) bool {
	if !strings.Contains(h, ".") || len(h) > 253 || h[0] == '.' || h[len(h)-1] == '.' || strings.Contains(h, "..") {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// ParseSet parses entries, all with the same implied host and home.
func ParseSet(entries []string, impliedHost, home string) (Set, error) {
	s := make(Set, 0, len(entries))
	for _, e := range entries {
		en, err := Parse(e, impliedHost, home)
		if err != nil {
			return nil, err
		}
		s = append(s, en)
	}
	return s, nil
}

// Strings returns the entries in canonical form.
func (s Set) Strings() []string {
	out := make([]string, len(s))
	for i, e := range s {
		out[i] = e.String()
	}
	return out
}

// Subtrees returns the set granting each verb on the whole subtree of each
// dir on host: what a configured folder list ("services.file.paths")
// allows. A dir may start with "~"; one containing "*" or ".." is refused.
func Subtrees(host string, verbs, dirs []string, home string) (Set, error) {
	var s Set
	for _, d := range dirs {
		if strings.Contains(d, "*") {
			return nil, &ParseError{Entry: d, Why: "a configured folder may not contain *"}
		}
		for _, v := range verbs {
			e, err := Parse(v+":"+strings.TrimSuffix(d, "/")+"/*", host, home)
			if err != nil {
				return nil, err
			}
			s = append(s, e)
		}
	}
	return s, nil
}
