//go:build unix

package mcpserver

import (
	"os"
	"syscall"
)

// PollStdin returns stdin as a file Go's network poller waits on, when it
// is a pipe or a socket (what an MCP client gives the server it starts),
// and the function that puts it back as it was. A blocking stdin is read
// by a thread parked in read(2), which must then take the processor back
// from the thread that waits on the router's socket: a wake-up and a
// hand-over per call that a poller-driven read does not need, the server
// then being one thread waiting on both. A terminal, a file or anything
// else is left as it is: a terminal's mode is shared with the shell.
func PollStdin() (*os.File, func()) {
	st, err := os.Stdin.Stat()
	if err != nil || st.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return os.Stdin, func() {}
	}
	fd := int(os.Stdin.Fd())
	if err := syscall.SetNonblock(fd, true); err != nil {
		return os.Stdin, func() {}
	}
	// os.NewFile registers a descriptor already in non-blocking mode with
	// the poller; a second *os.File on fd 0, never closed (closing it
	// would close stdin).
	f := os.NewFile(uintptr(fd), "/dev/stdin")
	return f, func() { syscall.SetNonblock(fd, false) }
}
