package bundle

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gimme-tools/carapace/launchd"
	"howett.net/plist"
)

func TestGeneratedUpToDate(t *testing.T) {
	tmp := t.TempDir()
	if err := WriteGenerated(tmp); err != nil {
		t.Fatal(err)
	}
	rels := []string{"Info.plist"}
	for exe := range Entitlements() {
		rels = append(rels, filepath.Join("entitlements", exe+".plist"))
	}
	for _, rel := range rels {
		want, err := os.ReadFile(filepath.Join(tmp, rel))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(rel)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("bundle/%s is stale or missing (%v): run go generate ./bundle", rel, err)
		}
	}
	files, _ := filepath.Glob("entitlements/*.plist")
	if len(files) != len(Entitlements()) {
		t.Errorf("entitlements/ holds %v; want one file per executable", files)
	}
}

func TestInfoPlist(t *testing.T) {
	var m map[string]any
	if _, err := plist.Unmarshal(mustRead(t, "Info.plist"), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"CFBundleIdentifier":     "com.gimme.carapace",
		"CFBundleExecutable":     "carapace",
		"CFBundlePackageType":    "APPL",
		"LSMinimumSystemVersion": "13.0",
		"LSUIElement":            true,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	for _, k := range []string{"CFBundleVersion", "CFBundleShortVersionString", "NSAppleEventsUsageDescription"} {
		if s, _ := m[k].(string); s == "" {
			t.Errorf("%s is missing or empty", k)
		}
	}
}

func TestEntitlements(t *testing.T) {
	var m map[string]any
	if _, err := plist.Unmarshal(mustRead(t, EntitlementsFile(".", "carapace")), &m); err != nil {
		t.Fatal(err)
	}
	for _, svc := range launchd.Services() {
		if m[Capability(svc)] != true {
			t.Errorf("carapace lacks %s: it could not reach %s", Capability(svc), svc)
		}
	}
	if m["com.apple.security.automation.apple-events"] != true {
		t.Error("carapace lacks the apple-events entitlement the app service needs")
	}
	for _, k := range Forbidden {
		if _, ok := m[k]; ok {
			t.Errorf("release entitlements carry %s", k)
		}
	}
}

// TestAssembleLayout builds ./cmd/carapace for darwin and assembles a bundle
// from it in a temporary directory, then checks the layout launchd and
// SMAppService expect.
func TestAssembleLayout(t *testing.T) {
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "cmd", "carapace")); err != nil {
		t.Skip("./cmd/carapace does not exist yet; the bundle layout is checked once it does")
	}
	if testing.Short() {
		t.Skip("builds the darwin binary; skipped in -short")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "carapace")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/carapace")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("darwin build: %v\n%s", err, out)
	}
	app := filepath.Join(tmp, "Carapace.app")
	if err := Assemble(app, bin, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, app)
}

func TestAssembleLayoutFakeBinary(t *testing.T) {
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "carapace")
	if err := os.WriteFile(bin, []byte("\xcf\xfa\xed\xfe"), 0o644); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(tmp, "Carapace.app")
	if err := os.MkdirAll(filepath.Join(app, "stale"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Assemble(app, bin, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, app)
	if _, err := os.Stat(filepath.Join(app, "stale")); !os.IsNotExist(err) {
		t.Error("Assemble kept a file from the previous bundle")
	}
}

func checkLayout(t *testing.T, app string) {
	t.Helper()
	var got []string
	err := filepath.Walk(app, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(app, p)
		got = append(got, rel)
		if rel == launchd.BundleProgram && fi.Mode().Perm() != 0o755 {
			t.Errorf("%s mode %v, want 0755", rel, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Contents/Info.plist",
		"Contents/Library/LaunchAgents/com.gimme.local.app.plist",
		"Contents/Library/LaunchAgents/com.gimme.local.shell.plist",
		"Contents/Library/LaunchDaemons/com.gimme.local.code.plist",
		"Contents/Library/LaunchDaemons/com.gimme.local.file.plist",
		"Contents/Library/LaunchDaemons/com.gimme.local.router.plist",
		"Contents/MacOS/carapace",
		"Contents/PkgInfo",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bundle files:\n got %v\nwant %v", got, want)
	}
	var info Info
	if _, err := plist.Unmarshal(mustRead(t, filepath.Join(app, "Contents", "Info.plist")), &info); err != nil {
		t.Fatal(err)
	}
	if info.CFBundleVersion != "1.2.3" || info.CFBundleExecutable != filepath.Base(launchd.BundleProgram) {
		t.Errorf("Info.plist version %q executable %q", info.CFBundleVersion, info.CFBundleExecutable)
	}
	// The plists in the bundle are the checked-in ones.
	for _, svc := range launchd.Services() {
		in := mustRead(t, filepath.Join(app, launchd.Dir(svc), launchd.FileName(svc)))
		src := mustRead(t, filepath.Join("..", "launchd", filepath.Base(launchd.Dir(svc)), launchd.FileName(svc)))
		if !bytes.Equal(in, src) {
			t.Errorf("bundle plist for %s differs from launchd/", svc)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}
