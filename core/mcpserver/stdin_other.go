//go:build !unix

package mcpserver

import "os"

// PollStdin returns stdin as it is: only Unix stdin is made pollable.
func PollStdin() (*os.File, func()) { return os.Stdin, func() {} }
