//go:build linux

package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/egress"
	"golang.org/x/sys/unix"
)

// egressConfinementProbe confines itself exactly as the proxy process
// does (egress.Confine) and reports what it can still do: open a file
// for reading or writing, execute a program, make a Unix socket, make a
// TCP socket (the one thing it needs).
func egressConfinementProbe(args []string) int {
	if err := egress.Confine(); err != nil {
		say("confine failed: %v", err)
		return 1
	}
	verdict := func(what string, err error) {
		if err == nil {
			say("%s allowed", what)
			return
		}
		var errno unix.Errno
		if errors.As(err, &errno) {
			say("%s denied %s", what, unix.ErrnoName(errno))
			return
		}
		say("%s denied %v", what, err)
	}
	_, err := os.Open("/etc/hosts")
	verdict("open /etc/hosts", err)
	_, err = os.Open("/proc/self/status")
	verdict("open /proc/self/status", err)
	_, err = unix.Openat2(unix.AT_FDCWD, "/etc/passwd", &unix.OpenHow{Flags: unix.O_RDONLY})
	verdict("openat2 /etc/passwd", err)
	_, err = os.Create(filepath.Join(args[0], "written"))
	verdict("create a file", err)
	verdict("exec", unix.Exec(args[1], []string{args[1]}, nil))
	_, err = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	verdict("socket AF_UNIX", err)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	verdict("socket AF_INET", err)
	unix.Close(fd)
	return 0
}

// TestEgressProcessConfined: the proxy's process can open no file,
// execute nothing and make no Unix socket; it keeps the network. The
// probe confines itself with the proxy process's own function; the real
// process, started by the Runner as the code service starts it, runs
// under a seccomp filter with no_new_privs.
func TestEgressProcessConfined(t *testing.T) {
	b := newBox(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	out, err := exec.Command(b.bin, "egress-probe", dir, "/bin/true").CombinedOutput()
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		"open /etc/hosts denied EACCES",
		"open /proc/self/status denied EACCES",
		"openat2 /etc/passwd denied EACCES",
		"create a file denied EACCES",
		"exec denied EPERM",
		"socket AF_UNIX denied EPERM",
		"socket AF_INET allowed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in:\n%s", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "written")); err == nil {
		t.Error("the confined proxy wrote a file")
	}

	r := &egress.Runner{Argv: []string{b.bin, egress.ProcessWord}}
	defer r.Close()
	helper, other, err := pair()
	must(t, err)
	defer other.Close()
	sess, err := r.Open(egress.SessionConfig{Allow: []string{"example.org"}}, helper, nil)
	must(t, err)
	// The session ends when the helper goes; the proxy process had
	// confined itself before it read the session.
	other.Close() // the helper is gone: the session ends
	done := make(chan struct{})
	go func() { sess.Wait(30 * time.Second); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the session did not end when the helper went")
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(r.Pid()) + "/status")
	must(t, err)
	for _, want := range []string{"NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("proxy process status lacks %q:\n%s", want, status)
		}
	}
}

func pair() (*os.File, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b"), nil
}
