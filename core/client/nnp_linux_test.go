package client

import "golang.org/x/sys/unix"

// noNewPrivs confines this process as the sandbox confines a command.
func noNewPrivs() error { return unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }
