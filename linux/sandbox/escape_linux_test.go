//go:build linux

package sandbox

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/sandbox"
)

// box is one sandboxed project with a fake home around it.
type box struct {
	bin     string // a copy of the test binary anyone may run
	project string
	home    string // holds .ssh/id_rsa, outside the project
	outside string
	spec    sandbox.Spec
}

func requireSandbox(t testing.TB) {
	t.Helper()
	if abi, ok := available(); !ok {
		t.Skipf("kernel lacks the sandbox's features (Landlock ABI %d, seccomp %v)", abi, seccompSupported())
	}
}

func newBox(t testing.TB) *box {
	t.Helper()
	requireSandbox(t)
	base, err := os.MkdirTemp("", "carapace-sbx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	b := &box{
		bin:     filepath.Join(base, "bin", "carapace-test"),
		home:    filepath.Join(base, "home"),
		project: filepath.Join(base, "home", "proj"),
		outside: filepath.Join(base, "outside"),
	}
	tmp := filepath.Join(base, "tmp")
	for _, d := range []string{filepath.Dir(b.bin), filepath.Join(b.project, ".git", "hooks"),
		filepath.Join(b.home, ".ssh"), b.outside, tmp} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(b.home, ".ssh", "id_rsa"), []byte("FAKE PRIVATE KEY"), 0o600))
	must(t, os.WriteFile(filepath.Join(b.project, ".git", "config"), []byte("[core]\n"), 0o644))
	must(t, copyFile(os.Args[0], b.bin))
	b.spec = sandbox.ForProject(b.project, tmp)
	b.spec.ReadExec = append(b.spec.ReadExec, filepath.Dir(b.bin))
	// As an ordinary user RLIMIT_NPROC counts every task of the uid,
	// the race-built test binary's threads included: room for them, and
	// TestForkBombIsBounded sets its own small limit.
	b.spec.Limits.Procs = 128
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// command returns the helper running argv under b.spec, started the way
// the code runner starts it: its own session, a cleaned environment, plus
// variables that must not get through.
func (b *box) command(argv ...string) *exec.Cmd {
	wrapped, err := wrap(b.spec, argv)
	if err != nil {
		panic(err)
	}
	cmd := exec.Command(b.bin, wrapped[1:]...)
	cmd.Dir = b.project
	cmd.Env = append(b.spec.Env(os.Environ(), nil), "SSH_AUTH_SOCK=/run/agent.sock", "GIMME_X=leak", "GITHUB_TOKEN=ghp_leak")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

// probe runs a probe in the sandbox and returns its output, trimmed.
func (b *box) probe(t *testing.T, args ...string) string {
	t.Helper()
	out, err := b.command(append([]string{b.bin, "probe"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("probe %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func expect(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

func TestEscapeFilesystem(t *testing.T) {
	b := newBox(t)
	p := b.project
	expect(t, "write in the project", b.probe(t, "write", filepath.Join(p, "ok.txt")), "ok")
	expect(t, "write in the tmpdir", b.probe(t, "write", filepath.Join(b.spec.TmpDir, "ok")), "ok")
	expect(t, "write outside", b.probe(t, "write", filepath.Join(b.outside, "x")), "denied EACCES")
	expect(t, "write to the home", b.probe(t, "write", filepath.Join(b.home, ".bashrc")), "denied EACCES")
	expect(t, "write /etc", b.probe(t, "write", "/etc/carapace-escape"), "denied EACCES")
	expect(t, "read ~/.ssh/id_rsa", b.probe(t, "read", filepath.Join(b.home, ".ssh", "id_rsa")), "denied EACCES")
	expect(t, "read /etc/shadow", b.probe(t, "read", "/etc/shadow"), "denied EACCES")
	expect(t, "write .git/hooks/x", b.probe(t, "write", filepath.Join(p, ".git", "hooks", "x")), "denied EROFS")
	expect(t, "write .git/config", b.probe(t, "write", filepath.Join(p, ".git", "config")), "denied EROFS")
	expect(t, "move .git/hooks away", b.probe(t, "rename", filepath.Join(p, ".git", "hooks"), filepath.Join(p, "h")), "denied EBUSY")
	expect(t, "delete .git/config", b.probe(t, "remove", filepath.Join(p, ".git", "config")), "denied EBUSY")
	expect(t, "read .git/config", b.probe(t, "read", filepath.Join(p, ".git", "config")), "ok")
	for _, f := range []string{filepath.Join(b.outside, "x"), "/etc/carapace-escape", filepath.Join(p, ".git", "hooks", "x")} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s exists after the corpus ran", f)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(p, ".git", "config")); string(got) != "[core]\n" {
		t.Errorf(".git/config changed to %q", got)
	}
}

// listener is a loopback TCP listener that counts the connections it saw.
func listener(t *testing.T) (addr string, seen *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { l.Close() })
	seen = new(atomic.Int32)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			seen.Add(1)
			c.Close()
		}
	}()
	return l.Addr().String(), seen
}

func TestEscapeNetwork(t *testing.T) {
	b := newBox(t)
	addr, seen := listener(t)
	expect(t, "tcp to a loopback listener", b.probe(t, "tcp", addr), "denied EPERM")
	expect(t, "socket(AF_INET)", b.probe(t, "socket-inet"), "denied EPERM")
	expect(t, "socket(AF_INET6, UDP)", b.probe(t, "socket-inet6-udp"), "denied EPERM")
	expect(t, "a stream socketpair", b.probe(t, "socketpair"), "ok")
	if n := seen.Load(); n != 0 {
		t.Fatalf("the listener saw %d connections from the sandbox", n)
	}
	// The same probe with the network allowed must get through, or the
	// check above proves nothing.
	b.spec.Network = true
	expect(t, "tcp with network on", b.probe(t, "tcp", addr), "ok")
	// The connection is made; the listener's Accept may not have run yet.
	for i := 0; i < 200 && seen.Load() == 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if seen.Load() != 1 {
		t.Fatalf("with the network on the listener saw %d connections, want 1", seen.Load())
	}
}

func TestEscapeProcesses(t *testing.T) {
	b := newBox(t)
	self := strconv.Itoa(os.Getpid())
	expect(t, "ptrace the test process", b.probe(t, "ptrace", self), "denied EPERM")
	expect(t, "signal the test process", b.probe(t, "kill", self), "denied EPERM")
	expect(t, "unshare a user namespace", b.probe(t, "unshare"), "denied EPERM")
	status := b.probe(t, "status")
	for _, want := range []string{"NoNewPrivs: 1", "Seccomp: 2", "CapEff: 0000000000000000"} {
		if !strings.Contains(status, want) {
			t.Errorf("/proc/self/status lacks %q:\n%s", want, status)
		}
	}
	env := b.probe(t, "env")
	for _, leak := range []string{"SSH_AUTH_SOCK", "GIMME_X", "GITHUB_TOKEN", "CARAPACE_"} {
		if strings.Contains(env, leak) {
			t.Errorf("environment leaks %s:\n%s", leak, env)
		}
	}
	if !strings.Contains(env, "HOME="+b.spec.TmpDir) {
		t.Errorf("HOME is not the sandbox's home:\n%s", env)
	}
}

// countProcs counts processes whose command line contains marker.
func countProcs(marker string) int {
	n := 0
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if bytes.Contains(b, []byte(marker)) {
			n++
		}
	}
	return n
}

// procsOf counts the processes (zombies included: they still count
// against RLIMIT_NPROC) whose real uid is uid.
func procsOf(uid int) int {
	n := 0
	dirs, _ := os.ReadDir("/proc")
	want := "Uid:\t" + strconv.Itoa(uid) + "\t"
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + d.Name() + "/status")
		if bytes.Contains(b, []byte(want)) {
			n++
		}
	}
	return n
}

// waitReaped waits, at most five seconds, until this ordinary user has no
// more processes than before: a fork bomb's, until reaped, count against
// the uid's RLIMIT_NPROC, and the probes after it need the room.
func waitReaped(before int) {
	if os.Getuid() == 0 {
		return // root's limit is the pids cgroup; and its count holds every other root process
	}
	for end := time.Now().Add(5 * time.Second); procsOf(os.Getuid()) > before && time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
	}
}

func TestForkBombIsBounded(t *testing.T) {
	b := newBox(t)
	b.spec.Limits.Procs = 32
	defer waitReaped(procsOf(os.Getuid()))
	out := b.probe(t, "spawn", "500", bombSleep)
	var started int
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(line, "started "); ok {
			started, _ = strconv.Atoi(s)
		}
	}
	if started == 0 || started >= 500 {
		t.Fatalf("fork bomb started %d processes with a limit of %d:\n%s", started, b.spec.Limits.Procs, out)
	}
	t.Logf("bounded at %d children (limit %d, uid %d)", started, b.spec.Limits.Procs, os.Getuid())
	if n := countProcs("sleep\x00" + bombSleep + "\x00"); n != 0 {
		t.Fatalf("%d of the bomb's children outlived the helper", n)
	}
}

func TestBackgroundChildIsKilledOnTerm(t *testing.T) {
	b := newBox(t)
	marker := "4243.25"
	cmd := b.command("/bin/sh", "-c", "setsid sleep "+marker+" </dev/null >/dev/null 2>&1 & echo started; exec sleep 4244.25")
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "started\n" {
		t.Fatalf("command said %q", line)
	}
	for countProcs(marker) == 0 { // the shell forked it before echoing; wait for its exec
		syscall.Nanosleep(&syscall.Timespec{Nsec: 1e6}, nil)
	}
	must(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 128+15 {
		t.Errorf("helper exit code %d (%v), want 143", code, err)
	}
	if n := countProcs(marker); n != 0 {
		t.Fatalf("the background child that left the process group survived (%d left)", n)
	}
}

func TestBackgroundChildIsKilledOnExit(t *testing.T) {
	b := newBox(t)
	marker := "4245.25"
	out, err := b.command("/bin/sh", "-c", "setsid sleep "+marker+" </dev/null >/dev/null 2>&1 & sleep 0.01; exit 3").CombinedOutput()
	if code := exitCode(err); code != 3 {
		t.Errorf("exit code %d, want the command's 3 (%s)", code, out)
	}
	if n := countProcs(marker); n != 0 {
		t.Fatalf("%d background children outlived the command", n)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestOutputFlood(t *testing.T) {
	b := newBox(t)
	cmd := b.command("/bin/sh", "-c", "exec cat /dev/zero")
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	n, _ := io.CopyN(io.Discard, stdout, 8<<20)
	stdout.Close() // the reader gives up, as the runner does at its cap
	err = cmd.Wait()
	if n != 8<<20 || exitCode(err) != 128+int(syscall.SIGPIPE) {
		t.Fatalf("read %d bytes, helper exit %d, want 8 MiB and SIGPIPE's 141", n, exitCode(err))
	}
	b.spec.Limits.FileSize = 1 << 20
	expect(t, "a 2 MiB file with a 1 MiB cap", b.probe(t, "bigfile", filepath.Join(b.project, "big")), "denied EFBIG")
}

func TestExitCodes(t *testing.T) {
	b := newBox(t)
	for _, c := range []struct {
		argv []string
		want int
	}{
		{[]string{"/bin/sh", "-c", "exit 7"}, 7},
		{[]string{"no-such-command-carapace"}, exitNotFound},
		{[]string{"/bin/sh", "-c", "kill -9 $$"}, 128 + 9},
	} {
		err := b.command(c.argv...).Run()
		if got := exitCode(err); got != c.want {
			t.Errorf("%v: exit %d, want %d", c.argv, got, c.want)
		}
	}
	if got := ExecMain([]string{"--", "true"}); got != exitUsage {
		t.Errorf("no --spec: %d, want %d", got, exitUsage)
	}
}
