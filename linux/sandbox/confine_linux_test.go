//go:build linux

package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/sandbox"
)

// confineProbe is a stand-in service: it confines itself like the file
// service (args: the one folder it may use), then tries to escape.
func confineProbe(args []string) int {
	dir, outside := args[0], args[1]
	err := confineSelf(sandbox.Profile{RestrictFS: true, ReadWrite: []string{dir}})
	if err != nil {
		say("confine failed: %v", err)
		return 1
	}
	say("inside write: %s", result(os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600)))
	_, rerr := os.ReadFile(outside)
	say("outside read: %s", result(rerr))
	say("exec: %s", result(exec.Command("/bin/true").Run()))
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "NoNewPrivs:") || strings.HasPrefix(l, "Seccomp:") {
			say("%s", strings.Join(strings.Fields(l), " "))
		}
	}
	return 0
}

func result(err error) string {
	if err == nil {
		return "ok"
	}
	return "denied"
}

func TestConfineSelfFileService(t *testing.T) {
	requireSandbox(t)
	dir := t.TempDir()
	secret := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(secret, []byte("s"), 0o600))
	cmd := exec.Command(os.Args[0], "confine", dir, secret)
	cmd.Env = append(os.Environ(), confinedMarker+"=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("confined service: %v\n%s", err, out)
	}
	for _, want := range []string{"inside write: ok", "outside read: denied", "exec: denied", "NoNewPrivs: 1", "Seccomp: 2"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("confined service output lacks %q:\n%s", want, out)
		}
	}
}

func TestConfineSelfRefusesAForgedMarker(t *testing.T) {
	requireSandbox(t)
	// With the marker set but no domain in force, the second half of
	// ConfineSelf must notice instead of serving unconfined.
	cmd := exec.Command(os.Args[0], "confine", t.TempDir(), "/etc/hostname")
	cmd.Env = append(os.Environ(), confinedMarker+"=1")
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "confine failed") {
		t.Fatalf("a forged marker was believed:\n%s", out)
	}
}

// codeServiceProbe is a stand-in code service: it confines itself as the
// code service does (exec allowed; namespaces allowed when args[0] is
// "ns"), then runs the helper command line args[1:] and prints its output
// and exit code.
func codeServiceProbe(args []string) int {
	if err := confineSelf(sandbox.Profile{Exec: true, Namespaces: args[0] == "ns"}); err != nil {
		say("confine failed: %v", err)
		return 1
	}
	cmd := exec.Command(args[1], args[2:]...)
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	say("%s", strings.TrimSpace(string(out)))
	say("exit %d", exitCode(err))
	return 0
}

// TestConfinedCodeServiceProtectsGit runs the helper's two-stage path
// (.git protected in a mount namespace) from a process confined like the
// code service: the helper inherits the service's seccomp filter, which
// must let the mount namespace through (Profile.Namespaces) while the
// command's own filter still refuses namespaces and mounts.
func TestConfinedCodeServiceProtectsGit(t *testing.T) {
	b := newBox(t)
	run := func(ns string, probe ...string) string {
		t.Helper()
		helper := b.command(append([]string{b.bin, "probe"}, probe...)...)
		cmd := exec.Command(b.bin, append([]string{"codesvc", ns}, helper.Args...)...)
		cmd.Dir, cmd.Env = helper.Dir, helper.Env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("code service stand-in: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	hooks := filepath.Join(b.project, ".git", "hooks", "x")
	expect(t, "write .git/hooks/x", run("ns", "write", hooks), "denied EROFS\nexit 0")
	expect(t, "unshare in the command", run("ns", "unshare"), "denied EPERM\nexit 0")
	expect(t, "write in the project", run("ns", "write", filepath.Join(b.project, "ok")), "ok\nexit 0")
	// Without Namespaces the helper refuses to run rather than leave
	// .git writable.
	if out := run("nons", "write", hooks); !strings.HasSuffix(out, "exit 126") {
		t.Errorf("without Profile.Namespaces: %q, want exit 126", out)
	}
	if _, err := os.Stat(hooks); err == nil {
		t.Error(".git/hooks/x was written")
	}
}
