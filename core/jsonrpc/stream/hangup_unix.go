//go:build unix

package stream

import "golang.org/x/sys/unix"

// hungUp reports whether the peer of the stream socket fd has closed it
// altogether (POLLHUP: both directions shut), as opposed to a shutdown of
// its writing side alone, after which it may still read an answer.
func hungUp(fd uintptr) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(p, 0)
	return err == nil && n == 1 && p[0].Revents&unix.POLLHUP != 0
}
