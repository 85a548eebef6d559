//go:build !linux

package main

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// copyToPipe copies in into the pipe w (file.upload is Linux's alone; this
// keeps the CLI building elsewhere).
func copyToPipe(w *os.File, in io.Reader, pr *progress) (int64, error) {
	return copyBuffered(w, in, pr)
}

func pipeError(err error) error {
	if errors.Is(err, syscall.EPIPE) {
		return errPipeClosed
	}
	return err
}
