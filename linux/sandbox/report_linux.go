//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"syscall"
)

// UnixSockets reports how this kernel keeps a command from the pathname
// Unix sockets outside its paths (a session bus, ssh-agent, docker):
// scoped is true when Landlock does it (ABI 9) and a command may still
// serve and use Unix sockets in its project; false when the seccomp
// filter does it by refusing every Unix socket.
func UnixSockets() (scoped bool, detail string) {
	abi := landlockABI()
	if abi >= landlockResolveUnixABI {
		return true, fmt.Sprintf("Landlock ABI %d scopes connects to the command's own paths", abi)
	}
	return false, fmt.Sprintf("Landlock ABI %d: pathname Unix sockets are closed by seccomp instead "+
		"(no socket(AF_UNIX), no datagram socketpair); Unix-socket servers inside a project will not work "+
		"(Landlock ABI %d lifts this)", abi, landlockResolveUnixABI)
}

// startTrue runs /bin/true in the namespaces a helper gets
// (namespaceAttr) and extra clone flags, and waits for it: whether a
// helper could be started so here.
func startTrue(extra uintptr) error {
	sys := &syscall.SysProcAttr{}
	namespaceAttr(sys)
	sys.AmbientCaps = nil // /bin/true needs none
	sys.Cloneflags |= extra
	prog := "/bin/true"
	if _, err := os.Stat(prog); err != nil {
		prog = "/usr/bin/true"
	}
	pid, err := syscall.ForkExec(prog, []string{"true"}, &syscall.ProcAttr{Sys: sys})
	if err == nil {
		var ws syscall.WaitStatus
		_, err = syscall.Wait4(pid, &ws, 0, nil)
	}
	return err
}

// Terminals reports whether a sandbox helper can have a mount namespace
// of its own here, and so mount a private devpts for its command's
// terminals; without one a command gets no terminal at all.
func Terminals() (private bool, detail string) {
	if err := startTrue(0); err != nil {
		return false, fmt.Sprintf("no private devpts: no mount namespace for the helper (%v; user namespaces off?): commands get no terminal", err)
	}
	return true, "each command's helper mounts a private devpts: a command sees only the terminals it makes"
}
