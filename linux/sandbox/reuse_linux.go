//go:build linux

package sandbox

import (
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// A warm helper serves commands one after another (issue 22: a Go
// process's start and exit were two thirds of a command's CPU time in a
// burst). The control socket on descriptor 3 carries, from the helper,
// readyByte once it waits for its first request and two bytes after each
// command — the exit code and status flags — and, from the service, each
// request with the command's stdio (readRequest). A helper takes another
// request only when nothing of the command it ran can be left for the
// next one (reusable), and at most maxUses in all; docs/sandbox.md
// ("Helpers that serve more than one command") is the review.

const (
	ctlFD     = 3   // the control socket
	readyByte = 'R' // the helper waits for its first request
	maxUses   = 64  // commands per helper: whatever leaks cannot grow for ever
)

// Status flags, the second byte after each command (core/codeexec reads
// them).
const (
	statusAgain         = 1 << 0 // the helper waits for another request
	statusNoConnections = 1 << 1 // the command had network and its forwarder passed no connection
	statusConnections   = 1 << 2 // … and passed some
)

// reusable reports whether the helper may take another command after
// inv's, whose every process is gone: the command had no network (its
// network namespace holds nothing then: no socket but AF_UNIX could be
// made, and every socket closed with its processes), started in one
// stage (forked from a confined thread that has exited since; no second
// stage, no per-command cgroup), left no process behind for the sweep to
// kill, sent the helper no signal, and changed nothing a process of the
// same user may change in another without tracing it: the helper's
// resource limits (prlimit) and each of its threads' scheduling (nice,
// policy, affinity, I/O priority). In an IPC namespace of its own the
// command must have left no SysV object there either: one would hold its
// memory past the command's limits for the next. Its parent must still
// be the service it checked at start.
func (s *supervisor) reusable(inv invocation) bool {
	if _, ok := inv.spec.ReuseKey(); !ok || inv.spec.Egress {
		return false
	}
	return s.oneStage && !s.swept && !s.signalled && s.fwd == nil &&
		os.Getppid() == s.ppid && s.limits == limitsOf() && threadGone(s.confined) &&
		s.before.sameInEveryThread() && (!s.ownIPC || noSysVObjects())
}

// threadGone waits, briefly, for the thread the command was forked from
// to have exited: it holds the command's Landlock domain, seccomp
// filter and no_new_privs, and no goroutine of the helper may run on it
// again (the Go runtime ends a thread whose locked goroutine returns; its
// goroutine returns once run has). False when it is still there after
// ~10 ms.
func threadGone(tid int) bool {
	for i := 0; i < 100; i++ {
		if unix.Tgkill(os.Getpid(), tid, 0) == unix.ESRCH {
			return true
		}
		time.Sleep(100 * time.Microsecond)
	}
	return false
}

// reset readies the helper for its next command: a fresh devpts over
// the one the last command could have made terminals in (or changed the
// modes of), and the per-command records cleared. An error means the
// helper must not be used again.
func (s *supervisor) reset() error {
	if s.terminals {
		if err := mountPrivateTerminals(); err != nil {
			return err
		}
	}
	s.oneStage, s.swept, s.signalled = false, false, false
	s.fwd, s.passed = nil, -1
	return nil
}

// rlimits are every resource limit of the process (RLIMIT_CPU …
// RLIMIT_RTTIME): prlimit(2) lets a process of the same user change any
// of them in another, and a command inherits them all from its helper,
// not only those setLimits sets.
type rlimits [rlimitCount]unix.Rlimit

const rlimitCount = 16 // RLIM_NLIMITS

func limitsOf() rlimits {
	var l rlimits
	for r := range l {
		unix.Getrlimit(r, &l[r]) // on error the zero value: unequal to what was set
	}
	return l
}

// scheduling is what a process of the same user may change in one of
// the helper's threads without tracing it (setpriority, sched_setattr,
// sched_setaffinity, ioprio_set), and what a thread the helper starts
// its next command from would hand on to it.
type scheduling struct {
	attr     unix.SchedAttr
	affinity unix.CPUSet
	ioprio   uintptr
	ok       bool
}

func schedulingOfThread(tid int) scheduling {
	var sc scheduling
	attr, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return sc
	}
	sc.attr = *attr
	if unix.SchedGetaffinity(tid, &sc.affinity) != nil {
		return sc
	}
	const ioprioWhoProcess = 1
	prio, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0)
	if errno != 0 {
		return sc
	}
	sc.ioprio, sc.ok = prio, true
	return sc
}

// schedulingOf returns the calling process's main thread's scheduling:
// at start every thread's.
func schedulingOf() scheduling { return schedulingOfThread(os.Getpid()) }

// sameInEveryThread reports whether every thread of the helper still has
// sc.
func (sc scheduling) sameInEveryThread() bool {
	if !sc.ok {
		return false
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return false
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			return false
		}
		got := schedulingOfThread(tid)
		if !got.ok && unix.Kill(tid, 0) == unix.ESRCH {
			continue // the command's thread, exiting
		}
		if got != sc {
			return false
		}
	}
	return true
}
