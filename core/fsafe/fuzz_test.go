//go:build linux || darwin || freebsd || netbsd || openbsd

package fsafe

import (
	"io"
	"os"
	"strings"
	"testing"
)

// FuzzJoinLink checks that a link target, whatever its text, resolves to a
// clean name beneath the root or is refused.
func FuzzJoinLink(f *testing.F) {
	for _, target := range testLinks {
		f.Add("sub", target)
	}
	f.Add("", "../x")
	f.Add("a/b", "/r/a/../../..")
	f.Fuzz(func(t *testing.T, dir, target string) {
		var done []string
		if dir != "" {
			if !IsValidRel(dir) {
				return
			}
			done = strings.Split(dir, "/")
		}
		rel, ok := joinLink("/r", done, target)
		if !ok {
			return
		}
		if !IsValidRel(rel) {
			t.Fatalf("joinLink(%q, %q) = %q, not a clean relative name", dir, target, rel)
		}
	})
}

// FuzzOpen opens arbitrary names beneath a root full of links out, with
// both resolvers, and checks nothing outside is ever read.
func FuzzOpen(f *testing.F) {
	rootDir, _ := tree(f, testLinks)
	r, err := OpenRoot(rootDir)
	if err != nil {
		f.Fatal(err)
	}
	for name := range testLinks {
		f.Add(name, false)
		f.Add(name+"/secret.txt", true)
	}
	f.Add("dirout/secret.txt", false)
	f.Add("sub/../../outside/secret.txt", true)
	f.Fuzz(func(t *testing.T, rel string, walk bool) {
		defer ForceWalk(walk)()
		file, err := r.Open(rel, os.O_RDONLY, nil)
		if err != nil {
			return
		}
		defer file.Close()
		b, _ := io.ReadAll(io.LimitReader(file, 1<<16))
		if strings.Contains(string(b), "SECRET") {
			t.Fatalf("Open(%q) read a file outside the root", rel)
		}
	})
}
