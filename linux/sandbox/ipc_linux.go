//go:build linux

package sandbox

import (
	"strconv"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SysV IPC objects (shared memory segments, message queues, semaphore
// sets) and POSIX message queues belong to an IPC namespace, not to a
// path Landlock could rule, and outlive the process that made them. In
// the code service's IPC namespace a command could leave one for any
// later command of any agent, or (dev mode, where commands run as the
// owner, in the owner's namespace) attach the owner's own shared memory
// segments — an X client's images among them. So a warm helper is started
// in an IPC namespace of its own where the service may make one, and its
// objects go with it; a helper that serves more than one command is not
// reused after a command that left an object there (reuse_linux.go).

// ipcCloneflag is CLONE_NEWIPC when a helper can be started in an IPC
// namespace of its own here (its service's seccomp filter and a systemd
// unit's RestrictNamespaces= may refuse one), else 0: found out once, by
// starting /bin/true in one, as Terminals does for a mount namespace.
var ipcCloneflag = sync.OnceValue(func() uintptr {
	if err := startTrue(unix.CLONE_NEWIPC); err != nil {
		return 0
	}
	return unix.CLONE_NEWIPC
})

// ownIPCNamespace reports whether this process has an IPC namespace other
// than its parent's (ppid): compared where the parent's link can be read,
// else one owned by this process's own user namespace.
func ownIPCNamespace(ppid int) bool {
	self, err := nsID("/proc/self/ns/ipc")
	if err != nil {
		return false
	}
	parent, err := nsID("/proc/" + strconv.Itoa(ppid) + "/ns/ipc")
	switch {
	case err == nil:
		return parent != self
	default:
		return ownsNamespace("/proc/self/ns/ipc")
	}
}

// The *_INFO commands of shmctl, msgctl and semctl (linux/shm.h, msg.h,
// sem.h): each fills a structure whose count of objects in use is read
// below.
const (
	shmInfo = 14
	msgInfo = 12
	semInfo = 19
)

// noSysVObjects reports whether the calling process's IPC namespace holds
// no SysV shared memory segment, message queue or semaphore set. POSIX
// message queues are not counted (there is no call that lists them
// without mounting their filesystem); their memory is bounded by the
// user's RLIMIT_MSGQUEUE, and they go with the helper's namespace.
func noSysVObjects() bool {
	var buf [32]int64 // larger than shm_info, msginfo and seminfo
	p := uintptr(unsafe.Pointer(&buf[0]))
	// struct shm_info: int used_ids first.
	if _, _, e := unix.Syscall(unix.SYS_SHMCTL, 0, shmInfo, p); e != 0 || int32(buf[0]) != 0 {
		return false
	}
	// struct msginfo: int msgpool first, the number of queues in use.
	buf = [32]int64{}
	if _, _, e := unix.Syscall(unix.SYS_MSGCTL, 0, msgInfo, p); e != 0 || int32(buf[0]) != 0 {
		return false
	}
	// struct seminfo: ten ints, semusz (the sets in use) the eighth.
	buf = [32]int64{}
	if _, _, e := unix.Syscall6(unix.SYS_SEMCTL, 0, 0, semInfo, p, 0, 0); e != 0 {
		return false
	}
	ints := (*[10]int32)(unsafe.Pointer(&buf[0]))
	return ints[7] == 0
}

// IPCNamespaces reports whether a sandbox helper started by this process
// gets an IPC namespace of its own (for `carapace doctor`). The
// installed code unit lets its service make none (RestrictNamespaces=
// keeps the unit's exposure score at its target); it runs in an IPC
// namespace of its own instead (PrivateIPC=yes), shared by its commands
// alone.
func IPCNamespaces() (own bool, detail string) {
	if ipcCloneflag() != 0 {
		return true, "each sandbox helper has an IPC namespace of its own: a command's SysV IPC objects and POSIX message queues go with its helper"
	}
	return false, "no IPC namespace for sandbox helpers here: commands share their service's SysV IPC objects and POSIX message queues " +
		"(the installed code unit's are its own, PrivateIPC=yes)"
}
