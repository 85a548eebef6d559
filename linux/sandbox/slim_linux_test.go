//go:build linux

package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// slimEnv names a prebuilt carapace-sandbox for runs that cannot build one
// (TestAsOrdinaryUser builds it as root and passes it on).
const slimEnv = "CARAPACE_SANDBOX_TEST_SLIM"

// buildSlim builds linux/sandbox/cmd/carapace-sandbox into dir.
func buildSlim(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(dir, HelperName)
	if p := os.Getenv(slimEnv); p != "" {
		must(t, copyFile(p, out))
		return out
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain to build carapace-sandbox")
	}
	cmd := exec.Command(gobin, "build", "-o", out, "./cmd/carapace-sandbox")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build carapace-sandbox: %v\n%s", err, b)
	}
	return out
}

func TestHelperNextTo(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "carapace")
	must(t, os.WriteFile(exe, nil, 0o755))
	expect(t, "without a slim helper", helperNextTo(exe), exe)
	slim := filepath.Join(dir, HelperName)
	must(t, os.WriteFile(slim, nil, 0o644))
	expect(t, "with a slim helper that is not executable", helperNextTo(exe), exe)
	must(t, os.Chmod(slim, 0o755))
	expect(t, "with a slim helper", helperNextTo(exe), slim)
}

// TestSlimHelper runs escape probes through the carapace-sandbox binary,
// on the two-stage path (.git protected: the second stage re-executes the
// slim binary with carapace's "sandbox-exec" argv) and on the one-stage
// path, with both argv shapes.
func TestSlimHelper(t *testing.T) {
	b := newBox(t)
	slim := buildSlim(t, filepath.Dir(b.bin))
	run := func(args ...string) string {
		t.Helper()
		cmd := b.command(append([]string{b.bin, "probe"}, args...)...)
		cmd.Path, cmd.Args[0] = slim, slim
		out, _ := cmd.CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	p := b.project
	if par := run("parent"); !strings.HasPrefix(par, slim+" sandbox-exec --spec ") {
		t.Fatalf("the command's parent is %.80q…, want the slim helper", par)
	}
	expect(t, "write .git/hooks/x", run("write", filepath.Join(p, ".git", "hooks", "x")), "denied EROFS")
	expect(t, "read ~/.ssh/id_rsa", run("read", filepath.Join(b.home, ".ssh", "id_rsa")), "denied EACCES")
	expect(t, "write in the project", run("write", filepath.Join(p, "ok")), "ok")
	status := run("status")
	for _, want := range []string{"NoNewPrivs: 1", "Seccomp: 2", "CapEff: 0000000000000000"} {
		if !strings.Contains(status, want) {
			t.Errorf("/proc/self/status lacks %q:\n%s", want, status)
		}
	}
	// Without the "sandbox-exec" word, as carapace-sandbox documents it.
	cmd := b.command(b.bin, "probe", "write", filepath.Join(b.outside, "x"))
	cmd.Path, cmd.Args = slim, append([]string{slim}, cmd.Args[2:]...)
	out, _ := cmd.CombinedOutput()
	expect(t, "write outside, short argv", strings.TrimSpace(string(out)), "denied EACCES")
	// Usage errors keep their exit code.
	if err := exec.Command(slim, "--bogus").Run(); exitCode(err) != exitUsage {
		t.Errorf("carapace-sandbox --bogus: %v, want exit %d", err, exitUsage)
	}
}
