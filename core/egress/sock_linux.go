package egress

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// seqpacketPair returns a connected SOCK_SEQPACKET pair, close-on-exec
// and non-blocking (so that Close interrupts a Read).
func seqpacketPair() (*os.File, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "egress-seqpacket"), os.NewFile(uintptr(fds[1]), "egress-seqpacket"), nil
}

// sendMessage sends b with fds attached (SCM_RIGHTS) as one message.
func sendMessage(sock *os.File, b []byte, fds ...*os.File) error {
	raw, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	ints := make([]int, len(fds))
	for i, f := range fds {
		ints[i] = int(f.Fd())
	}
	var serr error
	err = raw.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), b, unix.UnixRights(ints...), nil, unix.MSG_NOSIGNAL)
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}

// recvMessage reads one message and the descriptors it carries (at most
// max; more are closed), each made non-blocking. It returns os.ErrClosed
// once the other end is gone.
func recvMessage(sock *os.File, max int) ([]byte, []*os.File, error) {
	raw, err := sock.SyscallConn()
	if err != nil {
		return nil, nil, err
	}
	buf, oob := make([]byte, maxMessage), make([]byte, unix.CmsgSpace(4*max))
	var n, oobn int
	var rerr error
	err = raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return nil, nil, err
	}
	if rerr != nil {
		return nil, nil, rerr
	}
	if n == 0 && oobn == 0 {
		return nil, nil, os.ErrClosed
	}
	var files []*os.File
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if len(files) == max {
				unix.Close(fd)
				continue
			}
			unix.SetNonblock(fd, true)
			files = append(files, os.NewFile(uintptr(fd), "egress-received"))
		}
	}
	if len(files) == 0 && n == 0 {
		return nil, nil, errors.New("empty message")
	}
	return buf[:n], files, nil
}

// shutdownWrite shuts down sock's sending side: the peer reads its end.
func shutdownWrite(sock *os.File) {
	if raw, err := sock.SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_WR) })
	}
}
