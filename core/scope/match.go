package scope

import (
	"path"
	"strings"
)

// Allows reports whether any entry in s allows verb on host at p. p must be
// absolute; it is cleaned before matching, and a p with a ".." segment, a
// relative p or one with a control character is never allowed.
func (s Set) Allows(verb, host, p string) bool {
	segs, ok := requestSegments(p)
	if !ok {
		return false
	}
	for _, e := range s {
		if e.Verb == verb && e.Host == host && e.matchSegs(segs) {
			return true
		}
	}
	return false
}

// Allows reports whether e alone allows verb on host at p, as Set.Allows.
func (e Entry) Allows(verb, host, p string) bool { return Set{e}.Allows(verb, host, p) }

func requestSegments(p string) ([]string, bool) {
	if !path.IsAbs(p) {
		return nil, false
	}
	segs, err := segments(p)
	return segs, err == nil
}

func (e Entry) matchSegs(segs []string) bool {
	if len(segs) < len(e.segs) || !e.subtree && len(segs) != len(e.segs) {
		return false
	}
	for i, pat := range e.segs {
		if !matchSegment(pat, segs[i]) {
			return false
		}
	}
	return true
}

// matchSegment reports whether the one-segment glob pat matches s. "*"
// matches any run of characters (s never contains "/"); all else is literal.
func matchSegment(pat, s string) bool {
	if strings.IndexByte(pat, '*') < 0 {
		return pat == s // most segments: no split, no allocation
	}
	parts := strings.Split(pat, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

// Within reports whether every entry of s is covered by some entry of
// allowed: whether a request allowed by s is always allowed by allowed. It
// is used to refuse a minted token wider than the configuration.
//
// The check is sound but not complete: when it says true, s is never wider;
// for some exotic glob pairs it says false although s is narrower.
func (s Set) Within(allowed Set) bool {
	for _, e := range s {
		if !allowed.covers(e) {
			return false
		}
	}
	return true
}

func (s Set) covers(e Entry) bool {
	for _, a := range s {
		if a.Verb == e.Verb && a.Host == e.Host && a.coversEntry(e) {
			return true
		}
	}
	return false
}

// coversEntry reports whether every path e matches, a matches too.
func (a Entry) coversEntry(e Entry) bool {
	if e.subtree && !a.subtree {
		return false
	}
	if len(e.segs) < len(a.segs) || !a.subtree && len(e.segs) != len(a.segs) {
		return false
	}
	for i, pat := range a.segs {
		// Treating e's "*" as a literal character is sound: a's literals
		// never contain "*", so each of e's stars can only be absorbed by
		// one of a's, which absorbs whatever e's star stands for.
		if !matchSegment(pat, e.segs[i]) {
			return false
		}
	}
	return true
}
