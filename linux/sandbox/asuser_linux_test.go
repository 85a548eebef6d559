//go:build linux

package sandbox

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// testUser is the ordinary user TestAsOrdinaryUser creates.
const testUser = "carapace-sbx-test"

// innerEnv marks the re-executed run, so it does not recurse.
const innerEnv = "CARAPACE_SANDBOX_TEST_INNER"

// TestAsOrdinaryUser runs the escape corpus and the ConfineSelf tests again
// as an ordinary user the test creates: the same checks must hold without
// root (where RLIMIT_NPROC, not a cgroup, bounds the fork bomb, and a user
// namespace, not plain CLONE_NEWNS, protects .git).
func TestAsOrdinaryUser(t *testing.T) {
	if os.Getenv(innerEnv) != "" {
		t.Skip("already running as the created user")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create an ordinary user (useradd); the corpus ran as the current user")
	}
	requireSandbox(t)
	if _, err := user.Lookup(testUser); err != nil {
		out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", testUser).CombinedOutput()
		if err != nil {
			t.Skipf("useradd %s: %v: %s", testUser, err, out)
		}
	}
	u, err := user.Lookup(testUser)
	must(t, err)
	dir, err := os.MkdirTemp("", "carapace-sbx-bin-")
	must(t, err)
	defer os.RemoveAll(dir)
	must(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "carapace-test")
	must(t, copyFile(os.Args[0], bin))
	slim := buildSlim(t, dir) // the created user may have no go toolchain
	cmd := exec.Command("setpriv", "--reuid="+u.Uid, "--regid="+u.Gid, "--clear-groups",
		bin, "-test.v", "-test.count=1", "-test.run=^Test(Escape|ForkBomb|Background|OutputFlood|ExitCodes|ConfineSelf|ConfinedCodeService|OneStage|SlimHelper|WarmHelper|OwnsMountNamespace|NoControllingTerminal|UnixSocket|Egress)")
	cmd.Env = append(os.Environ(), innerEnv+"=1", slimEnv+"="+slim, "HOME=/tmp", "TMPDIR=/tmp")
	out, err := cmd.CombinedOutput()
	t.Logf("as %s (uid %s):\n%s", testUser, u.Uid, out)
	if err != nil {
		t.Fatalf("the corpus failed as an ordinary user: %v", err)
	}
	if !strings.Contains(string(out), "uid "+u.Uid) {
		t.Fatal("the inner run did not run the fork bomb test as the created user")
	}
}
