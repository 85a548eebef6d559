package redact

import (
	"regexp/syntax"
	"strings"
)

// required returns literals (lower-case, 3 bytes or more) that every match
// of re contains: a cheap test, run on a window before the expression,
// that turns most keyword hits away ("secret" on a line of code, where
// the Kubernetes rule also needs "kind:" and "data:").
func required(re string) []string {
	t, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range must(t.Simplify()) {
		if len(l) >= 3 {
			out = append(out, l)
		}
	}
	return out
}

// must returns the literals every match of t contains.
func must(t *syntax.Regexp) []string {
	switch t.Op {
	case syntax.OpLiteral:
		return []string{strings.ToLower(string(t.Rune))}
	case syntax.OpCapture:
		return must(t.Sub[0])
	case syntax.OpPlus:
		return must(t.Sub[0])
	case syntax.OpRepeat:
		if t.Min >= 1 {
			return must(t.Sub[0])
		}
	case syntax.OpConcat:
		var out []string
		for _, s := range t.Sub {
			out = append(out, must(s)...)
		}
		return out
	case syntax.OpAlternate:
		common := must(t.Sub[0])
		for _, s := range t.Sub[1:] {
			common = intersect(common, must(s))
		}
		return common
	}
	return nil
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

// containsFold reports whether b contains k (lower-case), ignoring ASCII
// case.
func containsFold(b []byte, k string) bool {
	if len(k) == 0 {
		return true
	}
	c0, c1 := k[0], k[0]
	if 'a' <= c0 && c0 <= 'z' {
		c1 = c0 - 'a' + 'A'
	}
	for i := 0; i+len(k) <= len(b); i++ {
		if (b[i] == c0 || b[i] == c1) && hasFold(b[i:], []byte(k)) {
			return true
		}
	}
	return false
}
