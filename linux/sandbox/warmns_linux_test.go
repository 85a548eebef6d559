//go:build linux

package sandbox

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/sandbox"
	"golang.org/x/sys/unix"
)

// standInServiceCgroup makes, as root, a pids cgroup named like the code
// service's (ServiceCgroup), so that helpers born in it take the one-stage
// path as they do under the service. It returns "" for an ordinary user,
// who has no per-command cgroup anyway, and skips when root has no
// writable pids hierarchy.
func standInServiceCgroup(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return ""
	}
	for _, base := range pidsCgroupDirs() {
		// One per test: a helper reaped in the background may keep the
		// last test's busy a little longer.
		dir := filepath.Join(base, serviceCgroupPrefix+"test-"+strconv.Itoa(os.Getpid())+"-"+strconv.Itoa(int(standIns.Add(1))))
		if os.Mkdir(dir, 0o700) == nil && os.WriteFile(filepath.Join(dir, "pids.max"), []byte("64"), 0) == nil {
			t.Cleanup(func() { os.Remove(dir) })
			return dir
		}
	}
	t.Skip("no writable pids cgroup to stand in for the service's")
	return ""
}

var standIns atomic.Int32

// TestWarmHelperOwnMounts runs the escape corpus through warm helpers
// started as the code service starts them (sandbox.Warm's Attr: a mount
// namespace of their own, and a user namespace when not root): the helper
// mounts .git/hooks and .git/config read-only itself and forks the command
// from a confined thread, with no second stage. The mounts must not show
// in the test's own mount namespace.
func TestWarmHelperOwnMounts(t *testing.T) {
	b := newBox(t)
	cg := standInServiceCgroup(t)
	ws, err := warmHelper()
	must(t, err)
	argv := []string{b.bin, "sandbox-exec", "--warm"}
	if cg != "" { // join the stand-in service cgroup, then become the helper
		argv = append([]string{"/bin/sh", "-c", `echo $$ > "$0/cgroup.procs" && shift && exec "$@"`, cg, "--"}, argv...)
	}
	pool := codeexec.NewPool(argv, codeexec.PoolOptions{Size: 2, Attr: ws.Attr})
	defer pool.Close()
	run := warmRunner(t, b, pool)
	// One stage: the command shares the mount namespace of the helper
	// that ran it (a second stage would have had one of its own), and
	// that is not the test's.
	wrapped, err := wrap(b.spec, []string{b.bin, "probe", "mntns"})
	must(t, err)
	req := sandbox.Request{Args: wrapped[2:], Env: b.spec.Env(os.Environ(), nil), Dir: b.project}
	helperNS, got := runOneWarm(t, argv, ws.Attr(), req)
	mine, err := os.Readlink("/proc/self/ns/mnt")
	must(t, err)
	if got != helperNS || helperNS == mine {
		t.Fatalf("mount namespaces: the command's %q, its helper's %q, the test's %q; want the first two alike, not the third", got, helperNS, mine)
	}
	p := b.project
	expect(t, "write .git/hooks/x", run("write", filepath.Join(p, ".git", "hooks", "x")), "denied EROFS")
	expect(t, "write .git/config", run("write", filepath.Join(p, ".git", "config")), "denied EROFS")
	expect(t, "move .git/hooks away", run("rename", filepath.Join(p, ".git", "hooks"), filepath.Join(p, "h")), "denied EBUSY")
	expect(t, "delete .git/config", run("remove", filepath.Join(p, ".git", "config")), "denied EBUSY")
	expect(t, "read .git/config", run("read", filepath.Join(p, ".git", "config")), "ok")
	expect(t, "read ~/.ssh/id_rsa", run("read", filepath.Join(b.home, ".ssh", "id_rsa")), "denied EACCES")
	expect(t, "write outside", run("write", filepath.Join(b.outside, "x")), "denied EACCES")
	expect(t, "write in the project", run("write", filepath.Join(p, "ok")), "ok")
	addr, seen := listener(t)
	expect(t, "tcp to a loopback listener", run("tcp", addr), "denied EPERM")
	expect(t, "ptrace the test process", run("ptrace", strconv.Itoa(os.Getpid())), "denied EPERM")
	expect(t, "signal the test process", run("kill", strconv.Itoa(os.Getpid())), "denied EPERM")
	expect(t, "unshare", run("unshare"), "denied EPERM")
	if seen.Load() != 0 {
		t.Fatal("the listener saw a connection from the sandbox")
	}
	expectConfined(t, run, "NoNewPrivs: 1", "Seccomp: 2", "CapEff: 0000000000000000", "CapPrm: 0000000000000000")
	newForeign(t).expect(t, run)
	expect(t, "a terminal of its own", run("pty"), "ok")
	// The read-only mounts lived in the helpers' namespaces only.
	mi, err := os.ReadFile("/proc/self/mountinfo")
	must(t, err)
	if strings.Contains(string(mi), filepath.Join(p, ".git")) {
		t.Fatalf("a helper's mount leaked into the test's namespace:\n%s", mi)
	}
	must(t, os.WriteFile(filepath.Join(p, ".git", "hooks", "x"), nil, 0o644))
	// A command with no .git to protect, through the same kind of helper.
	must(t, os.RemoveAll(filepath.Join(p, ".git")))
	expect(t, "no .git: write outside", run("write", filepath.Join(b.outside, "x")), "denied EACCES")
	expect(t, "no .git: write in the project", run("write", filepath.Join(p, "ok2")), "ok")
}

// TestOwnMountNamespaceIsNotTheParents checks the guard in front of every
// mount a warm helper makes itself: a process in its parent's mount
// namespace (this test, started by go test) must not count as having its
// own.
func TestOwnMountNamespaceIsNotTheParents(t *testing.T) {
	if ok, _ := ownMountNamespace(); ok {
		t.Fatal("the test process, in its parent's mount namespace, was taken for a helper with its own")
	}
}

// runOneWarm starts one warm helper as argv with attr, reads its mount
// namespace while it waits, hands it req and returns that namespace and
// the command's output, trimmed.
func runOneWarm(t *testing.T, argv []string, attr *syscall.SysProcAttr, req sandbox.Request) (helperNS, out string) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	must(t, err)
	ctl, theirs := os.NewFile(uintptr(fds[0]), "control"), os.NewFile(uintptr(fds[1]), "control-helper")
	defer ctl.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	attr.Setsid = true
	cmd.SysProcAttr, cmd.Env, cmd.Dir = attr, []string{}, "/"
	cmd.ExtraFiles = []*os.File{theirs}
	var buf bytes.Buffer // the helper's own complaints, before the request
	cmd.Stdout, cmd.Stderr = &buf, &buf
	must(t, cmd.Start())
	theirs.Close()
	// The shell that joins the stand-in cgroup execs the helper: wait
	// until it has, so the namespace read is the helper's.
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline"); bytes.Contains(b, []byte("--warm")) && !bytes.HasPrefix(b, []byte("/bin/sh")) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	helperNS, err = os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/mnt")
	must(t, err)
	outR, outW, err := os.Pipe()
	must(t, err)
	defer outR.Close()
	sendRequest(t, ctl, req, outW, outW)
	outW.Close()
	b, _ := io.ReadAll(outR) // the helper closes its copy before it reports
	ctl.Close()              // no next request: the helper exits
	cmd.Wait()
	return helperNS, strings.TrimSpace(buf.String() + string(b))
}

// sendRequest writes req on a helper's control socket as core/codeexec
// does, with stdout and stderr for the command.
func sendRequest(t *testing.T, ctl *os.File, req sandbox.Request, stdout, stderr *os.File) {
	t.Helper()
	body := req.Encode()
	hdr := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	must(t, syscall.Sendmsg(int(ctl.Fd()), hdr, syscall.UnixRights(int(stdout.Fd()), int(stderr.Fd())), nil, 0))
	_, err := ctl.Write(body)
	must(t, err)
}

// TestOwnsMountNamespace starts the test binary in a user namespace alone
// (its mount namespace is still its parent's: it must not mount there)
// and in a user and a mount namespace made together (it may).
func TestOwnsMountNamespace(t *testing.T) {
	run := func(flags uintptr) string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "ownsmnt")
		uid, gid := os.Getuid(), os.Getgid()
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}}
		if flags&syscall.CLONE_NEWNS != 0 {
			cmd.SysProcAttr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN}
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Skipf("cannot start a process in a user namespace here: %v %s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	expect(t, "user namespace alone (owns, may mount)", run(syscall.CLONE_NEWUSER), "false false")
	expect(t, "user and mount namespace (owns, may mount)", run(syscall.CLONE_NEWUSER|syscall.CLONE_NEWNS), "true true")
}
