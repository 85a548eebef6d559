package file

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
)

// TestNilAuthorizeRefuses: a file service built without a token check
// refuses every call, rather than allow all its folders hold; its rules
// (Permits, for app.open) still answer.
func TestNilAuthorizeRefuses(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	os.WriteFile(p, []byte("a"), 0o644)
	s, err := New(Config{Folders: []Folder{{Path: dir}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	params, _ := json.Marshal(map[string]string{"path": p})
	for _, m := range []string{"file.read", "file.stat", "file.list"} {
		_, err := s.Methods()[m](context.Background(), &service.Call{Method: m, Params: params})
		if errs.ReasonOf(err) != "no_authorizer" {
			t.Errorf("%s without an authorizer: %v", m, err)
		}
	}
	if err := s.Permits(p); err != nil {
		t.Errorf("Permits(%s) = %v", p, err)
	}
}

// TestPermitsOpensNothing: the rules app.open checks files against hold
// no descriptor of the folders (the app service never closed them).
func TestPermitsOpensNothing(t *testing.T) {
	dirs := make([]Folder, 8)
	for i := range dirs {
		dirs[i] = Folder{Path: t.TempDir()}
	}
	before := openFDs(t)
	permits, err := Permits(Config{Folders: dirs})
	if err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t); n != before {
		t.Errorf("%d descriptors open after Permits, %d before", n, before)
	}
	p := filepath.Join(dirs[3].Path, "x")
	os.WriteFile(p, nil, 0o644)
	if err := permits(p); err != nil {
		t.Errorf("permits(%s) = %v", p, err)
	}
	if err := permits("/etc/passwd"); err == nil {
		t.Error("permits(/etc/passwd) = nil")
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd to count descriptors with:", err)
	}
	return len(ents)
}
