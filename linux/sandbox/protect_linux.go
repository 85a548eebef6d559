//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Landlock only ever adds rights down a directory tree, so a read-only
// corner inside a read-write project (.git/hooks, .git/config) cannot be
// expressed with it. Those corners are bind-mounted read-only onto
// themselves in a private mount namespace instead (a user namespace too
// when not root), before the seccomp filter forbids mount and umount:
// writes fail with EROFS, and renaming or deleting a mount point fails
// with EBUSY, so the command cannot swap the directory out either.

// existingPaths returns the paths in ps that exist.
func existingPaths(ps []string) []string {
	var out []string
	for _, p := range ps {
		if exists(p) {
			out = append(out, p)
		}
	}
	return out
}

// protect makes each path in ps read-only and masks each in masked, in
// the current mount namespace, which must be private to this process (the
// supervisor made it with CLONE_NEWNS). Mount events are first stopped
// from propagating back out.
func protect(ps, masked []string) error {
	if len(ps) == 0 && len(masked) == 0 {
		return nil
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := bindReadOnly(ps); err != nil {
		return err
	}
	return mask(masked)
}

// mask covers each path in ps so that the command reads nothing there: a
// file with /dev/null bound read-only over it, a directory with an empty
// read-only tmpfs. A mount point cannot be renamed, unlinked or hard-
// linked (EBUSY, EXDEV), so the name cannot be moved out from under its
// mask; a symbolic link to it leads to the mask. A path that became a
// symbolic link since the walk is skipped: mount would follow it
// (core/autorun.Found.Masked lists a link's target itself).
func mask(ps []string) error {
	for _, p := range ps {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			continue // gone since the walk
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			continue
		case unix.S_IFDIR:
			if err := unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0555,size=4k"); err != nil {
				return fmt.Errorf("mask %s: %w", p, err)
			}
		default:
			if err := unix.Mount("/dev/null", p, "", unix.MS_BIND, ""); err != nil {
				return fmt.Errorf("mask %s: %w", p, err)
			}
			var sf unix.Statfs_t
			if err := unix.Statfs(p, &sf); err != nil {
				return fmt.Errorf("statfs %s: %w", p, err)
			}
			if err := unix.Mount("", p, "", uintptr(unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY)|lockedFlags(sf.Flags), ""); err != nil {
				return fmt.Errorf("make the mask of %s read-only: %w", p, err)
			}
		}
	}
	return nil
}

// bindReadOnly bind-mounts each path in ps read-only onto itself, in a
// mount namespace whose mounts no longer propagate back out.
func bindReadOnly(ps []string) error {
	for _, p := range ps {
		if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", p, err)
		}
		// A remount must keep the flags the mount is locked with
		// (nosuid, nodev, noexec, atime) or a user namespace refuses it.
		var st unix.Statfs_t
		if err := unix.Statfs(p, &st); err != nil {
			return fmt.Errorf("statfs %s: %w", p, err)
		}
		flags := uintptr(unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY) | lockedFlags(st.Flags)
		if err := unix.Mount("", p, "", flags, ""); err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	return nil
}

// lockedFlags maps statfs's ST_* flags to the MS_* flags a bind remount
// must repeat.
func lockedFlags(st int64) uintptr {
	var f uintptr
	for _, m := range []struct {
		st int64
		ms uintptr
	}{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC}, {unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if st&m.st != 0 {
			f |= m.ms
		}
	}
	return f
}

// namespaceAttr returns the clone flags and id maps that give the helper's
// second stage a private mount namespace: root needs only CLONE_NEWNS; an
// ordinary user also gets a user namespace mapping its own uid and gid to
// themselves (so files keep their owners) and no setgroups, and keeps
// CAP_SYS_ADMIN in that namespace across the exec as an ambient capability
// so the second stage can mount; it clears it again before the command.
func namespaceAttr(sys *syscall.SysProcAttr) {
	if os.Geteuid() == 0 {
		sys.Cloneflags = unix.CLONE_NEWNS
		return
	}
	uid, gid := os.Getuid(), os.Getgid()
	sys.Cloneflags = unix.CLONE_NEWNS | unix.CLONE_NEWUSER
	sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
	sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
	sys.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN}
}
