package core_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestCoreIsPlatformNeutral fails if anything under core/ uses cgo or
// imports the platform trees, on any of the platforms we build for.
func TestCoreIsPlatformNeutral(t *testing.T) {
	const mod = "github.com/gimme-tools/carapace/"
	for _, goos := range []string{"linux", "darwin"} {
		cmd := exec.Command("go", "list", "-deps", "-json", "./...")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "CGO_ENABLED=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list (%s): %v", goos, err)
		}
		dec := json.NewDecoder(strings.NewReader(string(out)))
		for dec.More() {
			var p struct {
				ImportPath string
				CgoFiles   []string
				Imports    []string
			}
			if err := dec.Decode(&p); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(p.ImportPath, mod+"core") {
				if strings.HasPrefix(p.ImportPath, mod) {
					t.Errorf("%s: core depends on %s", goos, p.ImportPath)
				}
				continue
			}
			if len(p.CgoFiles) > 0 {
				t.Errorf("%s: %s uses cgo: %v", goos, p.ImportPath, p.CgoFiles)
			}
			for _, imp := range p.Imports {
				if imp == "C" || strings.HasPrefix(imp, mod+"xpcbridge") || strings.HasPrefix(imp, mod+"linux") {
					t.Errorf("%s: %s imports %s", goos, p.ImportPath, imp)
				}
			}
		}
	}
}

// TestRouterImportsNoService: the router learns what each service is from
// service.Registry alone, never from a service's package (issue 16).
func TestRouterImportsNoService(t *testing.T) {
	const svc = "github.com/gimme-tools/carapace/core/service/"
	out, err := exec.Command("go", "list", "-deps", "./router").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, svc) {
			t.Errorf("core/router depends on %s", p)
		}
	}
}
