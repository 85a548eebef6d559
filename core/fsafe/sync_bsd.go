//go:build freebsd || netbsd || openbsd

package fsafe

import "golang.org/x/sys/unix"

// syncFD flushes fd's file to stable storage.
func syncFD(fd int) error { return unix.Fsync(fd) }
