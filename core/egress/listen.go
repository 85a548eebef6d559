package egress

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/peer"
)

// In the installed stack the proxy process is a unit of its own
// (carapace-egress.service, linux/units): systemd hands it a listening
// SOCK_SEQPACKET socket, and the code service connects to it instead of
// starting the process. Each accepted connection is a control socket
// (ServeControl), after one greeting message: helloOK once the peer's uid
// (SO_PEERCRED) is the code service's, or "refused: …" and the end.

// helloOK is the greeting of an accepted control connection.
const helloOK = "ok"

// listenFDsStart is the first descriptor systemd passes
// (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// ServeListener serves a control socket on each connection ln accepts
// from a peer whose uid is peerUID; any other peer is told why and
// closed. It returns when ln fails.
func ServeListener(ln *net.UnixListener, peerUID int) error {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			return fmt.Errorf("egress listener: %w", err)
		}
		go serveControlConn(c, peerUID)
	}
}

func serveControlConn(c *net.UnixConn, peerUID int) {
	defer c.Close()
	cr, err := peer.FromConn(c)
	if err == nil && cr.UID != peerUID {
		err = fmt.Errorf("peer uid %d is not the code service's (%d)", cr.UID, peerUID)
	}
	if err != nil {
		c.Write([]byte("refused: " + err.Error()))
		return
	}
	f, err := c.File()
	if err != nil {
		return
	}
	if _, err := c.Write([]byte(helloOK)); err != nil {
		f.Close()
		return
	}
	ServeControl(f)
}

// dialControl connects to the proxy unit's socket and reads its greeting:
// the control socket, or why the proxy refused it.
func dialControl(path string) (*os.File, error) {
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		return nil, fmt.Errorf("no greeting from the egress proxy: %w", err)
	}
	if hello := string(buf[:n]); hello != helloOK {
		return nil, errors.New("the egress proxy " + hello)
	}
	c.SetReadDeadline(time.Time{})
	return c.File()
}

// listenerFromSystemd returns the listening socket systemd passed
// (LISTEN_PID, LISTEN_FDS; sd_listen_fds(3)), or nil when it passed none.
func listenerFromSystemd() (*net.UnixListener, error) {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) || os.Getenv("LISTEN_FDS") != "1" {
		return nil, nil
	}
	// The variables and descriptor 3 stay as they are: Confine may
	// re-execute this process (Landlock ABI < 8), which then finds them
	// again. FileListener uses a close-on-exec copy.
	ln, err := net.FileListener(os.NewFile(listenFDsStart, "egress-listener"))
	if err != nil {
		return nil, fmt.Errorf("the socket systemd passed: %w", err)
	}
	ul, ok := ln.(*net.UnixListener)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("the socket systemd passed is a %T, not a Unix socket", ln)
	}
	return ul, nil
}

// peerUIDEnv carries the peer's uid, looked up before Confine, across
// the re-exec Confine may do: the user database cannot be read after.
const peerUIDEnv = "CARAPACE_EGRESS_PEER_UID"

// peerUIDFlag reads `--peer-user NAME|UID` from args: the code service's
// user, the one peer the listener serves.
func peerUIDFlag(args []string) (int, error) {
	if v := os.Getenv(peerUIDEnv); v != "" {
		return strconv.Atoi(v)
	}
	uid, err := peerUIDArg(args)
	if err == nil {
		os.Setenv(peerUIDEnv, strconv.Itoa(uid))
	}
	return uid, err
}

func peerUIDArg(args []string) (int, error) {
	for i, a := range args {
		v, ok := strings.CutPrefix(a, "--peer-user=")
		if !ok && a == "--peer-user" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok {
			return lookupUID(v)
		}
	}
	return -1, errors.New("a socket from systemd but no --peer-user: no one to serve")
}

// lookupUID returns the uid of a user name or number.
func lookupUID(v string) (int, error) {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return n, nil
	}
	u, err := user.Lookup(v)
	if err != nil {
		return -1, fmt.Errorf("--peer-user %s: %w", v, err)
	}
	return strconv.Atoi(u.Uid)
}
