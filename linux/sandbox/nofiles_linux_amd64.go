package sandbox

import "golang.org/x/sys/unix"

// The calls that open a file by name on amd64 (noFilesFilter).
var openSyscalls = []int{unix.SYS_OPEN, unix.SYS_OPENAT, unix.SYS_OPENAT2, unix.SYS_CREAT}

const (
	auditArch = unix.AUDIT_ARCH_X86_64
	x32Bit    = 0x40000000 // __X32_SYSCALL_BIT
)
