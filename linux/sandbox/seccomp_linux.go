//go:build linux

package sandbox

import (
	"fmt"
	"slices"
	"sync"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// deniedSyscalls are refused with EPERM in every Carapace sandbox, for
// commands and services alike. None is needed to build, test or run
// ordinary programs; each either reaches past the sandbox (tracing another
// process, mounting, namespaces, kernel modules, keyrings, BPF) or widens the
// kernel surface an exploit would use (io_uring, userfaultfd, perf).
var deniedSyscalls = []string{
	// tracing and reading or writing other processes
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	// mounts and the filesystem tree
	"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
	"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	"open_by_handle_at", "name_to_handle_at", "quotactl", "quotactl_fd",
	"fanotify_init",
	// namespaces (clone with namespace flags is below)
	"unshare", "setns",
	// kernel surfaces
	"bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
	"io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key",
	"lookup_dcookie", "syslog", "uselib",
	// the machine itself
	"init_module", "finit_module", "delete_module", "kexec_load",
	"kexec_file_load", "reboot", "swapon", "swapoff", "acct",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"sethostname", "setdomainname", "iopl", "ioperm", "vhangup",
	"nfsservctl", "_sysctl",
}

// cloneNamespaceFlags are clone(2)'s CLONE_NEW* bits; a clone asking for
// any of them is refused like unshare.
const cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// filterOptions choose the variant of the filter.
type filterOptions struct {
	network bool // allow sockets of every family
	exec    bool // allow execve and execveat
	// mountNS allows what the helper's two-stage path needs to protect
	// .git: clone with CLONE_NEWNS and CLONE_NEWUSER, and mount. The
	// command's own filter refuses both again.
	mountNS bool
}

// policy returns the seccomp policy for o on the running architecture.
// Names the architecture lacks (iopl on arm64, …) are left out.
func policy(o filterOptions) (*seccomp.Policy, *arch.Info, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return nil, nil, fmt.Errorf("seccomp: %w", err)
	}
	names := append([]string(nil), deniedSyscalls...)
	cloneRefused := uint64(cloneNamespaceFlags)
	if o.mountNS {
		names = slices.DeleteFunc(names, func(n string) bool { return n == "mount" })
		cloneRefused &^= unix.CLONE_NEWNS | unix.CLONE_NEWUSER
	}
	if !o.exec {
		names = append(names, "execve", "execveat")
	}
	var known []string
	for _, n := range names {
		if _, ok := info.SyscallNames[n]; ok {
			known = append(known, n)
		}
	}
	conds := []seccomp.NameWithConditions{
		{Name: "clone", Conditions: []seccomp.Condition{
			{Argument: 0, Operation: seccomp.BitsSet, Value: cloneRefused}}},
		// personality(2) may query (0xffffffff) or set the default
		// (PER_LINUX); anything else (ADDR_NO_RANDOMIZE, …) is refused.
		{Name: "personality", Conditions: []seccomp.Condition{
			{Argument: 0, Operation: seccomp.NotEqual, Value: 0},
			{Argument: 0, Operation: seccomp.NotEqual, Value: 0xffffffff}}},
	}
	if !o.network {
		conds = append(conds, seccomp.NameWithConditions{Name: "socket",
			Conditions: []seccomp.Condition{
				{Argument: 0, Operation: seccomp.NotEqual, Value: unix.AF_UNIX}}})
	}
	p := &seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Names: known, NamesWithCondtions: conds, Action: seccomp.ActionErrno},
			// clone3 passes its flags in a struct seccomp cannot read: say
			// it does not exist, and libc falls back to clone, checked above.
			{Names: []string{"clone3"}, Action: seccomp.ActionErrno | seccomp.Action(unix.ENOSYS)},
		},
	}
	return p, info, nil
}

// assemble returns the BPF program for o. It puts its own architecture
// check in front of go-seccomp-bpf's: that library lets a system call of a
// foreign architecture through (its arch mismatch jumps to the default
// action, here "allow"), and on x86-64 with IA32 emulation a process could
// make every refused call through int 0x80. Foreign-arch calls are killed.
func assemble(o filterOptions) ([]bpf.RawInstruction, error) {
	p, info, err := policy(o)
	if err != nil {
		return nil, err
	}
	body, err := p.Assemble()
	if err != nil {
		return nil, fmt.Errorf("seccomp: %w", err)
	}
	prog := append([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 4}, // seccomp_data.arch
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(info.ID), SkipTrue: 1},
		bpf.RetConstant{Val: unix.SECCOMP_RET_KILL_PROCESS},
	}, body...)
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("seccomp: %w", err)
	}
	return raw, nil
}

// filters caches the programs compileFilter made: a warm helper builds
// its command's filter before the request comes (warmUp), and the
// program depends only on filterOptions.
var filters struct {
	sync.Mutex
	m map[filterOptions][]unix.SockFilter
}

// compileFilter returns the program for o as the kernel takes it, built
// once per variant.
func compileFilter(o filterOptions) ([]unix.SockFilter, error) {
	filters.Lock()
	defer filters.Unlock()
	if f, ok := filters.m[o]; ok {
		return f, nil
	}
	raw, err := assemble(o)
	if err != nil {
		return nil, err
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	if filters.m == nil {
		filters.m = make(map[filterOptions][]unix.SockFilter)
	}
	filters.m[o] = filter
	return filter, nil
}

// loadFilter installs the filter for o on every thread of the process
// (SECCOMP_FILTER_FLAG_TSYNC). The calling thread must have no_new_privs
// set; TSYNC gives it to the other threads too.
func loadFilter(o filterOptions) error {
	filter, err := compileFilter(o)
	if err != nil {
		return err
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return fmt.Errorf("seccomp: load filter: %w", errno)
	}
	return nil
}

// seccompSupported reports whether the kernel has seccomp filters.
func seccompSupported() bool {
	// SECCOMP_GET_ACTION_AVAIL exists since 4.14, the oldest kernel
	// Carapace cares about; an unknown operation would be EINVAL.
	action := uint32(unix.SECCOMP_RET_ERRNO)
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&action)))
	return errno == 0
}
