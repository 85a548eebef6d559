package secret

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestFileStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "carapace", "secrets")
	f, _ := NewFileStore(dir)
	ss := NewStores(f)
	if _, err := ss.Get("github"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get before set: %v", err)
	}
	for _, n := range []string{"github", "npm.token"} {
		if err := ss.Set(n, []byte("value-of-"+n)); err != nil {
			t.Fatal(err)
		}
	}
	ss.Set("github", []byte("replaced"))
	if v, err := ss.Get("github"); err != nil || string(v) != "replaced" {
		t.Fatalf("get: %q %v", v, err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "github")} {
		fi, _ := os.Stat(p)
		if want := map[bool]os.FileMode{true: 0o700, false: 0o600}[fi.IsDir()]; fi.Mode().Perm() != want {
			t.Errorf("%s: mode %o, want %o", p, fi.Mode().Perm(), want)
		}
	}
	if names, _ := ss.List(); !slices.Equal(names, []string{"github", "npm.token"}) {
		t.Errorf("list: %v", names)
	}
	if err := ss.Delete("github"); err != nil {
		t.Fatal(err)
	}
	if err := ss.Delete("github"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	for _, bad := range []string{"", "../x", ".hidden", "a/b", "-x"} {
		if err := ss.Set(bad, []byte("v")); err == nil {
			t.Errorf("set %q passed", bad)
		}
	}
}

// TestFileStoreRefusesShared: a secret others may read, or a directory
// others may enter, is not used: it is not the owner's alone.
func TestFileStoreRefusesShared(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	f, _ := NewFileStore(dir)
	f.Set("a", []byte("value"))
	os.Chmod(filepath.Join(dir, "a"), 0o644)
	if _, err := f.Get("a"); err == nil {
		t.Error("a 0644 secret was read")
	}
	os.Chmod(filepath.Join(dir, "a"), 0o600)
	os.Chmod(dir, 0o755)
	if _, err := f.Get("a"); err == nil {
		t.Error("a secret in a 0755 directory was read")
	}
	os.Chmod(dir, 0o700)
	os.Symlink(filepath.Join(dir, "a"), filepath.Join(dir, "b"))
	if _, err := f.Get("b"); err == nil {
		t.Error("a symbolic link was followed")
	}
	if _, err := f.Get("a"); err != nil {
		t.Errorf("the private one: %v", err)
	}
}

func TestStoresOrder(t *testing.T) {
	a, _ := NewFileStore(filepath.Join(t.TempDir(), "a"))
	b, _ := NewFileStore(filepath.Join(t.TempDir(), "b"))
	b.Set("old", []byte("from-b"))
	ss := NewStores(a, b)
	ss.Set("new", []byte("to-a"))
	if v, err := a.Get("new"); err != nil || string(v) != "to-a" {
		t.Errorf("set went elsewhere: %q %v", v, err)
	}
	if v, err := ss.Get("old"); err != nil || string(v) != "from-b" {
		t.Errorf("get from the second: %q %v", v, err)
	}
	if names, _ := ss.List(); !slices.Equal(names, []string{"new", "old"}) {
		t.Errorf("list: %v", names)
	}
	if err := ss.Delete("old"); err != nil {
		t.Error(err)
	}
}
