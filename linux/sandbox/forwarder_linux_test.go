//go:build linux

package sandbox

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestForwarderStop: once the command is gone the forwarder passes every
// connection it was given — those accepted and those still in the
// listener's backlog — and then ends the proxy's side of descriptor 5,
// all before stop returns: the proxy's session can end with the command,
// not with the helper process, and no connection (so no audit record) is
// left behind. It counts what it passed: with none, the code service
// waits for no record.
func TestForwarderStop(t *testing.T) {
	for _, v := range append(proxyVars, "NO_PROXY", "no_proxy", "CARAPACE_PROXY", "CREDENTIAL_ROUTES_URL") {
		t.Setenv(v, "") // startForwarder sets them for the command
	}
	proxy, helper, err := pair()
	must(t, err)
	defer proxy.Close()
	defer helper.Close()
	ln, err := listenForwarder()
	must(t, err)
	// Connections made before the forwarder runs wait in the backlog;
	// stop, right after, finds some of them there.
	const conns = 5
	for i := 0; i < conns; i++ {
		c, err := net.Dial("tcp4", ln.Addr().String())
		must(t, err)
		defer c.Close()
	}
	fwd, err := startForwarder(ln, int(helper.Fd()))
	must(t, err)
	passed := fwd.stop()

	got := 0
	for {
		buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := unix.Recvmsg(int(proxy.Fd()), buf, oob, unix.MSG_DONTWAIT)
		if err != nil {
			t.Fatalf("after stop, after %d connections: %v (want every connection, then the end, already queued)", got, err)
		}
		if n == 0 && oobn == 0 {
			break // the helper's end is shut down
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		must(t, err)
		fds, err := unix.ParseUnixRights(&msgs[0])
		must(t, err)
		for _, fd := range fds {
			unix.Close(fd)
		}
		got++
	}
	if got != conns || passed != conns {
		t.Errorf("%d connections passed before the end (the forwarder counted %d), want %d", got, passed, conns)
	}
	if _, err := net.Dial("tcp4", ln.Addr().String()); err == nil {
		t.Error("the forwarder still listens after stop")
	}
}
