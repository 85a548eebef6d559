//go:build !linux

package stream

import "syscall"

// rawRead and rawWrite are syscall.Read and syscall.Write where the
// scheduler's bypass (raw_linux.go) is not measured.
func rawRead(fd int, p []byte) (int, error)  { return syscall.Read(fd, p) }
func rawWrite(fd int, p []byte) (int, error) { return syscall.Write(fd, p) }

// rawRecvmsg is not used here (rawRecvmsgOK): FDConn reads with
// ReadMsgUnix, which sets close-on-exec on what it receives.
const rawRecvmsgOK = false

func rawRecvmsg(fd int, p, oob []byte, flags int) (n, oobn, recvflags int, err error) {
	return -1, 0, 0, syscall.ENOSYS
}

const cmsgCloexec = 0
