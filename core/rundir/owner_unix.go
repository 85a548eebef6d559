//go:build unix

package rundir

import (
	"io/fs"
	"syscall"
)

func init() { owner = statOwner }

// statOwner reads st_uid from the lstat(2) or stat(2) result fi carries.
func statOwner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, false
	}
	return int(st.Uid), true
}
