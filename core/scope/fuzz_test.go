package scope

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that what it accepts has a
// canonical form that parses to itself, and that no accepted pattern keeps
// a ".." segment.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		e, err := Parse(in, file, home)
		if err != nil {
			return
		}
		if strings.Contains(e.Pattern+"/", "/../") {
			t.Fatalf("Parse(%q) kept a .. segment: %q", in, e.Pattern)
		}
		e2, err := Parse(e.String(), "", "")
		if err != nil || e2.String() != e.String() {
			t.Fatalf("canonical %.100q of %.100q reparses as %.100q, %.200v", e.String(), in, e2.String(), err)
		}
	})
}

// FuzzAllows checks matching against a reference: a path matched by a
// pattern never contains "..", and anything under a subtree pattern's
// directory is allowed while its look-alike sibling is not.
func FuzzAllows(f *testing.F) {
	for _, tt := range matchTests {
		f.Add(tt.pattern, tt.path)
	}
	f.Fuzz(func(t *testing.T, pattern, p string) {
		e, err := Parse(pattern, file, home)
		if err != nil {
			return
		}
		s := Set{e}
		if s.Allows(e.Verb, e.Host, p) {
			for _, seg := range strings.Split(p, "/") {
				if seg == ".." {
					t.Fatalf("%q allows %q with a .. segment", pattern, p)
				}
			}
		}
		if !e.subtree || strings.Contains(e.Pattern, "*/") || strings.Count(e.Pattern, "*") != 1 {
			return
		}
		dir := strings.TrimSuffix(e.Pattern, "/*")
		if !s.Allows(e.Verb, e.Host, dir+"/x/y") || !s.Allows(e.Verb, e.Host, dir+"/") && dir != "" {
			t.Fatalf("%q refuses its own subtree", pattern)
		}
		if dir != "" && s.Allows(e.Verb, e.Host, dir+"-old/x") {
			t.Fatalf("%q allows a look-alike sibling", pattern)
		}
	})
}

// FuzzWithin checks that Within is sound: when req is within allowed, a
// path req allows (built by filling req's stars with fill) is allowed by
// allowed too.
func FuzzWithin(f *testing.F) {
	for _, tt := range withinTests {
		if len(tt.req) > 0 && len(tt.allowed) > 0 {
			f.Add(tt.req[0], tt.allowed[0], "q", "r/s")
		}
	}
	f.Fuzz(func(t *testing.T, req, allowed, fill, tail string) {
		r, err1 := Parse(req, file, home)
		a, err2 := Parse(allowed, file, home)
		if err1 != nil || err2 != nil || strings.Contains(fill, "/") {
			return
		}
		if !(Set{r}).Within(Set{a}) {
			return
		}
		p := strings.TrimSuffix(r.Pattern, "/*")
		p = strings.ReplaceAll(p, "*", fill)
		if r.subtree {
			p += "/" + tail
		}
		if (Set{r}).Allows(r.Verb, file, p) && !(Set{a}).Allows(r.Verb, file, p) {
			t.Fatalf("%q within %q, but %q is allowed only by the first", req, allowed, p)
		}
	})
}
