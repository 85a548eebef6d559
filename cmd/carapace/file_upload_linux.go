package main

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyToPipe moves in into the pipe w: with splice(2) when in is a file or
// a pipe (the kernel moves the pages; no copy through this process), else
// through a buffer.
func copyToPipe(w *os.File, in io.Reader, pr *progress) (int64, error) {
	src, ok := in.(*os.File)
	if !ok {
		return copyBuffered(w, in, pr)
	}
	wfd, rfd := int(w.Fd()), int(src.Fd()) // Fd makes both blocking
	var n int64
	for {
		m, err := unix.Splice(rfd, nil, wfd, nil, 1<<20, unix.SPLICE_F_MOVE|unix.SPLICE_F_MORE)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EINVAL && n == 0:
			return copyBuffered(w, in, pr) // a terminal or a socket-like input
		case err != nil:
			return n, pipeError(err)
		case m == 0:
			return n, nil
		}
		n += m
		pr.add(int(m))
	}
}

func pipeError(err error) error {
	if errors.Is(err, unix.EPIPE) {
		return errPipeClosed
	}
	return err
}
