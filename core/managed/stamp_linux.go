package managed

import (
	"io/fs"
	"syscall"
	"time"
)

func fillStamp(s *stamp, fi fs.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = uint64(st.Ino)
		sec, nsec := st.Ctim.Unix()
		s.ctime = time.Unix(sec, nsec).String()
	}
}
