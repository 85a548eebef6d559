//go:build linux || darwin || freebsd || netbsd || openbsd

package file

import (
	"path"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/fsafe"
)

// FuzzPath sends arbitrary paths to read, stat and list in a home full of
// links out and secrets, and checks no result ever carries a secret and
// every accepted path is clean and absolute. Seeded from the attack corpus.
func FuzzPath(f *testing.F) {
	e := newEnv(f)
	e.plantAttacks(f)
	for _, a := range attacks(e) {
		if p, ok := a.params["path"].(string); ok {
			f.Add(p, false)
			f.Add(p, true)
		}
	}
	f.Fuzz(func(t *testing.T, p string, walk bool) {
		e.t = t
		defer fsafe.ForceWalk(walk)()
		if abs, err := e.s.cleanPath("fuzz", p); err == nil {
			if !strings.HasPrefix(abs, "/") || path.Clean(abs) != abs {
				t.Fatalf("cleanPath(%q) = %q, not clean and absolute", p, abs)
			}
		}
		for _, m := range []string{"file.read", "file.stat", "file.list"} {
			out, _ := e.do(m, map[string]any{"path": p})
			if strings.Contains(string(out), "SECRET") {
				t.Fatalf("%s %q leaked: %s", m, p, out)
			}
		}
	})
}
