package stream

import (
	"syscall"
	"unsafe"
)

// rawRead and rawWrite read and write a non-blocking socket without
// telling the runtime's scheduler (RawSyscall). They never wait: the
// socket is non-blocking, so each costs at most its copy. A call made
// through syscall.Read instead enters the scheduler's system-call state,
// and when the thread is descheduled meanwhile (two shared CPUs, a busy
// host), the scheduler's monitor (sysmon) hands its processor to another
// thread, which it must wake — and it keeps polling every 20 µs while it
// finds such calls to take over. On the router's echo that was 8.5 % of
// its CPU (perf: runtime.sysmon's nanosleep and the threads it woke).
//
// They are recvfrom(2) and sendto(2), which go straight to the socket
// layer (read and write pass through the VFS first); sendto with
// MSG_NOSIGNAL, so a peer gone is EPIPE and never a signal. A descriptor
// that is not a socket is read and written as a file.
func rawRead(fd int, p []byte) (int, error) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)), 0, 0, 0)
	if e == syscall.ENOTSOCK {
		r, _, e = syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)))
	}
	if e != 0 {
		return -1, e
	}
	raceAcquireIO()
	return int(r), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	raceReleaseIO()
	r, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)), syscall.MSG_NOSIGNAL, 0, 0)
	if e == syscall.ENOTSOCK {
		r, _, e = syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)))
	}
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func bufPtr(p []byte) unsafe.Pointer {
	if len(p) == 0 {
		return nil
	}
	return unsafe.Pointer(&p[0])
}

// rawRecvmsgOK: FDConn reads through rawRecvmsg, with cmsgCloexec.
const (
	rawRecvmsgOK = true
	cmsgCloexec  = syscall.MSG_CMSG_CLOEXEC
)

// rawRecvmsg is recvmsg(2) as rawRead is recvfrom: the bytes into p, any
// control message (passed descriptors) into oob.
func rawRecvmsg(fd int, p, oob []byte, flags int) (n, oobn, recvflags int, err error) {
	var iov syscall.Iovec
	var msg syscall.Msghdr
	if len(p) > 0 {
		iov.Base = &p[0]
		iov.SetLen(len(p))
		msg.Iov, msg.Iovlen = &iov, 1
	}
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	r, _, e := syscall.RawSyscall(syscall.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	if e != 0 {
		return -1, 0, 0, e
	}
	raceAcquireIO()
	return int(r), int(msg.Controllen), int(msg.Flags), nil
}
