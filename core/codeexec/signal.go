package codeexec

import (
	"strings"
	"syscall"
)

// signalName returns "SIGKILL" for syscall.SIGKILL.
func signalName(s syscall.Signal) string {
	for _, n := range []struct {
		s    syscall.Signal
		name string
	}{
		{syscall.SIGHUP, "SIGHUP"}, {syscall.SIGINT, "SIGINT"}, {syscall.SIGQUIT, "SIGQUIT"},
		{syscall.SIGILL, "SIGILL"}, {syscall.SIGABRT, "SIGABRT"}, {syscall.SIGBUS, "SIGBUS"},
		{syscall.SIGFPE, "SIGFPE"}, {syscall.SIGKILL, "SIGKILL"}, {syscall.SIGSEGV, "SIGSEGV"},
		{syscall.SIGPIPE, "SIGPIPE"}, {syscall.SIGALRM, "SIGALRM"}, {syscall.SIGTERM, "SIGTERM"},
		{syscall.SIGXCPU, "SIGXCPU"}, {syscall.SIGXFSZ, "SIGXFSZ"}, {syscall.SIGSYS, "SIGSYS"},
	} {
		if n.s == s {
			return n.name
		}
	}
	return "SIG" + strings.ToUpper(s.String())
}
