package autorun

import (
	"encoding/binary"
	"errors"

	"golang.org/x/sys/unix"
)

func init() { newWatcher = newInotify }

// inotify is the Linux watcher: one non-blocking inotify descriptor.
type inotify struct {
	fd  int
	buf []byte
}

// watchMask is every change that can alter a walk's answer: entries
// made, removed or renamed, contents written (a .git file's gitdir:, a
// git config's hooksPath), attributes (a directory made unreadable, a
// link count), and the directory itself going away.
const watchMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_MODIFY | unix.IN_CLOSE_WRITE | unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF |
	unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW | unix.IN_EXCL_UNLINK

func newInotify() (watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &inotify{fd: fd, buf: make([]byte, 64<<10)}, nil
}

func (n *inotify) add(dir string) (int32, error) {
	wd, err := unix.InotifyAddWatch(n.fd, dir, watchMask)
	if errors.Is(err, unix.ENOSPC) {
		return 0, errWatchLimit
	}
	return int32(wd), err
}

func (n *inotify) remove(wd int32) { unix.InotifyRmWatch(n.fd, uint32(wd)) }

// gitParts are the names in a git directory whose change alters a walk's
// answer (gitDirFiles, and where submodules and linked work trees live);
// the rest (index, objects, refs, logs) changes with every git command.
var gitParts = map[string]bool{"hooks": true, "config": true, "config.worktree": true, "commondir": true, "modules": true, "worktrees": true}

func (n *inotify) drain(gitWDs map[int32]bool) (changed []int32, all bool) {
	for {
		k, err := unix.Read(n.fd, n.buf)
		if err != nil || k <= 0 {
			return changed, all // EAGAIN: nothing more queued
		}
		for b := n.buf[:k]; len(b) >= unix.SizeofInotifyEvent; {
			wd := int32(binary.NativeEndian.Uint32(b[0:4]))
			mask := binary.NativeEndian.Uint32(b[4:8])
			l := int(binary.NativeEndian.Uint32(b[12:16]))
			name := b[unix.SizeofInotifyEvent:min(len(b), unix.SizeofInotifyEvent+l)]
			b = b[min(len(b), unix.SizeofInotifyEvent+l):]
			if mask&unix.IN_Q_OVERFLOW != 0 {
				all = true
				continue
			}
			if gitWDs[wd] && mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) == 0 && !gitParts[cString(name)] {
				continue
			}
			changed = append(changed, wd)
		}
	}
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
