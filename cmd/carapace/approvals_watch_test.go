//go:build linux

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns a pseudo-terminal's master and its slave.
func openPTY(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	master := os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close(); slave.Close() })
	return master, slave
}

// screen collects what the program draws on the terminal.
type screen struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }

// waitFor waits until the screen has shown want since the last mark.
func (s *screen) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		got := s.b.String()
		s.mu.Unlock()
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q; it shows:\n%q", want, got[max(0, len(got)-2000):])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWatchTerminal drives `carapace approvals --watch` through a
// pseudo-terminal: two requests are listed, ↓ chooses the second, "a"
// remembers it always, "d" denies the first, q quits and the terminal is
// left as it was.
func TestWatchTerminal(t *testing.T) {
	d := startDev(t, "services:\n  shell: {enabled: true, approval_timeout: 2m}\n", nil)
	demo := filepath.Join(d.home, "Projects", "demo")
	first := d.shellRequest("echo first", demo)
	d.waitPending(t, "echo first")
	second := d.shellRequest("echo second", demo)
	d.waitPending(t, "echo second")

	master, slave := openPTY(t)
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "approvals", "--watch")
	cmd.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket, "TERM=xterm"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var scr screen
	go func() { _, _ = copyScreen(&scr, master) }()
	scr.waitFor(t, "echo second")
	scr.waitFor(t, "o allow once · t for this agent's token · m for 10 minutes · a always · d deny")
	master.Write([]byte("\x1b[B")) // ↓: the second request
	scr.waitFor(t, "> ")
	time.Sleep(100 * time.Millisecond) // the key above is read before the next
	master.Write([]byte("a"))
	scr.waitFor(t, `: always — remembered: g`)
	scr.waitFor(t, `"echo second"… in `+demo+` and below, for shell-agent, until revoked`)
	if r := <-second; r.code != 0 || !strings.Contains(r.out, "second") {
		t.Fatalf("second: %+v", r)
	}
	master.Write([]byte("d"))
	if r := <-first; r.code == 0 || !strings.Contains(r.err, "(denied)") {
		t.Fatalf("first: %+v", r)
	}
	master.Write([]byte("q"))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch exited: %v", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("q did not quit")
	}
	after, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("terminal left in raw mode: %+v, was %+v", after, before)
	}
	l := d.grants(t)
	if len(l.Grants) != 1 || l.Grants[0].Channel != "terminal" || strings.Join(l.Grants[0].Prefix, " ") != "echo second" {
		t.Fatalf("grants %+v", l.Grants)
	}
}

func copyScreen(w *screen, r *os.File) (int64, error) {
	buf := make([]byte, 4096)
	var n int64
	for {
		k, err := r.Read(buf)
		if k > 0 {
			w.Write(buf[:k])
			n += int64(k)
		}
		if err != nil {
			return n, err
		}
	}
}
