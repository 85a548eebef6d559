package file

import (
	"testing"

	"github.com/gimme-tools/carapace/core/service"
)

// TestMethodsHaveRules: every method the file service serves has a rule
// in service.Registry, and no rule names a method it does not serve.
func TestMethodsHaveRules(t *testing.T) {
	s, err := New(Config{Folders: []Folder{{Path: t.TempDir()}}}, service.AllowAll)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := service.CheckMethods(s.Name(), s.Methods()); err != nil {
		t.Error(err)
	}
}
