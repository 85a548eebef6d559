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
