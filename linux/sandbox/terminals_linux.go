//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"os/signal"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/gimme-tools/carapace/core/sandbox"
)

// A command may reach only the terminals it makes itself. The machine's
// /dev/pts holds every session's terminal, and a command running as the
// owner (dev mode) could open the owner's shell's /dev/pts/N, read what
// is typed into it and write to the screen. So a helper with a mount
// namespace of its own mounts a new devpts instance on /dev/pts there:
// the command sees only the terminals created in that instance, and
// /dev/ptmx (the kernel looks up "pts" next to it, Linux 4.7+) makes new
// ones in it. Landlock then grants /dev/pts by the new instance's inode.
// A helper without a mount namespace of its own grants neither /dev/pts
// nor /dev/ptmx: commands there get no terminal at all.
//
// /dev/tty is the caller's controlling terminal: the helper gives its
// own up before anything else (dropControllingTerminal), so a command
// has none unless it makes a terminal in its own instance.

// devptsOptions make the instance private (newinstance, the default since
// Linux 4.7 but said for older kernels) and let the command open its
// ptmx; pty slaves get the usual mode.
const devptsOptions = "newinstance,ptmxmode=0666,mode=0620"

// mountPrivateTerminals mounts a new devpts instance on /dev/pts, in a
// mount namespace that must be this process's own with propagation
// back out cut (ownMountNamespace).
func mountPrivateTerminals() error {
	if err := unix.Mount("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, devptsOptions); err != nil {
		return fmt.Errorf("mount a private devpts on /dev/pts: %w", err)
	}
	return nil
}

// withTerminals returns spec without sandbox.TerminalDevices unless
// private is set (a private devpts instance is mounted on /dev/pts).
func withTerminals(spec sandbox.Spec, private bool) sandbox.Spec {
	if private {
		return spec
	}
	spec.ReadWrite = slices.DeleteFunc(slices.Clone(spec.ReadWrite), func(p string) bool {
		return slices.Contains(sandbox.TerminalDevices, p)
	})
	return spec
}

// dropControllingTerminal gives up the helper's controlling terminal,
// if it has one, so that no command it starts inherits it: a helper
// started from a shell rather than by the code service (which starts
// each in a session of its own) would otherwise hand the command the
// terminal it was started from. The hangup a session leader's
// TIOCNOTTY sends its foreground group is ignored; the supervisor
// catches SIGHUP again afterwards.
func dropControllingTerminal() error {
	fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil // ENXIO: none
	}
	signal.Ignore(unix.SIGHUP)
	unix.IoctlSetInt(fd, unix.TIOCNOTTY, 0)
	unix.Close(fd)
	if fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0); err == nil {
		unix.Close(fd)
		return errors.New("give up the controlling terminal: /dev/tty still opens")
	}
	return nil
}
