package main

import (
	"fmt"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// startConfined starts cmd under no_new_privs, which the router reads from
// /proc as a confined peer's mark (core/peer) and so never takes the agent,
// or anything it starts, for the owner. no_new_privs is per thread and
// inherited at fork: it is set on one locked thread, which forks the
// agent and then ends with its goroutine (never unlocked), so no other
// goroutine of ours runs under it.
func startConfined(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			errc <- fmt.Errorf("set no_new_privs: %w", err)
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}
