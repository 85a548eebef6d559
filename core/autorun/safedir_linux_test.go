package autorun

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestGitRefusesAnotherUsersRepository verifies what the installed mode
// relies on for repositories a command creates: the command runs as
// _gimme_code, so what it makes is owned by that user, and git (2.35.2
// and later, safe.directory) refuses to read the config of a repository
// another user owns — core.fsmonitor there does not run for the owner.
// Checked both ways between root and a created user.
func TestGitRefusesAnotherUsersRepository(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a second user (useradd); the code service's quarantine covers this case without one")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	const name = "carapace-git-test"
	if _, err := user.Lookup(name); err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
			t.Skipf("useradd: %v %s", err, out)
		}
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	other := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}

	base, err := os.MkdirTemp("", "carapace-safedir-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o777|os.ModeSticky)
	for _, c := range []struct {
		name          string
		maker, runner *syscall.Credential
	}{{"made by another user, run by root", other, nil}, {"made by root, run by another user", nil, other}} {
		t.Run(c.name, func(t *testing.T) {
			repo, err := os.MkdirTemp(base, "repo-")
			if err != nil {
				t.Fatal(err)
			}
			os.Chmod(repo, 0o755)
			pwned := filepath.Join(base, "PWNED-"+filepath.Base(repo))
			if c.maker != nil {
				os.Chown(repo, uid, gid)
			}
			run := func(cred *syscall.Credential, args ...string) (string, error) {
				cmd := exec.Command("git", args...)
				cmd.Dir = repo
				cmd.Env = []string{"HOME=" + base, "PATH=/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM=1"}
				if cred != nil {
					cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
				}
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			if out, err := run(c.maker, "init", "-q"); err != nil {
				t.Fatalf("git init: %v %s", err, out)
			}
			if out, err := run(c.maker, "config", "core.fsmonitor", "touch "+pwned); err != nil {
				t.Fatalf("git config: %v %s", err, out)
			}
			out, err := run(c.runner, "status")
			if err == nil || !strings.Contains(out, "dubious ownership") {
				t.Errorf("git status in another user's repository: %v %s", err, out)
			}
			if _, err := os.Stat(pwned); err == nil {
				t.Error("git ran core.fsmonitor from another user's repository")
			}
		})
	}
}
