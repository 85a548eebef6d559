//go:build darwin || freebsd || netbsd || openbsd

package fsafe

import "os"

// readNames reads the names in the directory fd, from its current offset,
// through an *os.File on a duplicate of it (the C library's readdir on
// darwin), without "." and "..".
func readNames(fd int, name string) ([]string, error) {
	dup, err := dupCloexec(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), name)
	defer f.Close()
	return f.Readdirnames(-1)
}
