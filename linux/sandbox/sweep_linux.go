//go:build linux

package sandbox

import (
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// sweep kills every process left under the helper and reaps it. As a
// child subreaper the helper inherits every orphan of the tree, whatever
// session or process group it moved to, so "every descendant" is: the
// helper's children, and then theirs once they are orphaned, until none
// is left. Only this goroutine reaps, so a listed child's pid cannot be
// recycled before it is killed. It reports whether it found any process
// left.
func sweep(cg *cgroup) (found bool) {
	for ; ; found = true {
		if !reapDead() {
			return found // no children (left)
		}
		kids := children()
		for _, pid := range kids {
			unix.Kill(pid, unix.SIGKILL)
		}
		cg.killAll()
		if len(kids) == 0 {
			// A child exists but is not listed yet (it is being
			// reparented to us): look again shortly.
			time.Sleep(time.Millisecond)
			continue
		}
		var ws unix.WaitStatus
		unix.Wait4(-1, &ws, 0, nil)
	}
}

// reapDead reaps every child that has already exited and reports whether
// any child remains.
func reapDead() bool {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil: // ECHILD
			return false
		case pid == 0:
			return true
		}
	}
}

// children lists this process's children from /proc/self/task/*/children
// (every thread's, since an orphan is handed to one of the subreaper's
// threads).
func children() []int {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil
	}
	var pids []int
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
