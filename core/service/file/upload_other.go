//go:build !linux

package file

import (
	"io"
	"os"
	"time"
)

// pump copies the pipe r into dst; see upload_linux.go. Unused where
// OpenTmpfile is unsupported, kept so the service builds everywhere.
func pump(dst, r *os.File, limit int64, idle time.Duration, _ bool) (int64, error) {
	n, err := io.Copy(dst, io.LimitReader(r, limit+1))
	if err == nil && n > limit {
		err = errUploadTooLarge
	}
	return n, err
}

func setPipeSize(*os.File, int) {}
