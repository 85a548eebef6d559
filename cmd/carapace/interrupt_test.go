package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExecInterruptStopsCommand: Ctrl-C on `carapace exec` exits 130 and
// the remote command is stopped (not left to the service's own timeout);
// the client's --timeout exits 124 and stops it too.
func TestExecInterruptStopsCommand(t *testing.T) {
	d := startDev(t, "", nil)
	demo := filepath.Join(d.home, "Projects", "demo")
	for _, tc := range []struct {
		name  string
		flags []string
		code  int
	}{
		{"ctrl-c", nil, exitInterrupted},
		{"timeout", []string{"--timeout", "3s"}, exitTimedOut},
	} {
		pidFile := filepath.Join(demo, tc.name+".pid")
		args := append([]string{"exec", "--cwd", demo}, tc.flags...)
		args = append(args, "--", "sh", "-c", "echo $$ > "+pidFile+"; exec sleep 600")
		cmd := exec.Command(binPath, args...)
		cmd.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket, "PATH=/usr/bin:/bin"}
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var pid int
		waitUntil(t, tc.name+": the command to start", func() bool {
			b, _ := os.ReadFile(pidFile)
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			return pid > 0
		})
		if tc.code == exitInterrupted {
			cmd.Process.Signal(syscall.SIGINT)
		}
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, code, tc.code, errOut.String())
		}
		stopped := time.Now()
		waitUntil(t, tc.name+": the remote command to stop", func() bool {
			return syscall.Kill(pid, 0) != nil || zombieProc(pid)
		})
		t.Logf("%s: the command was gone %v after the CLI exited", tc.name, time.Since(stopped))
	}
}

func zombieProc(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}

// TestKilledClientStopsCommand: a client killed outright (no cancel sent)
// leaves no command running: the router cancels the calls of a
// connection that ends.
func TestKilledClientStopsCommand(t *testing.T) {
	d := startDev(t, "", nil)
	demo := filepath.Join(d.home, "Projects", "demo")
	pidFile := filepath.Join(demo, "killed.pid")
	cmd := exec.Command(binPath, "exec", "--cwd", demo, "--timeout-ms", "600000", "--", "sh", "-c", "echo $$ > "+pidFile+"; exec sleep 600")
	cmd.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket, "PATH=/usr/bin:/bin"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	waitUntil(t, "the command to start", func() bool {
		b, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return pid > 0
	})
	cmd.Process.Kill()
	cmd.Wait()
	waitUntil(t, "the remote command to stop after its client was killed", func() bool {
		return syscall.Kill(pid, 0) != nil || zombieProc(pid)
	})
}
