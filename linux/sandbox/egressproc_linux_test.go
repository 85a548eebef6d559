//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
	sess, err := r.Open(egress.SessionConfig{Allow: []string{"example.org"}}, helper, nil, nil)
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

// TestEgressUnitProcess: the proxy as systemd runs it
// (carapace-egress.socket passes a listening socket, LISTEN_PID and
// LISTEN_FDS; `--peer-user`): it confines itself (re-executing on
// Landlock ABI < 8, which must keep the listener and the peer's uid),
// serves the Runner that connects to the socket, and refuses a peer of
// another uid.
func TestEgressUnitProcess(t *testing.T) {
	b := newBox(t)
	start := func(peerUID int) (string, int) {
		path := filepath.Join(t.TempDir(), "egress.sock")
		ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
		must(t, err)
		f, err := ln.File()
		must(t, err)
		ln.SetUnlinkOnClose(false)
		ln.Close() // the socket file stays: the process listens on the copy
		cmd := exec.Command("/bin/sh", "-c", `export LISTEN_PID=$$ LISTEN_FDS=1; exec "$0" egress-proxy --peer-user "$1"`, b.bin, strconv.Itoa(peerUID))
		cmd.ExtraFiles = []*os.File{f}
		cmd.Stderr = os.Stderr
		must(t, cmd.Start())
		f.Close()
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return path, cmd.Process.Pid
	}
	path, pid := start(os.Getuid())
	r := &egress.Runner{Socket: path} // no Argv: nothing to start
	defer r.Close()
	helper, other, err := pair()
	must(t, err)
	sess, err := r.Open(egress.SessionConfig{Allow: []string{"example.org"}}, helper, nil, nil)
	must(t, err)
	other.Close()
	done := make(chan struct{})
	go func() { sess.Wait(30 * time.Second); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the session did not end when the helper went")
	}
	if r.Pid() != 0 {
		t.Errorf("the Runner started a process (%d) though the socket exists", r.Pid())
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	must(t, err)
	for _, want := range []string{"NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("proxy process status lacks %q:\n%s", want, status)
		}
	}

	path, _ = start(os.Getuid() + 1)
	wrong := &egress.Runner{Socket: path}
	defer wrong.Close()
	helper, other, err = pair()
	must(t, err)
	defer other.Close()
	if _, err := wrong.Open(egress.SessionConfig{Allow: []string{"example.org"}}, helper, nil, nil); err == nil || !strings.Contains(err.Error(), "is not the code service's") {
		t.Errorf("a peer of another uid: %v, want refused", err)
	}
}

func pair() (*os.File, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b"), nil
}

// TestEgressAskHolds: in ask mode the proxy process holds a connection to
// an unlisted host until the code service answers (the owner, through
// the approval queue); a refusal is a 403 naming it, an approval lets the
// connection through (to an address the owner's rules name).
func TestEgressAskHolds(t *testing.T) {
	b := newBox(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) }))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	r := &egress.Runner{Argv: []string{b.bin, egress.ProcessWord}}
	defer r.Close()
	helper, forwarder, err := pair()
	must(t, err)
	defer forwarder.Close()
	type question struct {
		t      egress.Target
		answer chan bool
	}
	questions := make(chan question)
	ask := func(tg egress.Target) (bool, string) {
		q := question{tg, make(chan bool)}
		questions <- q
		if <-q.answer {
			return true, "allowed by the owner (test)"
		}
		return false, "refused by the owner (test)"
	}
	cfg := egress.SessionConfig{Allow: []string{host + ":" + port}, Ask: true, Hosts: host + " unlisted.example\n"}
	sess, err := r.Open(cfg, helper, nil, ask)
	must(t, err)
	get := func(allow bool) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		defer ln.Close()
		client, err := net.Dial("tcp", ln.Addr().String())
		must(t, err)
		defer client.Close()
		server, err := ln.Accept()
		must(t, err)
		f, err := server.(*net.TCPConn).File()
		must(t, err)
		server.Close()
		must(t, unix.Sendmsg(int(forwarder.Fd()), []byte{0}, unix.UnixRights(int(f.Fd())), nil, 0))
		f.Close()
		fmt.Fprintf(client, "GET http://unlisted.example:%s/ HTTP/1.1\r\nHost: unlisted.example:%s\r\n\r\n", port, port)
		var q question
		select {
		case q = <-questions:
		case <-time.After(time.Minute):
			t.Fatal("the proxy did not ask")
		}
		if q.t.String() != "unlisted.example:"+port {
			t.Errorf("asked about %s", q.t)
		}
		// Held: nothing comes back before the answer.
		client.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _ := client.Read(make([]byte, 1)); n != 0 {
			t.Error("the proxy answered before the owner did")
		}
		client.SetReadDeadline(time.Time{})
		q.answer <- allow
		out, _ := io.ReadAll(client)
		return string(out)
	}
	if out := get(false); !strings.Contains(out, "403 Forbidden") || !strings.Contains(out, "refused by the owner (test)") {
		t.Errorf("refused: %q", out)
	}
	if out := get(true); !strings.HasSuffix(out, "hello") {
		t.Errorf("allowed: %q", out)
	}
	forwarder.Close()
	sess.Wait(30 * time.Second)
}
