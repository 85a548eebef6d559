package fsafe

import "golang.org/x/sys/unix"

// syncFD flushes fd's file to stable storage: F_FULLFSYNC, as
// os.File.Sync does on darwin (fsync leaves it in the drive's cache).
func syncFD(fd int) error {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_FULLFSYNC, 0)
	return err
}
