//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/gimme-tools/carapace/core/sandbox"
	"golang.org/x/sys/unix"
)

// setLimits applies l (already WithDefaults) to the calling process; -1
// means unlimited. Soft and hard limits are set alike so the command
// cannot raise them again.
func setLimits(l sandbox.Limits) error {
	procs := l.Procs
	if procs > 0 && os.Geteuid() != 0 { // root is not bound by RLIMIT_NPROC
		// RLIMIT_NPROC counts every process of the real uid, so the
		// command gets Procs more than the user already runs. It does
		// not bind root at all (the cgroup does, when there is one).
		procs += int64(processesOf(os.Getuid()))
	}
	for _, r := range []struct {
		name     string
		resource int
		value    int64
	}{
		{"processes", unix.RLIMIT_NPROC, procs},
		{"open files", unix.RLIMIT_NOFILE, l.OpenFiles},
		{"file size", unix.RLIMIT_FSIZE, l.FileSize},
		{"cpu seconds", unix.RLIMIT_CPU, l.CPUSeconds},
		{"address space", unix.RLIMIT_AS, l.AddressSpace},
		{"core size", unix.RLIMIT_CORE, 0},
	} {
		v := uint64(unix.RLIM_INFINITY)
		if r.value >= 0 {
			v = uint64(r.value)
		}
		var cur unix.Rlimit
		if err := unix.Getrlimit(r.resource, &cur); err == nil && cur.Max < v {
			v = cur.Max // never raise a limit the caller set lower
		}
		if err := unix.Setrlimit(r.resource, &unix.Rlimit{Cur: v, Max: v}); err != nil {
			return fmt.Errorf("set %s limit to %d: %w", r.name, r.value, err)
		}
	}
	return nil
}

// processesOf counts the processes whose /proc entry belongs to uid: the
// number RLIMIT_NPROC already charges to that user (near enough; /proc
// shows the effective uid).
func processesOf(uid int) int {
	d, err := os.Open("/proc")
	if err != nil {
		return 0
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	n := 0
	for _, name := range names {
		if _, err := strconv.Atoi(name); err != nil {
			continue
		}
		fi, err := os.Stat("/proc/" + name)
		if err != nil {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid {
			n++
		}
	}
	return n
}

// dropCapabilities empties the calling thread's capability sets (ambient,
// inheritable, permitted, effective) and, where it holds CAP_SETPCAP
// (root), the bounding set, so that whatever it execs, even as uid 0,
// starts with no capabilities.
func dropCapabilities() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	if data[0].Effective&(1<<unix.CAP_SETPCAP) != 0 {
		last := lastCap() // read once, not once per capability
		for c := 0; c <= last; c++ {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
				return fmt.Errorf("drop capability %d: %w", c, err)
			}
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	// The thread keeps nothing either: a helper in a user namespace of
	// its own holds CAP_SYS_ADMIN there, and under no_new_privs a program
	// with file capabilities would keep what its parent had.
	data = [2]unix.CapUserData{}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// lastCap is the highest capability number this kernel knows, read once.
var lastCap = sync.OnceValue(readLastCap)

func readLastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(string(trimNL(b))); err == nil {
			return n
		}
	}
	return unix.CAP_LAST_CAP
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
