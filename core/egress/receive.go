package egress

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// Receive reads one descriptor passed over sock (SCM_RIGHTS) — a TCP
// connection the command opened to the forwarder in its network
// namespace — and returns it as a connection to give ServeConn. It
// returns nil and no error for a message that carried none, or no TCP
// socket, and an error once the other end (the helper) is gone.
func Receive(sock *os.File) (net.Conn, error) {
	raw, err := sock.SyscallConn()
	if err != nil {
		return nil, err
	}
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4*4))
	var n, oobn int
	var rerr error
	err = raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, recvFlags)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	if n == 0 && oobn == 0 {
		return nil, os.ErrClosed // the helper is gone
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, nil
	}
	var fds []int
	for _, m := range msgs {
		if f, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, f...)
		}
	}
	if len(fds) == 0 {
		return nil, nil
	}
	for _, fd := range fds[1:] {
		unix.Close(fd)
	}
	f := os.NewFile(uintptr(fds[0]), "egress-conn")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, nil
	}
	if _, ok := c.(*net.TCPConn); !ok {
		c.Close()
		return nil, nil
	}
	return c, nil
}
