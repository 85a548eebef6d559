package stream

import (
	"syscall"
	"unsafe"
)

// rawRead and rawWrite are read(2) and write(2) on a non-blocking socket,
// made without telling the runtime's scheduler (RawSyscall). They never
// wait: the socket is non-blocking, so each costs at most its copy. A
// call made through syscall.Read instead enters the scheduler's system
// call state, and when the thread is descheduled meanwhile (two shared
// CPUs, a busy host), the scheduler's monitor hands its processor to
// another thread, which it must wake — and that monitor keeps polling
// every 20 µs while it finds such calls to take over. On the router's
// echo that was a tenth of its CPU (perf: runtime.sysmon's nanosleep and
// the threads it woke).
func rawRead(fd int, p []byte) (int, error) {
	r, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)))
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
