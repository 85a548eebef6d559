package install

import (
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// mountNamespaceCheck probes what the code sandbox's read-only
// protection of executed files (.git hooks and config in every
// repository, shell, editor and agent files: core/autorun) rests on: a
// private mount namespace, made from an unprivileged user namespace as
// the code service is not root. Without it the sandbox refuses to run
// commands in a folder that holds such files rather than leave them
// writable.
func mountNamespaceCheck() Check {
	c := Check{Name: "kernel: user + mount namespaces (read-only .git and other executed files, masked deny_read secrets)"}
	cmd := exec.Command("/bin/true")
	uid, gid := os.Getuid(), os.Getgid()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
	}
	if err := cmd.Run(); err != nil {
		c.Detail = "unavailable (" + err.Error() + "): code commands in a folder holding a repository, another executed file or a deny_read match (.env, keys) are refused"
		c.Fix = "allow unprivileged user namespaces: sysctl user.max_user_namespaces=15000; kernel.unprivileged_userns_clone=1 (Debian); kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 24.04)"
		return c
	}
	c.OK, c.Detail = true, "available"
	return c
}
