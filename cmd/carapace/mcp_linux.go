package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// notOwner makes this process a non-owner in the router's eyes before it
// dials: no_new_privs, which the router reads from /proc as a sandboxed
// peer's mark (core/peer) and so refuses it token.issue, approvals.* and
// config.*, whatever its uid. no_new_privs is per thread, so it is set on
// one locked thread that then re-executes the binary: every thread of the
// new image has it. A second call finds it set and returns.
func notOwner() error {
	st, err := os.ReadFile("/proc/self/status")
	if err == nil && bytes.Contains(st, []byte("\nNoNewPrivs:\t1\n")) {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	runtime.LockOSThread() // never unlocked: on success this thread execs
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	return fmt.Errorf("re-execute %s: %w", exe, unix.Exec(exe, os.Args, os.Environ()))
}
