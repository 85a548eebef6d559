//go:build !linux

package stream

import "syscall"

// rawRead and rawWrite are syscall.Read and syscall.Write where the
// scheduler's bypass (raw_linux.go) is not measured.
func rawRead(fd int, p []byte) (int, error)  { return syscall.Read(fd, p) }
func rawWrite(fd int, p []byte) (int, error) { return syscall.Write(fd, p) }
