//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock access rights, grouped the way Carapace grants them.
const (
	llRead  = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	llExec  = unix.LANDLOCK_ACCESS_FS_EXECUTE
	llWrite = unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_FILE | unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
		unix.LANDLOCK_ACCESS_FS_MAKE_REG | unix.LANDLOCK_ACCESS_FS_MAKE_SOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_SYM |
		unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE |
		unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX
	// llDev is what a device node such as /dev/null needs on top of
	// read and write.
	llDev = unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	// llFileOnly are the rights that make sense on a non-directory.
	llFileOnly = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE |
		unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
)

// fsRightsByABI is the filesystem rights each Landlock ABI version knows
// (index = version), as in the kernel's Documentation/userspace-api/landlock.rst.
var fsRightsByABI = []uint64{
	0,
	1<<13 - 1, // 1: 5.13, the first thirteen rights
	1<<14 - 1, // 2: + REFER
	1<<15 - 1, // 3: + TRUNCATE
	1<<15 - 1, // 4: network rights only
	1<<16 - 1, // 5: + IOCTL_DEV
	1<<16 - 1, // 6: scopes only
	1<<16 - 1, // 7: logging flags only
	1<<16 - 1, // 8: TSYNC flag only
	1<<17 - 1, // 9: + RESOLVE_UNIX
}

// landlockResolveUnixABI is the first ABI that can scope connecting to
// a pathname Unix socket (LANDLOCK_ACCESS_FS_RESOLVE_UNIX).
const landlockResolveUnixABI = 9

// landlockABI returns the kernel's Landlock ABI version, or 0 when Landlock
// is missing or disabled. The kernel is asked once.
var landlockABI = sync.OnceValue(queryLandlockABI)

func queryLandlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// rulesetAttr is struct landlock_ruleset_attr up to ABI 9 (x/sys's type
// has later fields; old kernels accept those only when zero, so the exact
// size is passed).
type rulesetAttr struct {
	fs, net, scoped uint64
}

// rule grants access beneath path (or on it, for a non-directory).
type rule struct {
	path   string
	access uint64
}

// ruleset is a Landlock policy before it is applied.
type ruleset struct {
	abi     int
	noNet   bool // handle TCP bind and connect with no rule allowing any port
	rules   []rule
	skipped []string // paths that did not exist
}

// handledFS returns the filesystem rights this kernel can restrict.
func (r *ruleset) handledFS() uint64 {
	abi := min(r.abi, len(fsRightsByABI)-1)
	return fsRightsByABI[abi]
}

// restrictThread applies r to the calling OS thread, best effort: rights
// the kernel does not know are left unhandled. The caller must have locked
// the goroutine to its thread and set no_new_privs. Threads other than the
// caller stay unrestricted; callers execve next.
func (r *ruleset) restrictThread() error {
	fd, attr, err := r.create()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, ru := range r.rules {
		if err := addPathRule(fd, ru.path, ru.access&attr.fs); err != nil {
			if errors.Is(err, unix.ENOENT) {
				r.skipped = append(r.skipped, ru.path)
				continue
			}
			return err
		}
	}
	return restrictSelf(fd)
}

// create makes an empty ruleset handling what r restricts.
func (r *ruleset) create() (int, rulesetAttr, error) {
	if r.abi < 1 {
		return -1, rulesetAttr{}, errors.New("landlock is not available in this kernel (needs Linux 5.13+ with landlock in the lsm= list)")
	}
	attr := rulesetAttr{fs: r.handledFS()}
	if r.noNet && r.abi >= 4 {
		attr.net = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
	}
	if r.abi >= 6 {
		// Signals and abstract Unix sockets reach only processes inside
		// the sandbox: a command cannot kill the code service that shares
		// its uid, nor talk to a desktop bus on an abstract socket.
		attr.scoped = unix.LANDLOCK_SCOPE_SIGNAL | unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
	}
	size := unsafe.Sizeof(attr)
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return -1, attr, fmt.Errorf("landlock_create_ruleset: %w", errno)
	}
	return int(fd), attr, nil
}

// restrictSelf puts the calling thread under the ruleset fd.
func restrictSelf(fd int) error {
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(fd), 0, 0); errno != 0 {
		return fmt.Errorf("landlock_restrict_self: %w", errno)
	}
	return nil
}

// addPathRule adds a path-beneath rule for path, trimming access to what a
// non-directory accepts when path is a file.
func addPathRule(rulesetFD int, path string, access uint64) error {
	id, err := addPathRuleID(rulesetFD, path, access)
	if err == nil && id.absent {
		return fmt.Errorf("landlock rule %s: %w", path, unix.ENOENT)
	}
	return err
}

// addPathRuleID is addPathRule that also returns what path named: a
// missing path is no error, but reported as absent.
func addPathRuleID(rulesetFD int, path string, access uint64) (pathID, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return pathID{absent: true}, nil
	}
	if err != nil {
		return pathID{}, fmt.Errorf("landlock rule %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return pathID{}, fmt.Errorf("landlock rule %s: %w", path, err)
	}
	id := pathID{dev: st.Dev, ino: st.Ino}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		access &= llFileOnly
	}
	if access == 0 {
		return id, nil
	}
	attr := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rulesetFD),
		unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&attr)), 0, 0, 0)
	if errno != 0 {
		return id, fmt.Errorf("landlock rule %s: %w", path, errno)
	}
	return id, nil
}

// exists reports whether path can be looked up.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
