package bundle

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const notarize = "../scripts/notarize.sh"

func TestNotarizeShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed (make deps installs it)")
	}
	if out, err := exec.Command("shellcheck", notarize).CombinedOutput(); err != nil {
		t.Errorf("shellcheck %s: %v\n%s", notarize, err, out)
	}
}

// fakeApp assembles a bundle with a helper executable beside the main one,
// and an entitlements directory for both.
func fakeApp(t *testing.T) (app, ents string) {
	t.Helper()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "carapace")
	if err := os.WriteFile(bin, []byte("\xcf\xfa\xed\xfe"), 0o755); err != nil {
		t.Fatal(err)
	}
	app = filepath.Join(tmp, "Carapace.app")
	if err := Assemble(app, bin, ""); err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(app, "Contents", "Helpers", "helper")
	if err := os.MkdirAll(filepath.Dir(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(helper, []byte("\xcf\xfa\xed\xfe"), 0o755); err != nil {
		t.Fatal(err)
	}
	ents = filepath.Join(tmp, "entitlements")
	if err := os.MkdirAll(ents, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"carapace", "helper"} {
		if err := os.WriteFile(filepath.Join(ents, n+".plist"), []byte("<plist/>"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return app, ents
}

func runNotarize(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{notarize}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// indexOf returns the index of the first command line containing all of
// words, or -1.
func indexOf(lines []string, words ...string) int {
	for i, l := range lines {
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			return i
		}
	}
	return -1
}

func TestNotarizeDryRunOrder(t *testing.T) {
	app, ents := fakeApp(t)
	env := []string{"SIGN_IDENTITY=Developer ID Application: Test (ABCDE12345)", "NOTARY_PROFILE=carapace-notary"}
	out, errOut, code := runNotarize(t, env, "--dry-run", "--app", app, "--entitlements", ents)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	steps := [][]string{
		{"codesign --force", "--options runtime", "--timestamp", "helper.plist", "Contents/Helpers/helper"},
		{"codesign --force", "--options runtime", "--timestamp", "carapace.plist", "Carapace.app"},
		{"codesign --verify", "--strict"},
		{"ditto -c -k --keepParent"},
		{"xcrun notarytool submit", "--keychain-profile carapace-notary", "--wait"},
		{"xcrun stapler staple"},
		{"spctl --assess --type execute"},
	}
	last := -1
	for _, s := range steps {
		i := indexOf(lines, s...)
		if i <= last {
			t.Errorf("step %q at line %d, want after line %d:\n%s", s, i, last, out)
		}
		last = i
	}
	for _, l := range lines {
		if strings.Contains(l, "codesign --force") && strings.Contains(l, "--deep") {
			t.Errorf("signs with --deep: %s", l)
		}
	}
	if !strings.Contains(errOut, "dry run") {
		t.Errorf("stderr does not say it was a dry run: %q", errOut)
	}
}

func TestNotarizeRcodesignDryRun(t *testing.T) {
	app, ents := fakeApp(t)
	env := []string{"P12_FILE=cert.p12", "P12_PASSWORD_FILE=pw", "ASC_API_KEY_FILE=key.json"}
	out, errOut, code := runNotarize(t, env, "--dry-run", "--rcodesign", "--app", app, "--entitlements", ents)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	sign := indexOf(lines, "rcodesign sign", "--code-signature-flags runtime", "--p12-file cert.p12",
		"Contents/Helpers/helper:", "Contents/MacOS/carapace:")
	submit := indexOf(lines, "rcodesign notary-submit", "--api-key-file key.json", "--staple")
	if sign < 0 || submit <= sign {
		t.Errorf("rcodesign sign at %d, notary-submit at %d:\n%s", sign, submit, out)
	}
}

func TestNotarizeClearErrors(t *testing.T) {
	app, ents := fakeApp(t)
	clean := []string{"SIGN_IDENTITY=", "NOTARY_PROFILE=", "P12_FILE=", "P12_PASSWORD_FILE=", "ASC_API_KEY_FILE="}
	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{clean, []string{"--dry-run", "--app", app, "--entitlements", ents}, "SIGN_IDENTITY is not set"},
		{append(clean, "SIGN_IDENTITY=x"), []string{"--dry-run", "--app", app, "--entitlements", ents}, "NOTARY_PROFILE is not set"},
		{clean, []string{"--dry-run", "--rcodesign", "--app", app, "--entitlements", ents}, "P12_FILE is not set"},
		{clean, []string{"--dry-run", "--app", filepath.Dir(app)}, "not an app bundle"},
		{append(clean, "SIGN_IDENTITY=x", "NOTARY_PROFILE=p"), []string{"--dry-run", "--app", app, "--entitlements", t.TempDir()}, "no entitlements for"},
		{clean, []string{"--bogus"}, "unknown argument"},
	} {
		_, errOut, code := runNotarize(t, c.env, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errOut, c.want)
		}
	}
}
