package jsonrpc

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

const edgeReads = true

// readTwice reads into p with one recvmmsg(2) of two messages: the first
// into p but its last byte, the second — tried by the kernel at once,
// without blocking — into that last byte. It returns how many bytes p now
// holds and what the second try found: nothing (EAGAIN: the socket is
// empty), a byte (more may follow), or the end of the stream.
func readTwice(fd int, p []byte) (int, int, error) {
	if len(p) < 2 {
		n, err := unix.Read(fd, p)
		return max(n, 0), more, err
	}
	var iov [2]unix.Iovec
	var msgs [2]unix.Mmsghdr
	iov[0].Base, iov[1].Base = &p[0], &p[len(p)-1]
	iov[0].SetLen(len(p) - 1)
	iov[1].SetLen(1)
	for i := range msgs {
		msgs[i].Hdr.Iov = &iov[i]
		msgs[i].Hdr.Iovlen = 1
	}
	r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), 2, unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, empty, errno
	}
	raceAcquire(fd)
	n := int(msgs[0].Len)
	switch {
	case r < 2:
		return n, empty, nil // the second try found nothing
	case msgs[1].Len == 0:
		return n, shutdown, nil
	}
	// One byte more: move it next to the first message's bytes (p's last
	// byte already holds it when the first message filled its part).
	p[n] = p[len(p)-1]
	return n + 1, more, nil
}
