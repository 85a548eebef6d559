package file

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/gimme-tools/carapace/core/autorun"
	"github.com/gimme-tools/carapace/core/denyread"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/fsafe"
	"github.com/gimme-tools/carapace/core/service"
)

// Verbs, as capability scopes spell them.
const (
	verbGet    = "GET"
	verbPut    = "PUT"
	verbDelete = "DELETE"
)

const pathsHint = "services.file.paths"

// target is a checked path: the folder it lies in and the name below it.
type target struct {
	abs string
	f   *folder
	rel string // "" for the folder itself
}

// cleanPath validates a caller's path and returns it absolute and cleaned.
// "~" and "~/…" stand for the owner's home. Relative paths are refused: a
// name that means different things depending on folder order is a trap.
func (s *Service) cleanPath(op, p string) (string, error) {
	bad := func(reason errs.Reason, msg, hint string) error {
		return errs.E(op, errs.InvalidParams, reason, errs.Hint(hint), fmt.Errorf("path %q: %s", trunc(p), msg))
	}
	switch {
	case p == "":
		return "", bad(errs.ReasonEmptyPath, "empty", "pass an absolute path or one starting with ~/")
	case strings.IndexByte(p, 0) >= 0:
		return "", bad(errs.ReasonBadPath, "contains a NUL byte", "remove the NUL byte from the path")
	case !utf8.ValidString(p):
		return "", bad(errs.ReasonBadPath, "is not valid UTF-8", "paths must be UTF-8 text")
	case len(p) > maxPathLen:
		return "", bad(errs.ReasonPathTooLong, fmt.Sprintf("longer than %d bytes", maxPathLen), "use a shorter path")
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		if s.home == "" {
			return "", bad(errs.ReasonBadPath, "~ is not known to this service", "use an absolute path")
		}
		p = s.home + p[1:]
	} else if strings.HasPrefix(p, "~") {
		return "", bad(errs.ReasonBadPath, "~user is not supported", "use an absolute path or ~/…")
	}
	if !strings.HasPrefix(p, "/") {
		return "", bad(errs.ReasonRelativePath, "is relative", "use an absolute path or one starting with ~/")
	}
	p = path.Clean(p)
	for c := range strings.SplitSeq(p, "/") {
		if len(c) > maxNameLen {
			return "", bad(errs.ReasonPathTooLong, fmt.Sprintf("has a component longer than %d bytes", maxNameLen), "use shorter names")
		}
	}
	return p, nil
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// resolve is the first line of every handler: it cleans p, asks the
// authorize hook, and places the path in a folder.
func (s *Service) resolve(call *service.Call, op, verb, p string) (target, error) {
	abs, err := s.cleanPath(op, p)
	if err != nil {
		return target{}, err
	}
	return s.allowed(call, op, verb, abs)
}

// allowed authorizes abs for verb and places it: inside a folder, no
// deny-listed component, no change to a read-only folder, the folder open.
func (s *Service) allowed(call *service.Call, op, verb, abs string) (target, error) {
	if err := s.authorize(call, verb, abs); err != nil {
		if errs.KindOf(err) == errs.Other {
			return target{}, errs.E(op, errs.Forbidden, errs.ReasonScope,
				errs.Hint("the token's scope does not cover "+verb+" "+abs), err)
		}
		if errs.HintOf(err) == "" {
			return target{}, errs.E(op, errs.Hint("the token's scope does not cover "+verb+" "+abs), err)
		}
		return target{}, errs.E(op, err)
	}
	t, err := s.ruled(op, verb, abs)
	if err != nil {
		return target{}, err
	}
	if t.f.root == nil {
		return target{}, errs.E(op, errs.NotFound, errs.ReasonFolderUnavailable,
			errs.Hint("create "+t.f.path+" (the file service takes it in within seconds, without a restart), or remove it from "+pathsHint), t.f.openErr)
	}
	return t, nil
}

// ruled places abs by the configured rules alone: inside a folder, no
// deny-listed component, no change to a read-only folder.
func (s *Service) ruled(op, verb, abs string) (target, error) {
	t, ok := s.place(abs)
	if !ok {
		return target{}, errs.E(op, errs.Forbidden, errs.ReasonOutsideAllowed,
			errs.Hint("add the folder to "+pathsHint), fmt.Errorf("%s is outside the allowed folders", abs))
	}
	if rule := s.denyRule(abs); rule != "" {
		return target{}, errs.E(op, errs.Forbidden, errs.ReasonDeniedByRule, map[string]any{"rule": rule},
			errs.Hint(fmt.Sprintf("%q matches the deny rule %q (services.file.deny or the folder's deny)", path.Base(abs), rule)),
			fmt.Errorf("%s is deny-listed", abs))
	}
	if verb != verbGet {
		if rule := s.denyWriteRule(abs); rule != "" {
			return target{}, errs.E(op, errs.Forbidden, errs.ReasonWriteDeniedByRule, map[string]any{"rule": rule},
				errs.Hint(fmt.Sprintf("%s matches the deny-write rule %q: your tools run it, so no token may change it (services.file.deny_write, docs/file.md); change it yourself", abs, rule)),
				fmt.Errorf("%s may be read but not changed", abs))
		}
	}
	if verb != verbGet && t.f.ro {
		return target{}, errs.E(op, errs.Forbidden, errs.ReasonReadOnly,
			errs.Hint(t.f.path+" is read-only (mode: ro in "+pathsHint+")"), fmt.Errorf("%s is in a read-only folder", abs))
	}
	return t, nil
}

// place finds the most specific folder holding abs.
func (s *Service) place(abs string) (target, bool) {
	for _, f := range s.folders { // longest first
		switch {
		case abs == f.path:
			return target{abs: abs, f: f}, true
		case f.path == "/":
			return target{abs: abs, f: f, rel: abs[1:]}, true
		case strings.HasPrefix(abs, f.path+"/"):
			return target{abs: abs, f: f, rel: abs[len(f.path)+1:]}, true
		}
	}
	return target{}, false
}

// denyRule returns the deny glob abs matches, or "". Global rules and the
// rules of every folder holding abs apply to the components below that
// folder.
func (s *Service) denyRule(abs string) string {
	return s.matchRule(abs, func(f *folder) *denyread.Matcher { return f.denyM })
}

// denyWriteRule returns the deny-write glob abs matches, or the protected
// directory abs lies in or holds, or "".
func (s *Service) denyWriteRule(abs string) string {
	la := strings.ToLower(abs)
	for _, p := range s.protect {
		if lp := strings.ToLower(p); autorun.Within(lp, la) || autorun.Within(la, lp) {
			return p
		}
	}
	if rule := s.matchRule(abs, func(f *folder) *denyread.Matcher { return f.denyWriteM }); rule != "" {
		return rule
	}
	if t, ok := s.place(abs); ok {
		return hooksPathRule(t.f.path, abs)
	}
	return ""
}

// hooksPathRule returns the core.hooksPath or included config file of a
// repository in folder holding abs (in abs's directory or above, up to
// the folder: the service sees nothing above it) that abs lies in or
// holds, or "": git runs hooks from a hooksPath wherever it points.
func hooksPathRule(folder, abs string) string {
	for dir := path.Dir(abs); autorun.Within(folder, dir); dir = path.Dir(dir) {
		for _, t := range autorun.RepoTargets(dir) {
			if autorun.Within(t, abs) || autorun.Within(abs, t) {
				return t + " (core.hooksPath or include.path of " + dir + ")"
			}
		}
		if dir == folder {
			break
		}
	}
	return ""
}

// matchRule returns the glob of a folder's rules (of: the global rules
// and the folder's own) that abs matches below a folder holding it, or "".
// Case is ignored: on a case-insensitive file system (macOS by default)
// ".ENV" opens ".env".
func (s *Service) matchRule(abs string, of func(*folder) *denyread.Matcher) string {
	for _, f := range s.folders {
		if rel, ok := below(f, abs); ok {
			if g := of(f).Path(rel); g != "" {
				return g
			}
		}
	}
	return ""
}

// below returns abs relative to folder f, when it lies strictly below it.
func below(f *folder, abs string) (string, bool) {
	switch {
	case abs == f.path:
		return "", false
	case f.path == "/":
		return abs[1:], true
	case strings.HasPrefix(abs, f.path+"/"):
		return abs[len(f.path)+1:], true
	}
	return "", false
}

// entryDeny returns a function that reports the deny glob a name in the
// directory abs (already checked itself) matches, or "": what denyRule
// says of abs/name, with the directory's part done once for a listing.
func (s *Service) entryDeny(abs string) func(name string) string {
	type scope struct {
		m       *denyread.Matcher
		parents []string
	}
	var scopes []scope
	for _, f := range s.folders {
		rel, inside := below(f, abs)
		if !inside && abs != f.path {
			continue
		}
		var parents []string
		if inside {
			parents = strings.Split(rel, "/")
		}
		scopes = append(scopes, scope{f.denyM, parents})
	}
	return func(name string) string {
		for _, sc := range scopes {
			if g := sc.m.Name(name, sc.parents); g != "" {
				return g
			}
		}
		return ""
	}
}

// check returns the fsafe.Check for t: every place a link leads is
// authorized and placed like the caller's own path.
func (s *Service) check(call *service.Call, op, verb string, t target) fsafe.Check {
	return func(rel string) error {
		_, err := s.allowed(call, op, verb, path.Join(t.f.path, rel))
		return err
	}
}
