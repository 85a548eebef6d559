package peer

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

func init() {
	fromUnixConn = soPeerCred
	selfConfined = func() bool {
		status, err := os.ReadFile("/proc/self/status")
		return err == nil && statusConfined(status)
	}
}

// soPeerPidfd is SO_PEERPIDFD (Linux 6.5): a pidfd for the peer, which
// cannot be recycled the way a pid can.
const soPeerPidfd = 77

// soPeerCred reads SO_PEERCRED: the credentials the peer had when it
// called connect(2), fixed for the life of the connection.
func soPeerCred(c *net.UnixConn) (Creds, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Creds{}, err
	}
	var cr Creds
	var serr error
	if err := raw.Control(func(fd uintptr) {
		var u *unix.Ucred
		u, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if serr != nil {
			return
		}
		cr = Creds{UID: int(u.Uid), GID: int(u.Gid), PID: int(u.Pid)}
		cr.Confined = confined(int(fd), cr.PID)
	}); err != nil {
		return Creds{}, err
	}
	return cr, serr
}

// confined reads the peer's /proc status for a seccomp filter or
// no-new-privileges. With a pidfd it also checks that the process it read
// is still the peer: a peer that is gone counts as confined. When the
// status cannot be read (another user's process under hidepid), it
// reports false: the check guards the dev stack, where router and
// sandboxed commands share a uid and /proc is readable.
func confined(sockfd, pid int) bool {
	if pid <= 0 {
		return false
	}
	pidfd, perr := unix.GetsockoptInt(sockfd, unix.SOL_SOCKET, soPeerPidfd)
	if perr == nil {
		defer unix.Close(pidfd)
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	if perr == nil && unix.PidfdSendSignal(pidfd, 0, nil, 0) != nil {
		return true
	}
	return statusConfined(status)
}

// statusConfined parses /proc/PID/status.
func statusConfined(status []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch string(k) {
		case "NoNewPrivs":
			if string(v) != "0" {
				return true
			}
		case "Seccomp":
			if string(v) != "0" {
				return true
			}
		}
	}
	return false
}
