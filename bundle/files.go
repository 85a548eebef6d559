package bundle

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gimme-tools/carapace/launchd"
)

// WriteGenerated writes Info.plist and entitlements/<exe>.plist under dir.
func WriteGenerated(dir string) error {
	info, err := launchd.Marshal(NewInfo(""))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Info.plist"), info, 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "entitlements"), 0o755); err != nil {
		return err
	}
	for exe, ents := range Entitlements() {
		b, err := launchd.Marshal(ents)
		if err != nil {
			return err
		}
		if err := os.WriteFile(EntitlementsFile(dir, exe), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// EntitlementsFile returns the path of exe's entitlements under dir.
func EntitlementsFile(dir, exe string) string {
	return filepath.Join(dir, "entitlements", exe+".plist")
}

// Assemble builds an unsigned Carapace.app at app from the darwin carapace
// executable at bin: Contents/MacOS/carapace, Contents/Info.plist,
// Contents/PkgInfo and every launchd plist under Contents/Library. An
// existing bundle at app is replaced.
func Assemble(app, bin, version string) error {
	if err := os.RemoveAll(app); err != nil {
		return err
	}
	exe := filepath.Join(app, launchd.BundleProgram)
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		return err
	}
	if err := copyFile(exe, bin, 0o755); err != nil {
		return fmt.Errorf("bundle: copy executable: %w", err)
	}
	info, err := launchd.Marshal(NewInfo(version))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(app, "Contents", "Info.plist"), info, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(app, "Contents", "PkgInfo"), []byte("APPL????"), 0o644); err != nil {
		return err
	}
	return writeJobs(app)
}

func writeJobs(app string) error {
	for _, svc := range launchd.Services() {
		b, err := launchd.Render(svc, launchd.Options{})
		if err != nil {
			return err
		}
		p := filepath.Join(app, launchd.Dir(svc), launchd.FileName(svc))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(dst, src string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}
