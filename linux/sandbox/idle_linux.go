//go:build linux

package sandbox

import (
	"os"

	"golang.org/x/sys/unix"
)

// A helper spends most of its life waiting: for its request, then for
// its command. It waits with its goroutine parked — on the runtime's
// poller for the request, on SIGCHLD for the command — not blocked in
// read(2) or wait4(2). A goroutine blocked in a system call holds the
// processor (GOMAXPROCS is 1 in a warm helper) until the runtime's
// monitor takes it back, which then starts another thread for the
// goroutines left to run (the signal loop): one thread fewer per helper
// this way (7.3 instead of 8.3 tasks per `true`, 40 helpers, perf stat
// -e task:task_newtask), each a clone, stacks to fault in and an exit.

// pollable makes descriptor fd non-blocking and returns it as a file the
// runtime's poller waits on (os.NewFile registers a non-blocking
// descriptor with it); one the poller cannot take (a regular file) is
// read with blocking calls as before.
func pollable(fd int, name string) *os.File {
	unix.SetNonblock(fd, true) // on error os.NewFile sees a blocking descriptor: plain reads
	return os.NewFile(uintptr(fd), name)
}

// waitExit reaps children until pid exits, and returns its status, as
// waitFor does, but sleeps on SIGCHLD (s.chld, caught before the command
// started) between rounds of non-blocking waits. Orphans that reparent to
// the helper and exit meanwhile are reaped as they go, so a long command
// that leaves many never holds their slots under its task limit.
func (s *supervisor) waitExit(pid int) unix.WaitStatus {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR:
		case got == pid || err != nil: // err: no child left (ECHILD), as waitFor
			return ws
		case got == 0:
			<-s.chld // a SIGCHLD since the last round is buffered: none is missed
		}
	}
}
