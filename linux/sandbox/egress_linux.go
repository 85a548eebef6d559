//go:build linux

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// egressFD is the descriptor a warm helper gets from the code service
// (core/codeexec): one end of a seqpacket pair whose other end the
// service's proxy reads. It is the only way out of the helper's network
// namespace.
const egressFD = 5

// ownNetNamespace reports whether this process has a network namespace
// other than its parent's, and brings its loopback up: the namespace the
// code service started it in (linux/sandbox namespaceAttr), which holds
// nothing but loopback. From a user namespace of its own the parent's
// link cannot be read; there the helper's network namespace must belong
// to its own user namespace, as its mount namespace does.
func ownNetNamespace(ppid int) bool {
	self, err := nsID("/proc/self/ns/net")
	if err != nil {
		return false
	}
	parent, err := nsID("/proc/" + strconv.Itoa(ppid) + "/ns/net")
	switch {
	case err == nil && parent == self:
		return false
	case err != nil && !ownsNamespace("/proc/self/ns/net"):
		return false
	}
	return loopbackUp() == nil
}

// loopbackUp sets IFF_UP on lo (SIOCSIFFLAGS), which a new network
// namespace starts without.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// egressSocket returns descriptor 5 when it is a Unix seqpacket socket,
// as the code service passes it, else -1.
func egressSocket() int {
	typ, err := unix.GetsockoptInt(egressFD, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil || typ != unix.SOCK_SEQPACKET {
		return -1
	}
	unix.CloseOnExec(egressFD)
	return egressFD
}

// proxyVars are the variables that point tools at the forwarder: the
// usual ones of curl, wget, git, pip, npm, yarn, Go, cargo and the JVM-less
// rest. A tool that ignores them cannot connect at all.
var proxyVars = []string{
	"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
	"npm_config_proxy", "npm_config_https_proxy", "YARN_HTTP_PROXY", "YARN_HTTPS_PROXY",
	"PIP_PROXY", "CARGO_HTTP_PROXY",
}

// listenForwarder listens on 127.0.0.1 in the helper's network
// namespace (MPTCP off). A warm helper does it at warm-up.
func listenForwarder() (net.Listener, error) {
	lc := net.ListenConfig{}
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen in the network namespace: %w", err)
	}
	return ln, nil
}

// forwarder passes each connection the command opens to its listener, as
// a descriptor, to the service's proxy over sock. It copies no bytes: the
// proxy reads and writes the command's own TCP socket.
type forwarder struct {
	ln     *net.TCPListener
	sock   int
	done   chan struct{} // closed when it passes no more
	passed int           // connections passed, read after done
}

// startForwarder starts a forwarder on ln (nil: a new listener) and sets
// the proxy variables for the command. It runs until stop, or until the
// proxy's end is gone.
func startForwarder(ln net.Listener, sock int) (*forwarder, error) {
	if ln == nil {
		var err error
		if ln, err = listenForwarder(); err != nil {
			return nil, err
		}
	}
	addr := "http://" + ln.Addr().String()
	for _, v := range proxyVars {
		os.Setenv(v, addr)
	}
	os.Setenv("NO_PROXY", "")
	os.Setenv("no_proxy", "")
	os.Setenv("CARAPACE_PROXY", ln.Addr().String())
	// Credential routes (core/egress/routes.go) are served at the same
	// address: $CREDENTIAL_ROUTES_URL/<route>/<path>. Not CARAPACE_*:
	// scrubEnv keeps that prefix out of every sandbox.
	os.Setenv("CREDENTIAL_ROUTES_URL", addr)
	f := &forwarder{ln: ln.(*net.TCPListener), sock: sock, done: make(chan struct{})}
	go f.serve()
	return f, nil
}

func (f *forwarder) serve() {
	defer close(f.done)
	defer f.ln.Close()
	for {
		c, err := f.ln.Accept()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			f.drain()
			return
		}
		if err != nil {
			return
		}
		err = f.pass(c.(*net.TCPConn))
		c.Close()
		if err == nil {
			f.passed++
		}
		if errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET) {
			return
		}
	}
}

// drain passes the connections still waiting in the listener's backlog:
// made by the command before it ended, they are each the proxy's to
// refuse and record. The listener is non-blocking (Go's), so accept
// stops at EAGAIN.
func (f *forwarder) drain() {
	raw, err := f.ln.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(lfd uintptr) {
		for {
			fd, _, err := unix.Accept4(int(lfd), unix.SOCK_CLOEXEC)
			if err != nil {
				return
			}
			if sendFD(f.sock, fd) == nil {
				f.passed++
			}
			unix.Close(fd)
		}
	})
}

// stop ends the forwarder once the command and every descendant are gone
// (no connection can be made any more): what the listener holds is
// passed, then the helper's end of sock is shut down, so the proxy sees
// the command's end now rather than when the helper process has exited
// (its teardown: most of the session's wait, docs/network.md). Every
// connection passed is in the proxy's queue before that end. It returns
// how many were passed (-1 for no forwarder): with none, the proxy has
// no record to send and the service need not wait for one (report).
func (f *forwarder) stop() int {
	if f == nil {
		return -1
	}
	f.ln.SetDeadline(time.Unix(1, 0)) // wakes Accept
	<-f.done
	unix.Shutdown(f.sock, unix.SHUT_WR)
	return f.passed
}

// pass sends c's descriptor over the forwarder's socket.
func (f *forwarder) pass(c *net.TCPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) { serr = sendFD(f.sock, int(fd)) })
	if err != nil {
		return err
	}
	return serr
}

// sendFD sends fd over sock (SCM_RIGHTS) with a one-byte message.
func sendFD(sock, fd int) error {
	return unix.Sendmsg(sock, []byte{0}, unix.UnixRights(fd), nil, unix.MSG_NOSIGNAL)
}

// ownsNamespace reports whether this process's user namespace (not the
// initial one) owns the namespace the link names.
func ownsNamespace(link string) bool {
	if m, err := os.ReadFile("/proc/self/uid_map"); err != nil || string(m) == "" || isInitialUidMap(m) {
		return false
	}
	fd, err := unix.Open(link, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	owner, err := unix.IoctlRetInt(fd, nsGetUserns)
	if err != nil {
		return false
	}
	defer unix.Close(owner)
	var st unix.Stat_t
	if unix.Fstat(owner, &st) != nil {
		return false
	}
	mine, err := nsID("/proc/self/ns/user")
	return err == nil && mine == [2]uint64{st.Dev, st.Ino}
}

func isInitialUidMap(m []byte) bool {
	var a, b, n uint64
	_, err := fmt.Sscan(string(m), &a, &b, &n)
	return err == nil && a == 0 && b == 0 && n == 4294967295
}
