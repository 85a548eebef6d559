package supervisor

import "syscall"

// childAttr makes a child die with the supervisor (PR_SET_PDEATHSIG), so a
// crashed or killed dev stack leaves no orphaned service behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
