package sandbox

import "golang.org/x/sys/unix"

// The calls that open a file by name on arm64 (noFilesFilter).
var openSyscalls = []int{unix.SYS_OPENAT, unix.SYS_OPENAT2}

const (
	auditArch = unix.AUDIT_ARCH_AARCH64
	x32Bit    = 0 // no such thing: the test never matches
)
