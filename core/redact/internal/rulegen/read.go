package rulegen

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ReadConfig reads config/gitleaks.toml of Module@Version from the module
// cache (go env GOMODCACHE). It fails when the module was never
// downloaded: go mod download Module@Version.
func ReadConfig() ([]byte, error) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), Module+"@"+Version, "config", "gitleaks.toml")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("%w (run: go mod download %s@%s)", err, Module, Version)
	}
	return b, nil
}
