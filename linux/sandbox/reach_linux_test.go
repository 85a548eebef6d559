//go:build linux

package sandbox

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gimme-tools/carapace/core/sandbox"
)

// foreign is what another session of the same user holds, outside the
// sandbox: a real terminal (a pty pair) that a process keeps open, and
// sockets like a session bus's and a log daemon's.
type foreign struct {
	pts    string // the other session's /dev/pts/N
	holder int    // a process with that terminal on its stdin
	master int    // this process's descriptor of the terminal's master
	bus    string // a stream socket that greets whoever connects
	log    string // a datagram socket
	seen   *atomic.Int32
}

// newForeign makes another session's terminal and sockets, and checks
// that an unconfined process of the same user reaches them, so that
// "denied" in the sandbox means something.
func newForeign(t *testing.T) *foreign {
	t.Helper()
	f := &foreign{seen: new(atomic.Int32)}
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("cannot make a terminal to attack: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	f.master = int(master.Fd())
	must(t, unix.IoctlSetPointerInt(f.master, unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(f.master, unix.TIOCGPTN)
	must(t, err)
	f.pts = "/dev/pts/" + strconv.Itoa(n)
	slave, err := os.OpenFile(f.pts, os.O_RDWR|syscall.O_NOCTTY, 0)
	must(t, err)
	defer slave.Close()
	holder := exec.Command("sleep", "4247.25")
	holder.Stdin = slave
	must(t, holder.Start())
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	f.holder = holder.Process.Pid

	dir, err := os.MkdirTemp("", "carapace-bus-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	f.bus, f.log = filepath.Join(dir, "bus"), filepath.Join(dir, "log")
	bus, err := net.Listen("unix", f.bus)
	must(t, err)
	t.Cleanup(func() { bus.Close() })
	go func() {
		for {
			c, err := bus.Accept()
			if err != nil {
				return
			}
			f.seen.Add(1)
			c.Write([]byte("hello\n"))
			c.Close()
		}
	}()
	log, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: f.log, Net: "unixgram"})
	must(t, err)
	t.Cleanup(func() { log.Close() })
	go func() {
		buf := make([]byte, 64)
		for {
			if _, _, err := log.ReadFrom(buf); err != nil {
				return
			}
			f.seen.Add(1)
		}
	}()

	for _, p := range [][]string{{"open", f.pts}, {"unixconnect", f.bus}, {"dgram", f.log}} {
		out, _ := exec.Command(os.Args[0], append([]string{"probe"}, p...)...).CombinedOutput()
		if got := strings.TrimSpace(string(out)); got != "ok" {
			t.Fatalf("unconfined, probe %v: %q, want ok", p, got)
		}
	}
	for f.seen.Load() < 2 { // the datagram may still be on its way
		syscall.Nanosleep(&syscall.Timespec{Nsec: 1e6}, nil)
	}
	f.seen.Store(0)
	return f
}

// expect runs the corpus through run: nothing of the other session may
// be reached — its terminal, by name or through a process holding it, the
// process's descriptors, memory, environment and directories, the
// machine's consoles, /dev/shm, a controlling terminal, its sockets —
// while the command's own /proc/self and a stream socketpair work.
func (f *foreign) expect(t *testing.T, run func(probe ...string) string) {
	t.Helper()
	type attempt struct {
		what  string
		probe []string
		ok    bool // the attempt must work; else it must be denied
	}
	proc := "/proc/" + strconv.Itoa(f.holder)
	attempts := []attempt{
		{"the other session's terminal", []string{"open", f.pts}, false},
		{"the terminal through its holder's descriptor", []string{"open", proc + "/fd/0"}, false},
		{"the terminal's master through the test's descriptor", []string{"open", fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), f.master)}, false},
		{"where the holder's descriptor leads", []string{"readlink", proc + "/fd/0"}, false},
		{"the holder's descriptor's position and flags", []string{"read", proc + "/fdinfo/0"}, false},
		{"the holder's environment", []string{"read", proc + "/environ"}, false},
		{"the holder's memory", []string{"open", proc + "/mem"}, false},
		{"the holder's memory map", []string{"read", proc + "/maps"}, false},
		{"the holder's working directory", []string{"ls", proc + "/cwd"}, false},
		{"the holder's root", []string{"ls", proc + "/root"}, false},
		{"the holder's mapped files", []string{"ls", proc + "/map_files"}, false},
		{"the holder's program", []string{"readlink", proc + "/exe"}, false},
		{"the holder's namespaces", []string{"readlink", proc + "/ns/mnt"}, false},
		{"/dev/shm", []string{"ls", "/dev/shm"}, false},
		{"a controlling terminal", []string{"open", "/dev/tty"}, false},
		{"a bus socket outside the project", []string{"unixconnect", f.bus}, false},
		{"a datagram socket outside the project, from a socketpair", []string{"dgram", f.log}, false},
		{"its own /proc/self", []string{"ls", "/proc/self/fd"}, true},
		{"a stream socketpair", []string{"socketpair"}, true},
	}
	for _, dev := range []string{"/dev/console", "/dev/tty0", "/dev/tty1", "/dev/ttyS0", "/dev/vcs", "/dev/input"} {
		attempts = append(attempts, attempt{dev, []string{"open", dev}, false})
	}
	args := []string{"each"}
	for _, a := range attempts {
		args = append(append(args, a.probe...), "/")
	}
	lines := strings.Split(run(args...), "\n")
	if len(lines) != len(attempts) {
		t.Fatalf("%d attempts, %d answers:\n%s", len(attempts), len(lines), strings.Join(lines, "\n"))
	}
	for i, a := range attempts {
		got := strings.TrimSpace(lines[i])
		if a.ok && got != "ok" || !a.ok && !strings.HasPrefix(got, "denied") {
			t.Errorf("%s (%v): %q, want %s", a.what, a.probe, got, map[bool]string{true: "ok", false: "denied"}[a.ok])
		}
	}
	if n := f.seen.Load(); n != 0 {
		t.Errorf("the sockets outside the project heard %d times from the sandbox", n)
	}
}

// TestEscapeTerminals runs the corpus through helpers started per call:
// with .git to protect (a second stage in its own mount namespace, where
// the command gets a private devpts and may make terminals) and without
// (no mount namespace of its own: no terminal at all).
func TestEscapeTerminals(t *testing.T) {
	b := newBox(t)
	f := newForeign(t)
	run := func(probe ...string) string {
		t.Helper()
		out, _ := b.command(append([]string{b.bin, "probe"}, probe...)...).CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	f.expect(t, run)
	expect(t, "a terminal of its own (.git: a mount namespace)", run("pty"), "ok")
	must(t, os.RemoveAll(filepath.Join(b.project, ".git")))
	f.expect(t, run)
	if got := run("pty"); got != "ok" && !strings.HasPrefix(got, "denied") {
		t.Errorf("a terminal of its own (no .git): %q", got)
	}
}

// TestNoControllingTerminal starts a helper that has a controlling
// terminal (as one started from a shell would): the command must not
// inherit it.
func TestNoControllingTerminal(t *testing.T) {
	b := newBox(t)
	f := newForeign(t)
	slave, err := os.OpenFile(f.pts, os.O_RDWR|syscall.O_NOCTTY, 0)
	must(t, err)
	defer slave.Close()
	for _, dotGit := range []bool{true, false} {
		if !dotGit {
			must(t, os.RemoveAll(filepath.Join(b.project, ".git")))
		}
		cmd := b.command(b.bin, "probe", "open", "/dev/tty")
		cmd.Stdin = slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		out, _ := cmd.CombinedOutput()
		expect(t, fmt.Sprintf("open /dev/tty (.git %v)", dotGit), strings.TrimSpace(string(out)), "denied ENXIO")
	}
}

// TestUnixSocketInProject: a command may listen on and connect to a Unix
// socket in its project only where Landlock scopes connects (ABI 9);
// below, it can make no Unix socket at all (seccomp).
func TestUnixSocketInProject(t *testing.T) {
	b := newBox(t)
	want := "denied EPERM"
	if landlockABI() >= landlockResolveUnixABI {
		want = "ok"
	}
	expect(t, "a Unix socket in the tmpdir", b.probe(t, "unix", filepath.Join(b.spec.TmpDir, "s.sock")), want)
	b.spec.Network = true
	expect(t, "a Unix socket in the tmpdir, network on", b.probe(t, "unix", filepath.Join(b.spec.TmpDir, "s.sock")), want)
}

// TestResolveUnixScoped checks, without a kernel that has it, what a
// command's ruleset asks of Landlock ABI 9: connecting to a pathname Unix
// socket is handled, and granted only under the project and the
// temporary directory (and the devices, where no socket can be), so the
// command's filter may then allow socket(AF_UNIX).
func TestResolveUnixScoped(t *testing.T) {
	const resolve = unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX
	spec := sandbox.ForProject("/p", "/t")
	rs := commandRuleset(spec, landlockResolveUnixABI)
	if rs.handledFS()&resolve == 0 {
		t.Fatal("ABI 9 ruleset does not handle RESOLVE_UNIX")
	}
	for _, r := range rs.rules {
		granted := r.access&resolve != 0
		want := r.path == "/p" || r.path == "/t" || slices.Contains(sandbox.DefaultDevices, r.path)
		if granted != want {
			t.Errorf("%s: RESOLVE_UNIX granted %v, want %v", r.path, granted, want)
		}
	}
	if !commandFilterFor(landlockResolveUnixABI).unix || commandFilterFor(landlockResolveUnixABI-1).unix {
		t.Error("the command's filter must allow Unix sockets exactly from ABI 9")
	}
}
