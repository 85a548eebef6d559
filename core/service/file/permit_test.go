package file

import (
	"os"
	"path/filepath"
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
