package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sharedTmp makes a directory shaped like /tmp (mode 1777) where every
// test user may reach it, for TMPDIR.
func sharedTmp(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "cr-") // short: socket paths must fit sun_path
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	tmp := filepath.Join(base, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	return tmp
}

// runAs runs the binary with args as cred (nil: as we are) and returns
// its stderr and exit code.
func runAs(t *testing.T, cred *syscall.Credential, env []string, args ...string) (string, int) {
	t.Helper()
	// A refusal is immediate; the budget only ends a dev stack that
	// wrongly started.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.WaitDelay = 5 * time.Second // its children may hold stderr open
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}, env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var e bytes.Buffer
	cmd.Stderr = &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return e.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return e.String(), 0
}

// TestDevRefusesUnsafeRuntimeDir: `carapace dev` will not start in, or
// reuse, a runtime directory it does not own exclusively, says which
// check failed and leaves it as it was. It runs as root and, for the
// cases an ordinary user can set up, as a created user.
func TestDevRefusesUnsafeRuntimeDir(t *testing.T) {
	type setup func(t *testing.T, dir string, me, them *syscall.Credential)
	mkdir := func(mode os.FileMode) setup {
		return func(t *testing.T, dir string, me, _ *syscall.Credential) {
			os.Mkdir(dir, 0o700)
			os.Chmod(dir, mode)
			chown(dir, me)
		}
	}
	for _, tc := range []struct {
		name, reason string
		second       bool // needs a second user
		prep         setup
	}{
		{"mode 0755", "runtime dir open", false, mkdir(0o755)},
		{"mode 0770", "runtime dir open", false, mkdir(0o770)},
		{"symlink to a private dir", "runtime dir symlink", false, func(t *testing.T, dir string, me, _ *syscall.Credential) {
			os.Mkdir(dir+".real", 0o700)
			chown(dir+".real", me)
			os.Symlink(dir+".real", dir)
			lchown(dir, me)
		}},
		{"symlink inside", "runtime dir planted", false, func(t *testing.T, dir string, me, _ *syscall.Credential) {
			mkdir(0o700)(t, dir, me, nil)
			os.Symlink("/etc", filepath.Join(dir, "state"))
			lchown(filepath.Join(dir, "state"), me)
		}},
		{"pre-created by another user", "runtime dir foreign", true, func(t *testing.T, dir string, _, them *syscall.Credential) {
			os.Mkdir(dir, 0o700)
			chown(dir, them)
		}},
		{"another user's socket inside", "runtime dir planted", true, func(t *testing.T, dir string, me, them *syscall.Credential) {
			mkdir(0o700)(t, dir, me, nil)
			l, err := net.Listen("unix", filepath.Join(dir, "router.sock"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			lchown(filepath.Join(dir, "router.sock"), them)
		}},
	} {
		for _, ordinary := range []bool{false, true} {
			name := tc.name
			if ordinary {
				name += " as an ordinary user"
			}
			t.Run(name, func(t *testing.T) {
				var me, them *syscall.Credential
				if ordinary || tc.second {
					them = testUser(t)
				}
				if ordinary {
					// The created user runs dev; the other files belong
					// to a uid that is neither its nor root's.
					me, them = them, &syscall.Credential{Uid: 54321, Gid: 54321}
				} else if tc.second {
					me = nil
				}
				tmp := sharedTmp(t)
				uid := os.Geteuid()
				if me != nil {
					uid = int(me.Uid)
				}
				// The default runtime dir: TMPDIR/carapace-<uid>.
				dir := filepath.Join(tmp, "carapace-"+strconv.Itoa(uid))
				tc.prep(t, dir, me, them)
				before, _ := os.Lstat(dir)
				stderr, code := runAs(t, me, []string{"TMPDIR=" + tmp}, "dev")
				if code == 0 || !strings.Contains(stderr, tc.reason) || !strings.Contains(stderr, "hint:") {
					t.Fatalf("dev in %s: exit %d\n%s", dir, code, stderr)
				}
				if after, _ := os.Lstat(dir); before.Mode() != after.Mode() {
					t.Errorf("mode changed: %v → %v", before.Mode(), after.Mode())
				}
				if fi, err := os.Lstat(filepath.Join(dir, "router.sock")); err == nil && fi.Sys().(*syscall.Stat_t).Uid == uint32(uid) {
					t.Errorf("dev made its socket in the refused directory")
				}
			})
		}
	}
}

// TestCLIRefusesPlantedRuntimeDir: the CLI, run by an ordinary user,
// refuses a dev runtime directory another user made, and prints which
// check failed and what to do.
func TestCLIRefusesPlantedRuntimeDir(t *testing.T) {
	victim := testUser(t)
	tmp := sharedTmp(t)
	dir := filepath.Join(tmp, "carapace-"+strconv.Itoa(int(victim.Uid)))
	os.Mkdir(dir, 0o755)
	os.Chmod(dir, 0o755)
	l, err := net.Listen("unix", filepath.Join(dir, "router.sock")) // root's: as good as anyone's
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	os.Chmod(filepath.Join(dir, "router.sock"), 0o777)
	os.Chown(dir, 54321, 54321)
	stderr, code := runAs(t, victim, []string{"TMPDIR=" + tmp, "GIMME_TOKEN=secret"}, "exec", "--timeout", "10s", "--", "id")
	if code != 1 || !strings.Contains(stderr, "carapace: dial "+filepath.Join(dir, "router.sock")) ||
		!strings.Contains(stderr, "runtime dir foreign") || !strings.Contains(stderr, "hint:") || !strings.Contains(stderr, "impersonating") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}

func chown(p string, c *syscall.Credential) {
	if c != nil {
		os.Chown(p, int(c.Uid), int(c.Gid))
	}
}

func lchown(p string, c *syscall.Credential) {
	if c != nil {
		os.Lchown(p, int(c.Uid), int(c.Gid))
	}
}
