//go:build unix

package rundir

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gimme-tools/carapace/core/errs"
)

// other is a uid that is neither ours nor root's, for files root hands
// to "another user" (ownership is all these checks read).
const other = 54321

// base returns a directory whose parents pass Chain.
func base(t *testing.T) string {
	t.Helper()
	return t.TempDir() // testing makes its parents 0700 or sticky

}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	if got := string(errs.ReasonOf(err)); got != reason {
		t.Fatalf("reason %q (%v), want %q", got, err, reason)
	}
	if errs.HintOf(err) == "" && reason != "no_runtime_dir" {
		t.Errorf("no hint: %v", err)
	}
}

func TestCheck(t *testing.T) {
	me := os.Geteuid()
	for _, tc := range []struct {
		name, reason string
		root         bool // needs root (chown)
		prep         func(t *testing.T, dir string)
	}{
		{name: "private", prep: func(t *testing.T, dir string) { must(t, os.Mkdir(dir, 0o700)) }},
		{name: "mode 0755", reason: "runtime_dir_open", prep: func(t *testing.T, dir string) { mkdirMode(t, dir, 0o755) }},
		{name: "mode 0770", reason: "runtime_dir_open", prep: func(t *testing.T, dir string) { mkdirMode(t, dir, 0o770) }},
		{name: "mode 0701", reason: "runtime_dir_open", prep: func(t *testing.T, dir string) { mkdirMode(t, dir, 0o701) }},
		{name: "symlink to a private dir", reason: "runtime_dir_symlink", prep: func(t *testing.T, dir string) {
			must(t, os.Mkdir(dir+".real", 0o700))
			must(t, os.Symlink(dir+".real", dir))
		}},
		{name: "a socket", reason: "runtime_dir_not_dir", prep: func(t *testing.T, dir string) {
			l, err := net.Listen("unix", dir)
			must(t, err)
			t.Cleanup(func() { l.Close() })
		}},
		{name: "missing", reason: "no_runtime_dir", prep: func(t *testing.T, dir string) {}},
		{name: "another user's", reason: "runtime_dir_foreign", root: true, prep: func(t *testing.T, dir string) {
			must(t, os.Mkdir(dir, 0o700))
			must(t, os.Chown(dir, other, other))
		}},
		{name: "parent open to all", reason: "runtime_dir_parent", prep: func(t *testing.T, dir string) {
			mkdirMode(t, filepath.Dir(dir), 0o777)
			must(t, os.Mkdir(dir, 0o700))
		}},
		{name: "parent group-writable", reason: "runtime_dir_parent", prep: func(t *testing.T, dir string) {
			mkdirMode(t, filepath.Dir(dir), 0o775)
			must(t, os.Mkdir(dir, 0o700))
		}},
		{name: "parent sticky", prep: func(t *testing.T, dir string) {
			mkdirMode(t, filepath.Dir(dir), 0o777|os.ModeSticky)
			must(t, os.Mkdir(dir, 0o700))
		}},
		{name: "parent of another user", reason: "runtime_dir_parent", root: true, prep: func(t *testing.T, dir string) {
			must(t, os.Mkdir(filepath.Dir(dir), 0o755))
			must(t, os.Chown(filepath.Dir(dir), other, other))
			must(t, os.Mkdir(dir, 0o700))
		}},
		{name: "parent is another user's link in a sticky dir", reason: "runtime_dir_parent", root: true, prep: func(t *testing.T, dir string) {
			sticky := filepath.Dir(filepath.Dir(dir))
			must(t, os.Chmod(sticky, 0o777|os.ModeSticky))
			must(t, os.Mkdir(sticky+"/real", 0o755))
			must(t, os.Mkdir(sticky+"/real/carapace", 0o700))
			must(t, os.Symlink(sticky+"/real", filepath.Dir(dir)))
			must(t, os.Lchown(filepath.Dir(dir), other, other))
		}},
		{name: "parent is our own link", prep: func(t *testing.T, dir string) {
			real := filepath.Join(filepath.Dir(filepath.Dir(dir)), "real")
			must(t, os.Mkdir(real, 0o755))
			must(t, os.Mkdir(real+"/carapace", 0o700))
			must(t, os.Symlink("real", filepath.Dir(dir)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && me != 0 {
				t.Skip("needs root to give a file to another uid")
			}
			dir := filepath.Join(base(t), "p", "carapace")
			if !strings.HasPrefix(tc.name, "parent") {
				must(t, os.Mkdir(filepath.Dir(dir), 0o755))
			}
			tc.prep(t, dir)
			err := Check(dir, me)
			if tc.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantReason(t, err, tc.reason)
		})
	}
}

// TestCheckForeignAsAnyone: a directory root owns is not ours, checked
// without chown so it runs as an ordinary user too.
func TestCheckForeignAsAnyone(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root owns the directory used; TestCheck covers root")
	}
	wantReason(t, Check("/usr", os.Geteuid()), "runtime_dir_foreign")
}

func TestPrepare(t *testing.T) {
	me := os.Geteuid()
	t.Run("creates 0700", func(t *testing.T) {
		dir := filepath.Join(base(t), "new", "carapace")
		must(t, Prepare(dir))
		fi, err := os.Lstat(dir)
		must(t, err)
		if fi.Mode().Perm() != 0o700 {
			t.Fatalf("mode %v", fi.Mode())
		}
		must(t, os.Mkdir(filepath.Join(dir, "code"), 0o700))
		must(t, os.WriteFile(filepath.Join(dir, "code", "x"), nil, 0o600))
		must(t, Prepare(dir)) // ours, reused
	})
	for _, tc := range []struct {
		name, reason string
		root         bool
		prep         func(t *testing.T, dir string)
	}{
		{name: "open dir is not repaired", reason: "runtime_dir_open", prep: func(t *testing.T, dir string) { mkdirMode(t, dir, 0o755) }},
		{name: "symlinked dir", reason: "runtime_dir_symlink", prep: func(t *testing.T, dir string) {
			must(t, os.Mkdir(dir+".real", 0o700))
			must(t, os.Symlink(dir+".real", dir))
		}},
		{name: "symlink inside", reason: "runtime_dir_planted", prep: func(t *testing.T, dir string) {
			must(t, os.Mkdir(dir, 0o700))
			must(t, os.Symlink("/etc", filepath.Join(dir, "state")))
		}},
		{name: "socket of another user inside", reason: "runtime_dir_planted", root: true, prep: func(t *testing.T, dir string) {
			must(t, os.Mkdir(dir, 0o700))
			must(t, os.Mkdir(filepath.Join(dir, "file"), 0o700))
			l, err := net.Listen("unix", filepath.Join(dir, "file", "file.sock"))
			must(t, err)
			t.Cleanup(func() { l.Close() })
			must(t, os.Lchown(filepath.Join(dir, "file", "file.sock"), other, other))
		}},
		{name: "another user's dir", reason: "runtime_dir_foreign", root: true, prep: func(t *testing.T, dir string) {
			must(t, os.Mkdir(dir, 0o700))
			must(t, os.Chown(dir, other, other))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && me != 0 {
				t.Skip("needs root to give a file to another uid")
			}
			dir := filepath.Join(base(t), "carapace")
			tc.prep(t, dir)
			before, _ := os.Lstat(dir)
			wantReason(t, Prepare(dir), tc.reason)
			if after, _ := os.Lstat(dir); before.Mode() != after.Mode() {
				t.Errorf("Prepare changed the mode: %v → %v", before.Mode(), after.Mode())
			}
		})
	}
}

// TestAsOrdinaryUser runs this package's tests again as an ordinary user
// the test creates, when it runs as root.
func TestAsOrdinaryUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create an ordinary user (useradd); the tests ran as the current user")
	}
	const name = "carapace-victim"
	if _, err := user.Lookup(name); err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
			t.Skipf("useradd %s: %v: %s", name, err, out)
		}
	}
	u, err := user.Lookup(name)
	must(t, err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir := t.TempDir()
	must(t, os.Chmod(filepath.Dir(dir), 0o755))
	must(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "rundir.test")
	b, err := os.ReadFile(os.Args[0])
	must(t, err)
	must(t, os.WriteFile(bin, b, 0o755))
	cmd := exec.Command(bin, "-test.v", "-test.count=1", "-test.run=^Test(Check|CheckForeignAsAnyone|Prepare)$")
	cmd.Env = []string{"TMPDIR=/tmp", "HOME=/tmp", "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	t.Logf("as %s (uid %d):\n%s", name, uid, out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestCheckForeignAsAnyone") {
		t.Fatalf("as an ordinary user: %v", err)
	}
}

func mkdirMode(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	must(t, os.Mkdir(dir, 0o700))
	must(t, os.Chmod(dir, mode))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
