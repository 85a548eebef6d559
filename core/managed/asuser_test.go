package managed

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

// TestAsOrdinaryUser runs this package's tests again as an ordinary user
// the test creates, when it runs as root: an override file of the user's
// own is trusted, a file of theirs at a machine path is not.
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
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "managed.test")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.v", "-test.count=1", "-test.run=^Test(Load|Invalid|EmptyList|Untrusted|Watcher|ProfileRoundTrip)")
	cmd.Env = []string{"TMPDIR=/tmp", "HOME=/tmp", "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	t.Logf("as %s (uid %d):\n%s", name, uid, out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestUntrustedFileStopsEverything/the_user's_own,_not_an_override") {
		t.Fatalf("as an ordinary user: %v", err)
	}
}
