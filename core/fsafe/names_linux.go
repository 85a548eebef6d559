package fsafe

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"
)

// direntBufs holds getdents buffers: a listing reads its directory once.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// readNames reads the names in the directory fd with getdents64, from its
// current offset, without "." and "..". The names share one string: a
// listing of a hundred names allocates three times, not a hundred.
func readNames(fd int, _ string) ([]string, error) {
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	var all []byte // the names, end to end
	var ends []int // where each ends in all
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			break
		}
		all, ends = parseDirents(buf[:n], all, ends)
	}
	s := string(all)
	names := make([]string, len(ends))
	start := 0
	for i, end := range ends {
		names[i], start = s[start:end], end
	}
	return names, nil
}

// parseDirents appends the names of the linux_dirent64 records in b to
// all, and where each ends to ends. A record is d_ino (8 bytes), d_off
// (8), d_reclen (2), d_type (1), then the name, NUL-terminated.
func parseDirents(b, all []byte, ends []int) ([]byte, []int) {
	const nameOff = 19
	for len(b) >= nameOff {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < nameOff || reclen > len(b) {
			break
		}
		name := b[nameOff:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		b = b[reclen:]
		if string(name) == "." || string(name) == ".." || len(name) == 0 {
			continue
		}
		all = append(all, name...)
		ends = append(ends, len(all))
	}
	return all, ends
}

// syncFD flushes fd's file to stable storage.
func syncFD(fd int) error { return unix.Fsync(fd) }
