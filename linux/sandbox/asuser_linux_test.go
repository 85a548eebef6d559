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

// asUserTests are the tests TestAsOrdinaryUser runs again as the created
// user: those whose code path differs for an ordinary user. Without root,
// RLIMIT_NPROC rather than a cgroup bounds the fork bomb (limits_linux.go);
// a user namespace rather than plain CLONE_NEWNS holds the mount namespace
// that protects .git and masks deny-read names, with CAP_SYS_ADMIN kept
// into the helper's second stage and cleared before the command
// (namespaceAttr) — so every test of mounts, of warm helpers, of the
// escape corpora a namespace's capabilities could change (filesystem,
// processes) and of the one-stage path (which root runs only where a pids
// cgroup is writable) runs again; the egress network namespace needs the
// user namespace too; ConfineSelf runs unprivileged. The rest (exit codes,
// output floods, background children, terminals, the network and Unix
// socket rules, the slim helper, which every inner test uses) run the
// same code for any uid and are not repeated. Add a test here when it
// covers a uid-dependent branch.
var asUserTests = []string{
	"TestConfineSelfFileService", "TestConfineSelfRefusesAForgedMarker",
	"TestConfinedCodeServiceProtectsGit", "TestEgressNamespace", "TestEgressNeedsNamespace", "TestEgressUnitProcess",
	"TestEscapeDenyRead", "TestEscapeFilesystem", "TestEscapeProcesses",
	"TestForkBombIsBounded", "TestHelperChangedNotReused", "TestHelperOtherKindNotReused", "TestHelperReused",
	"TestHelperWithLeftoverNotReused", "TestIdleHelperEndsOnSignal", "TestCommandIPCStaysWithItsHelper", "TestCommandCannotReachItsHelper", "TestConfinedCodeServiceGetsIPCNamespaces", "TestKilledHelperTakesItsCommand", "TestOneStage", "TestOwnsMountNamespace",
	"TestWarmHelper", "TestWarmHelperDenyRead", "TestWarmHelperOwnMounts",
}

// TestAsOrdinaryUser runs asUserTests again as an ordinary user the test
// creates: the same checks must hold without root.
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
		bin, "-test.v", "-test.count=1", "-test.run=^("+strings.Join(asUserTests, "|")+")$")
	cmd.Env = append(os.Environ(), innerEnv+"=1", slimEnv+"="+slim, "HOME=/tmp", "TMPDIR=/tmp")
	out, err := cmd.CombinedOutput()
	t.Logf("as %s (uid %s):\n%s", testUser, u.Uid, out)
	if err != nil {
		t.Fatalf("the corpus failed as an ordinary user: %v", err)
	}
	if !strings.Contains(string(out), "uid "+u.Uid) {
		t.Fatal("the inner run did not run the fork bomb test as the created user")
	}
	for _, name := range asUserTests { // a renamed test would drop out silently
		if !strings.Contains(string(out), "--- PASS: "+name+" ") && !strings.Contains(string(out), "--- SKIP: "+name+" ") {
			t.Errorf("%s did not run as the created user: is it still called that?", name)
		}
	}
}
