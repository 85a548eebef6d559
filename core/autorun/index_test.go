package autorun

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

func maskNames(names ...string) Options {
	return Options{Mask: func(name string, _ []string) bool { return slices.Contains(names, name) }}
}

func needWatcher(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the index is kept by inotify on Linux only; elsewhere Find walks")
	}
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIndexKeepsUp: once built, the index answers without walking while
// nothing changes, and every change that alters the answer — a secret
// made after it was built, in an existing or a new directory, a file
// renamed to a masked name, a masked file renamed away, a repository's
// hooksPath changed — is in the next answer.
func TestIndexKeepsUp(t *testing.T) {
	needWatcher(t)
	root := t.TempDir()
	writeTree(t, root, map[string]string{"a/b/main.go": "", "notes.txt": "", ".git/config": "[core]\n", "a/.env": "S"})
	ix := &Index{Logf: t.Logf}
	opts := maskNames(".env", ".env.production", "id_ed25519", ".netrc")
	find := func() *Found {
		t.Helper()
		f, err := ix.Find(root, "m", opts)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	first := find()
	if second := find(); second != first {
		t.Error("an unchanged tree was walked again")
	}
	steps := []struct {
		what   string
		change func()
		masked []string
	}{
		{"a secret made after the index", func() { os.WriteFile(filepath.Join(root, "a/b/.env.production"), []byte("S"), 0o600) },
			[]string{"a/.env", "a/b/.env.production"}},
		{"a new directory holding a secret", func() {
			os.MkdirAll(filepath.Join(root, "n/m"), 0o755)
			os.WriteFile(filepath.Join(root, "n/m/id_ed25519"), []byte("S"), 0o600)
		}, []string{"a/.env", "a/b/.env.production", "n/m/id_ed25519"}},
		{"a file renamed to a masked name", func() { os.Rename(filepath.Join(root, "notes.txt"), filepath.Join(root, "a/b/.netrc")) },
			[]string{"a/.env", "a/b/.env.production", "a/b/.netrc", "n/m/id_ed25519"}},
		{"a masked file renamed away", func() { os.Rename(filepath.Join(root, "a/.env"), filepath.Join(root, "a/env.bak")) },
			[]string{"a/b/.env.production", "a/b/.netrc", "n/m/id_ed25519"}},
		{"a directory renamed", func() { os.Rename(filepath.Join(root, "n"), filepath.Join(root, "n2")) },
			[]string{"a/b/.env.production", "a/b/.netrc", "n2/m/id_ed25519"}},
	}
	for _, s := range steps {
		s.change()
		f := find()
		var got []string
		for _, p := range f.Masked {
			got = append(got, strings.TrimPrefix(p, root+"/"))
		}
		if !slices.Equal(got, s.masked) {
			t.Errorf("%s: masked %q, want %q", s.what, got, s.masked)
		}
	}
	os.WriteFile(filepath.Join(root, ".git/config"), []byte("[core]\n\thooksPath = tools/hooks\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "tools/hooks"), 0o755)
	if f := find(); !slices.Contains(f.Protect, filepath.Join(root, "tools/hooks")) {
		t.Errorf("a new hooksPath is not protected: %q", f.Protect)
	}
	// What git writes at every command (its index, objects) does not
	// drop the answer.
	f := find()
	os.WriteFile(filepath.Join(root, ".git/index"), []byte("x"), 0o644)
	if find() != f {
		t.Error(".git/index dropped the answer")
	}
}

// TestIndexWalksPerRoot: a change under one root leaves another's answer.
func TestIndexWalksPerRoot(t *testing.T) {
	needWatcher(t)
	a, b := t.TempDir(), t.TempDir()
	ix := &Index{}
	fa, _ := ix.Find(a, 1, Options{})
	fb, _ := ix.Find(b, 1, Options{})
	os.WriteFile(filepath.Join(a, "x"), nil, 0o644)
	if f, _ := ix.Find(b, 1, Options{}); f != fb {
		t.Error("a change in a dropped b's answer")
	}
	if f, _ := ix.Find(a, 1, Options{}); f == fa {
		t.Error("a change in a kept a's answer")
	}
}

// limitWatcher is a watcher at the watch limit.
type limitWatcher struct{}

func (limitWatcher) add(string) (int32, error)            { return 0, errWatchLimit }
func (limitWatcher) remove(int32)                         {}
func (limitWatcher) drain(map[int32]bool) ([]int32, bool) { return nil, false }

// TestIndexWatchLimit: at the inotify watch limit the index says so once
// and walks every time: never a stale answer.
func TestIndexWatchLimit(t *testing.T) {
	root := t.TempDir()
	var mu sync.Mutex
	var logged []string
	ix := &Index{Logf: func(f string, a ...any) { mu.Lock(); logged = append(logged, fmt.Sprintf(f, a...)); mu.Unlock() }}
	ix.init()
	ix.w = limitWatcher{}
	opts := maskNames(".env")
	ix.Find(root, 1, opts)
	os.WriteFile(filepath.Join(root, ".env"), nil, 0o600)
	f, _ := ix.Find(root, 1, opts)
	if len(f.Masked) != 1 {
		t.Errorf("masked %q after the limit", f.Masked)
	}
	ix.Find(root, 1, opts)
	if len(logged) != 1 || !strings.Contains(logged[0], "max_user_watches") {
		t.Errorf("logged %q", logged)
	}
}

// TestIndexConcurrent: commands starting together in one root all get
// the right answer (run with -race).
func TestIndexConcurrent(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"x/.env": ""})
	ix := &Index{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				os.WriteFile(filepath.Join(root, fmt.Sprint("f", i)), nil, 0o644)
			}
			f, err := ix.Find(root, 1, maskNames(".env"))
			if err != nil || len(f.Masked) != 1 {
				t.Errorf("%v %q", err, f.Masked)
			}
		}()
	}
	wg.Wait()
}

// TestMaskEntersPackageTrees: with a Mask the walk enters node_modules
// for the Mask alone: a secret there is masked, an executed path there
// (a package's own .git) is still not the walk's.
func TestMaskEntersPackageTrees(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"web/node_modules/pkg/.npmrc":        "//registry/:_authToken=x",
		"web/node_modules/pkg/.git/config":   "[core]\n",
		"web/node_modules/@s/p/certs/k.pem":  "",
		"web/node_modules/@s/p/lib/index.js": "",
	})
	f, err := FindWith(root, Options{Mask: func(name string, _ []string) bool {
		return name == ".npmrc" || strings.HasSuffix(name, ".pem")
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{root + "/web/node_modules/@s/p/certs/k.pem", root + "/web/node_modules/pkg/.npmrc"}
	if !slices.Equal(f.Masked, want) {
		t.Errorf("masked %q, want %q", f.Masked, want)
	}
	if len(f.Protect) != 0 || len(f.Entries) != 0 {
		t.Errorf("a package's .git was taken as the project's: %q", f.Protect)
	}
	if f, _ := Find(root); len(f.Masked) != 0 || f.read > 4 {
		t.Errorf("without a Mask node_modules was entered: read %d", f.read)
	}
}
