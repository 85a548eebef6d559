package codeexec

import "golang.org/x/sys/unix"

// exited reports whether the process pid (a child) has already ended,
// without reaping it: waitid with WNOWAIT leaves it for exec.Cmd.Wait.
func exited(pid int) bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err == nil && info.Signo != 0 // Signo is SIGCHLD once it has ended, 0 while it runs
}
