//go:build linux

// Command landlockprobe shows that Landlock works where it runs: it
// restricts itself to reading /usr, then tries to read argv[1] (outside)
// and /usr/lib/os-release (inside). The end-to-end test runs it as a
// command of the installed code service, under that unit's seccomp
// filter and NoNewPrivileges, with no namespaces. It uses the raw system
// calls so that it needs nothing but golang.org/x/sys.
package main

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: landlockprobe FILE-OUTSIDE-USR")
		os.Exit(2)
	}
	if err := restrictToUsr(); err != nil {
		fmt.Printf("landlock: cannot restrict: %v\n", err)
		os.Exit(1)
	}
	_, outside := os.ReadFile(os.Args[1])
	_, inside := os.ReadFile("/usr/lib/os-release")
	fmt.Printf("landlock: outside %s: %v; inside /usr: %v\n", os.Args[1], errText(outside), errText(inside))
	if outside == nil || inside != nil {
		os.Exit(1)
	}
}

// restrictToUsr allows reading files only beneath /usr (Landlock ABI 1).
func restrictToUsr() error {
	runtime.LockOSThread() // restrict_self applies to this thread; we read from it
	const read = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	attr := unix.LandlockRulesetAttr{Handled_access_fs: read}
	rs, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), 8, 0) // 8: the ABI 1 prefix, handled_access_fs
	if e != 0 {
		return fmt.Errorf("landlock_create_ruleset: %w", e)
	}
	usr, err := unix.Open("/usr", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	rule := unix.LandlockPathBeneathAttr{Allowed_access: read, Parent_fd: int32(usr)}
	if _, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, rs, unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&rule)), 0, 0, 0); e != 0 {
		return fmt.Errorf("landlock_add_rule: %w", e)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	if _, _, e := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, rs, 0, 0); e != 0 {
		return fmt.Errorf("landlock_restrict_self: %w", e)
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return "readable"
	}
	return err.Error()
}
