package install

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gimme-tools/carapace/linux/sandbox"
)

// kernelChecks probes the three kernel features the sandbox rests on,
// and says how this kernel keeps commands from the owner's terminals and
// Unix sockets (both hold on every kernel the sandbox runs on; the detail
// says what a weaker kernel costs).
func kernelChecks() []Check {
	return []Check{landlockCheck(), seccompCheck(), openat2Check(), mountNamespaceCheck(), unixSocketsCheck(), terminalsCheck(), ipcCheck()}
}

func unixSocketsCheck() Check {
	_, detail := sandbox.UnixSockets()
	return Check{Name: "sandbox: pathname Unix sockets", OK: true, Detail: detail}
}

func terminalsCheck() Check {
	c := Check{Name: "sandbox: other sessions' terminals", OK: true}
	private, detail := sandbox.Terminals()
	c.Detail = detail
	if !private {
		c.Fix = "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or an AppArmor profile for carapace-sandbox on Ubuntu 24.04+) to give commands terminals of their own"
	}
	return c
}

func ipcCheck() Check {
	c := Check{Name: "sandbox: IPC objects between commands", OK: true}
	own, detail := sandbox.IPCNamespaces()
	c.Detail = detail
	if !own {
		c.Fix = "allow unprivileged user namespaces (as for terminals) so that each sandbox helper gets an IPC namespace of its own"
	}
	return c
}

func landlockCheck() Check {
	c := Check{Name: "kernel: Landlock"}
	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	switch {
	case errno == 0:
		c.OK, c.Detail = true, fmt.Sprintf("ABI %d", abi)
	case errno == unix.EOPNOTSUPP:
		c.Detail, c.Fix = "built in but off", "add landlock to the lsm= kernel parameter (e.g. lsm=landlock,lockdown,yama,integrity,apparmor) and reboot"
	case errno == unix.ENOSYS:
		c.Detail, c.Fix = "not in this kernel", "use a kernel >= 5.13 with CONFIG_SECURITY_LANDLOCK=y (Debian 12's has it)"
	default:
		c.Detail, c.Fix = errno.Error(), "a seccomp filter refuses Landlock here (a container?): allow landlock_create_ruleset, landlock_add_rule, landlock_restrict_self"
	}
	return c
}

func seccompCheck() Check {
	c := Check{Name: "kernel: seccomp filters"}
	b, err := os.ReadFile("/proc/self/status")
	if err == nil && strings.Contains(string(b), "\nSeccomp:") {
		c.OK, c.Detail = true, "available"
		return c
	}
	c.Detail, c.Fix = "no Seccomp in /proc/self/status", "use a kernel with CONFIG_SECCOMP_FILTER=y"
	return c
}

func openat2Check() Check {
	c := Check{Name: "kernel: openat2 RESOLVE_BENEATH"}
	dir, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, ".", &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH})
	if err == nil {
		unix.Close(fd)
		c.OK, c.Detail = true, "available"
		return c
	}
	if errors.Is(err, unix.ENOSYS) {
		c.Detail, c.Fix = "not in this kernel", "use a kernel >= 5.6"
		return c
	}
	c.Detail, c.Fix = err.Error(), "a seccomp filter refuses openat2 here; allow it"
	return c
}
