package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// syscallCount counts the system calls a set of processes makes while a
// case runs: every call, with perf's raw_syscalls:sys_enter tracepoint
// when perf is installed (`make deps` installs linux-perf), else the
// read- and write-type calls /proc/PID/io counts (syscr, syscw: recvmsg
// and recvmmsg are not among them, so the fallback undercounts).
type syscallCount struct {
	perf *exec.Cmd
	out  bytes.Buffer
	pids []int
	io   int64 // the fallback's starting count
}

// perfWorks reports whether perf can count system calls here (it needs
// the tracepoint and perf_event_paranoid ≤ 1 or root).
var perfWorks = func() bool {
	if _, err := exec.LookPath("perf"); err != nil {
		return false
	}
	out, err := exec.Command("perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true").CombinedOutput()
	return err == nil && bytes.Contains(out, []byte("raw_syscalls:sys_enter"))
}()

func countSyscalls(pids []int) *syscallCount {
	s := &syscallCount{pids: pids}
	if perfWorks {
		ps := make([]string, len(pids))
		for i, p := range pids {
			ps[i] = strconv.Itoa(p)
		}
		s.perf = exec.Command("perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-p", strings.Join(ps, ","))
		s.perf.Stderr = &s.out
		if s.perf.Start() == nil {
			return s
		}
		s.perf = nil
	}
	s.io = procStats(pids).sys
	return s
}

// stop returns the count since countSyscalls.
func (s *syscallCount) stop() int64 {
	if s.perf == nil {
		return procStats(s.pids).sys - s.io
	}
	s.perf.Process.Signal(syscall.SIGINT)
	s.perf.Wait()
	for _, l := range strings.Split(s.out.String(), "\n") {
		if f := strings.Split(l, ","); len(f) > 2 && strings.HasPrefix(f[2], "raw_syscalls:sys_enter") {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			return n
		}
	}
	return 0
}

// syscallsHow says which count the tables show.
func syscallsHow() string {
	if perfWorks {
		return "every system call (perf, raw_syscalls:sys_enter)"
	}
	return "read- and write-type system calls only (/proc/PID/io; install perf for all)"
}

// perfRecord samples the call stacks of pids (perf record -g, 999 Hz)
// into dir/<case>.data, named by the case's letters ("(g2) …": g2.data),
// until the returned function runs; that function writes the pids and
// the calls made meanwhile into dir/<case>.calls, for -parts. Without
// perf it does nothing.
func perfRecord(dir, name string, pids []int) func(calls int) {
	key := strings.Trim(strings.Fields(name)[0], "()")
	ps := make([]string, len(pids))
	for i, p := range pids {
		ps[i] = strconv.Itoa(p)
	}
	cmd := exec.Command("perf", "record", "-q", "-F", strconv.Itoa(perfHz), "-g", "-o", filepath.Join(dir, key+".data"), "-p", strings.Join(ps, ","))
	if cmd.Start() != nil {
		return func(int) {}
	}
	return func(calls int) {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		os.WriteFile(filepath.Join(dir, key+".calls"), []byte(fmt.Sprintf("%d %s\n", calls, strings.Join(ps, " "))), 0o644)
	}
}

// perfHz is perfRecord's sampling rate: a sample stands for 1/perfHz
// seconds of CPU.
const perfHz = 999
