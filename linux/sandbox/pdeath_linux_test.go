//go:build linux

package sandbox

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// offLeaderEnv makes the test binary, as a helper or second stage, run
// ExecMain on a thread other than its first (offLeader), as the Go
// runtime may: a goroutine locked to a thread is on the first one only
// if it happened to run there.
const offLeaderEnv = "CARAPACE_TEST_EXEC_OFF_LEADER"

// offLeader runs f on a goroutine locked to a thread other than the
// process's first and returns its result.
func offLeader(f func() int) int {
	for {
		res := make(chan int)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			if syscall.Gettid() == syscall.Getpid() {
				res <- -1
				return
			}
			res <- f()
		}()
		if r := <-res; r >= 0 {
			return r
		}
	}
}

// TestKilledHelperTakesItsCommand SIGKILLs a helper, which can sweep
// nothing then, while its command runs: the command's parent-death
// signal must still kill it. On the two-stage path (here: .git to
// protect and no mount namespace of its own) the second stage, a Go
// program, execs the command from the thread its goroutine is locked to,
// and the parent-death signal the helper set was its first thread's: a
// new thread starts without one, and one that execs takes the process
// over with its own. The stages run their code off the first thread, as
// the runtime may run it.
func TestKilledHelperTakesItsCommand(t *testing.T) {
	b := newBox(t)
	marker := "4246." + strconv.Itoa(os.Getpid()) // sleep's seconds, this run's own
	for i := 0; i < 3; i++ {
		cmd := b.command("/bin/sh", "-c", "echo started; exec sleep "+marker)
		cmd.Env = append(cmd.Env, offLeaderEnv+"=1")
		stdout, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "started\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("command said %q", line)
		}
		for countProcs("sleep\x00"+marker) == 0 { // sh said started before its exec
			syscall.Nanosleep(&syscall.Timespec{Nsec: 1e6}, nil)
		}
		must(t, cmd.Process.Kill())
		cmd.Wait()
		// As root the killed helper leaves its per-command pids cgroup
		// (newCgroup) behind: empty once the command is gone.
		defer removeCgroupOf(cmd.Process.Pid)
		if !gone("sleep\x00"+marker, 10*time.Second) {
			killAll("sleep\x00" + marker)
			t.Fatalf("round %d: the command outlived its SIGKILLed helper by 10 s", i)
		}
	}
}

// removeCgroupOf removes the per-command pids cgroup a helper with pid
// made, if any (it was made beside the test's own cgroup).
func removeCgroupOf(pid int) {
	for _, base := range pidsCgroupDirs() {
		os.Remove(filepath.Join(base, "carapace-sandbox-"+strconv.Itoa(pid)))
	}
}

// killAll SIGKILLs the processes whose command line holds marker.
func killAll(marker string) {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if b, _ := os.ReadFile("/proc/" + d.Name() + "/cmdline"); bytes.Contains(b, []byte(marker)) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// gone waits up to budget for every process whose command line holds
// marker to be gone.
func gone(marker string, budget time.Duration) bool {
	for deadline := time.Now().Add(budget); countProcs(marker) > 0; {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
