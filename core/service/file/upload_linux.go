package file

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pump splices the pipe r into dst until r's writer closes it, and returns
// the bytes moved. It stops with errUploadTooLarge past limit bytes, and
// with the deadline's error when no byte comes for idle. The bytes move
// from the pipe's pages into the file's without a copy through user
// space. With behind, write-back starts every writeBehind bytes while the
// rest comes (a file that will be flushed before it is named).
func pump(dst, r *os.File, limit int64, idle time.Duration, behind bool) (int64, error) {
	rc, err := r.SyscallConn()
	if err != nil {
		return 0, err
	}
	dfd := int(dst.Fd())
	var n, flushed int64
	for {
		r.SetReadDeadline(time.Now().Add(idle))
		var m int64
		var serr error
		err := rc.Read(func(fd uintptr) bool {
			m, serr = unix.Splice(int(fd), nil, dfd, nil, uploadPipe, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			return serr != unix.EAGAIN
		})
		switch {
		case err != nil:
			return n, err
		case serr == unix.EINTR:
			continue
		case serr != nil:
			return n, serr
		case m == 0:
			return n, nil
		}
		if n += m; n > limit {
			return n, errUploadTooLarge
		}
		// Start writing back what has come so far while the rest comes:
		// the commit's fsync then waits for the tail only.
		if behind && n-flushed >= writeBehind {
			unix.SyncFileRange(dfd, flushed, n-flushed, unix.SYNC_FILE_RANGE_WRITE)
			flushed = n
		}
	}
}

// writeBehind is how many bytes an upload lets gather before it starts
// their write-back.
const writeBehind = 8 << 20

// setPipeSize asks for a pipe buffer of size bytes (best effort: an
// unprivileged process gets at most /proc/sys/fs/pipe-max-size).
func setPipeSize(f *os.File, size int) {
	unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, size)
}
