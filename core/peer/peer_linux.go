package peer

import (
	"net"

	"golang.org/x/sys/unix"
)

func init() { fromUnixConn = soPeerCred }

// soPeerCred reads SO_PEERCRED: the credentials the peer had when it
// called connect(2), fixed for the life of the connection.
func soPeerCred(c *net.UnixConn) (Creds, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Creds{}, err
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Creds{}, err
	}
	if serr != nil {
		return Creds{}, serr
	}
	return Creds{UID: int(cred.Uid), GID: int(cred.Gid), PID: int(cred.Pid)}, nil
}
