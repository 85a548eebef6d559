//go:build linux

package sandbox

import (
	"fmt"
	"runtime"
	"unsafe"

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

// The programs themselves are in seccomp_programs_linux_*.go, generated
// with elastic/go-seccomp-bpf from deniedSyscalls and the conditions in
// policy (seccomp_policy_linux_test.go), for amd64 and arm64; a test
// assembles them again and fails when they differ. Assembling them at run
// time cost every helper 0.35 ms of package initialisation (the library's
// syscall tables for every architecture) plus the assembly: ~8 % of the
// CPU time of 100 sandboxed commands at once here.

// filterOptions choose the variant of the filter.
type filterOptions struct {
	network bool // allow sockets of every family
	exec    bool // allow execve and execveat
	// mountNS allows what the helper's two-stage path needs to protect
	// .git, and the network and IPC namespaces of a warm helper: clone
	// with CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET and CLONE_NEWIPC,
	// and mount. The command's own filter refuses them again.
	mountNS bool
	// unix allows socket(AF_UNIX) and every socketpair. Services keep
	// it. A command keeps it only where Landlock scopes pathname-socket
	// connects to its own paths (ABI 9, LANDLOCK_ACCESS_FS_RESOLVE_UNIX);
	// below that it could connect to any socket its uid may open (a
	// session bus, ssh-agent, docker), so it may make no Unix socket but
	// a connected stream or seqpacket pair: a datagram pair could still
	// sendto(2) a named socket.
	unix bool
}

// commandFilter is the filter a command runs under.
func commandFilter(network bool) filterOptions {
	o := commandFilterFor(landlockABI())
	o.network = network
	return o
}

// commandFilterFor is a command's filter, network off, under Landlock abi.
func commandFilterFor(abi int) filterOptions {
	return filterOptions{exec: true, unix: abi >= landlockResolveUnixABI}
}

// filterIndex is o's index in filterPrograms.
func filterIndex(o filterOptions) int {
	i := 0
	for bit, on := range []bool{o.network, o.exec, o.mountNS, o.unix} {
		if on {
			i |= 1 << bit
		}
	}
	return i
}

// compileFilter returns the program for o as the kernel takes it.
func compileFilter(o filterOptions) ([]unix.SockFilter, error) {
	if p := filterPrograms[filterIndex(o)]; len(p) > 0 {
		return p, nil
	}
	return nil, fmt.Errorf("seccomp: no filter program for %s (generated for amd64 and arm64 only)", runtime.GOARCH)
}

// loadFilter installs the filter for o on every thread of the process
// (SECCOMP_FILTER_FLAG_TSYNC): a service confining itself, a second
// stage about to exec. The calling thread must have no_new_privs set;
// TSYNC gives it to the other threads too.
func loadFilter(o filterOptions) error { return installFilter(o, unix.SECCOMP_FILTER_FLAG_TSYNC) }

// loadThreadFilter installs the filter for o on the calling thread alone
// (which must have no_new_privs set): the thread a helper forks a
// command from in one stage. The helper's other threads go on
// supervising, and for its next command mount its read-only corners
// (reuse_linux.go), which the command's filter refuses.
func loadThreadFilter(o filterOptions) error { return installFilter(o, 0) }

func installFilter(o filterOptions, flags uintptr) error {
	filter, err := compileFilter(o)
	if err != nil {
		return err
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		flags, uintptr(unsafe.Pointer(&prog)))
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
