package peer

import (
	"net"

	"golang.org/x/sys/unix"
)

func init() { fromUnixConn = localPeerCred }

// localPeerCred reads LOCAL_PEERCRED (uid and groups, fixed at connect) and
// LOCAL_PEERPID. Both are plain getsockopt calls: no cgo needed.
func localPeerCred(c *net.UnixConn) (Creds, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Creds{}, err
	}
	var cr Creds
	var serr error
	if err := raw.Control(func(fd uintptr) {
		var x *unix.Xucred
		x, serr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if serr != nil {
			return
		}
		cr.UID = int(x.Uid)
		if x.Ngroups > 0 {
			cr.GID = int(x.Groups[0])
		}
		pid, perr := unix.GetsockoptInt(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERPID)
		if perr == nil {
			cr.PID = pid
		}
	}); err != nil {
		return Creds{}, err
	}
	return cr, serr
}
