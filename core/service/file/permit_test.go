package file

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/service"
)

func TestPermits(t *testing.T) {
	home := t.TempDir()
	docs := filepath.Join(home, "Docs")
	os.MkdirAll(docs, 0o755)
	os.WriteFile(filepath.Join(docs, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(docs, ".env"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(home, "secret"), []byte("s"), 0o644)
	os.Symlink(filepath.Join(home, "secret"), filepath.Join(docs, "link"))
	s, err := New(Config{Folders: []Folder{{Path: docs}}, Home: home}, service.AllowAll)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for p, ok := range map[string]bool{
		filepath.Join(docs, "a.txt"):  true,
		filepath.Join(docs, ".env"):   false,
		filepath.Join(home, "secret"): false,
		filepath.Join(docs, "link"):   false, // leads outside
		docs + "-old/a.txt":           false,
	} {
		if err := s.Permits(p); (err == nil) != ok {
			t.Errorf("Permits(%s) = %v, want ok=%v", p, err, ok)
		}
	}
}

// TestEntryDenyMatchesDenyRule checks that file.list's per-directory deny
// check says of every name what the per-path check says of its path, in
// nested folders with rules of their own and globs with a slash.
func TestEntryDenyMatchesDenyRule(t *testing.T) {
	s, err := newRules(Config{
		Folders: []Folder{{Path: "/h"}, {Path: "/h/p", Deny: []string{"*.SECRET", "build/out*"}}, {Path: "/"}},
		Deny:    []string{"private/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	dirs := []string{"/", "/h", "/h/p", "/h/p/build", "/h/.git", "/h/p/x/.docker", "/h/.kube", "/h/.KUBE", "/etc"}
	names := []string{"a.go", ".env", ".ENV.local", "key.pem", "id_rsa.pub", "id_utils.py", "config", "config.json",
		"outfile", "x.secret", "private", ".ssh", "Makefile", "node_modules", "id_ed25519"}
	for _, d := range dirs {
		deny := s.entryDeny(d)
		for _, n := range names {
			abs := path.Join(d, n)
			got, want := deny(n), refDenyRule(s, abs)
			if strings.Trim(got, "/") != strings.ToLower(strings.Trim(want, "/")) && got != want {
				t.Errorf("%s: entryDeny %q, reference %q", abs, got, want)
			}
			if rule := s.denyRule(abs); rule != got {
				t.Errorf("%s: entryDeny %q, denyRule %q", abs, got, rule)
			}
		}
	}
}

// refDenyRule is the deny check as written before the rules were
// compiled: every glob split and matched against every run of components.
func refDenyRule(s *Service, abs string) string {
	for _, f := range s.folders {
		rel, ok := below(f, abs)
		if !ok {
			continue
		}
		comps := strings.Split(rel, "/")
		for _, g := range append(append([]string{}, s.deny...), f.deny...) {
			segs := strings.Split(strings.ToLower(strings.Trim(g, "/")), "/")
			for i := 0; i+len(segs) <= len(comps); i++ {
				ok := true
				for j, sg := range segs {
					if m, _ := path.Match(sg, strings.ToLower(comps[i+j])); !m {
						ok = false
						break
					}
				}
				if ok {
					return g
				}
			}
		}
	}
	return ""
}

// TestListResultJSON: the listing's own encoder writes what encoding/json
// writes, whatever the names hold.
func TestListResultJSON(t *testing.T) {
	names := []string{"a.go", "with space", "quo\"te", "back\\slash", "<tag>&", "tab\there", "ünïcode", "bad\xffutf8", "\u2028sep", "ctl\x01", ""}
	r := &ListResult{Path: "/h/<docs>", Entries: []Entry{}}
	for i, n := range names {
		r.Entries = append(r.Entries, Entry{Name: n, Type: "file", Size: int64(i * 1000), Mtime: "2026-12-07T00:00:00.123Z"})
	}
	for _, tr := range []bool{false, true} {
		r.Truncated = tr
		got, err := r.MarshalJSON()
		type plain ListResult // no MarshalJSON
		want, _ := json.Marshal((*plain)(r))
		if err != nil || string(got) != string(want) {
			t.Errorf("MarshalJSON:\n%s\nencoding/json:\n%s", got, want)
		}
	}
}
