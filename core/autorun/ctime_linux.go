package autorun

import (
	"io/fs"
	"syscall"
)

// ctime returns the inode change time of info, which no user can set: a
// file replaced by another that reuses its inode number still differs.
func ctime(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Ctim.Nano()
	}
	return 0
}
