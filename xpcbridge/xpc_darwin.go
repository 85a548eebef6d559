//go:build darwin && cgo

package xpcbridge

/*
#cgo CFLAGS: -fblocks -Wall -Werror
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"net"
	"runtime/cgo"
	"sync"
	"unsafe"

	"github.com/gimme-tools/carapace/core/peer"
)

// listener is a net.Listener over an XPC Mach-service listener.
type listener struct {
	name   string
	h      cgo.Handle
	conn   C.xpc_connection_t
	accept chan *msgConn
	done   chan struct{} // closed by Close
	once   sync.Once
}

// Listen checks in as the listener of machService, which must be one of the
// MachServices in the calling job's launchd plist, and returns a listener
// whose Accept yields one connection per peer that satisfied requirement
// and completed the handshake.
func Listen(machService, requirement string) (net.Listener, error) {
	if err := checkArgs("listen", machService, requirement); err != nil {
		return nil, err
	}
	l := &listener{name: machService, accept: make(chan *msgConn, 16), done: make(chan struct{})}
	l.h = cgo.NewHandle(l)
	cname, creq := C.CString(machService), C.CString(requirement)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(creq))
	l.conn = C.gxpc_listen(cname, creq, C.uintptr_t(l.h))
	return l, nil
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.accept:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting peers. Connections already accepted stay open.
func (l *listener) Close() error {
	first := false
	l.once.Do(func() { first = true; close(l.done) })
	if !first {
		return net.ErrClosed
	}
	C.gxpc_listener_cancel(l.conn)
	return nil
}

func (l *listener) Addr() net.Addr { return addr(l.name) }

//export gxpcAccept
func gxpcAccept(lh C.uintptr_t, p *C.gxpc_peer, uid C.uid_t, gid C.gid_t, pid C.pid_t) C.uintptr_t {
	l := cgo.Handle(lh).Value().(*listener)
	c := newMsgConn(addr(l.name), addr(fmt.Sprintf("pid %d", pid)),
		peer.Creds{UID: int(uid), GID: int(gid), PID: int(pid)})
	c.attach(cpeer{p})
	h := cgo.NewHandle(c)
	select {
	case l.accept <- c:
		return C.uintptr_t(h)
	case <-l.done:
		c.detach() // C cancels the peer when it sees 0
		h.Delete()
		return 0
	}
}

//export gxpcListenerClosed
func gxpcListenerClosed(lh C.uintptr_t) {
	cgo.Handle(lh).Delete()
}

//export gxpcRecv
func gxpcRecv(h C.uintptr_t, b unsafe.Pointer, n C.size_t) {
	c := cgo.Handle(h).Value().(*msgConn)
	c.deliver(C.GoBytes(b, C.int(n)))
}

//export gxpcClosed
func gxpcClosed(h C.uintptr_t) {
	cgo.Handle(h).Value().(*msgConn).detach()
	cgo.Handle(h).Delete()
}

// cpeer is the C connection behind a msgConn. msgConn calls it only with
// its lock held and only before detach, after which C frees it.
type cpeer struct{ p *C.gxpc_peer }

func (e cpeer) send(msg []byte) error {
	C.gxpc_send(e.p, unsafe.Pointer(&msg[0]), C.size_t(len(msg)))
	return nil
}

func (e cpeer) cancel() { C.gxpc_cancel(e.p) }

var dialErrors = map[C.int]string{
	C.GXPC_EREQUIREMENT: "the code-signing requirement is not valid",
	C.GXPC_ENOTFOUND:    "no such service, or it refused this client (hint: is Carapace installed and approved in System Settings > General > Login Items, and is this carapace signed by the same team?)",
	C.GXPC_EINTERRUPTED: "the service exited during the handshake (hint: see `log show --predicate 'process == \"carapace\"' --last 5m`)",
	C.GXPC_ESIGNATURE:   "the service is not signed by the expected identity; refusing to talk to it",
	C.GXPC_EPROTOCOL:    "the service answered the handshake wrongly (hint: are the CLI and the daemons the same version?)",
}

// Dial connects to machService, a daemon in the system domain, and
// completes the handshake: it returns only once the daemon has answered and
// satisfied requirement, so nothing is written to an impostor.
func Dial(machService, requirement string) (net.Conn, error) {
	if err := checkArgs("dial", machService, requirement); err != nil {
		return nil, err
	}
	c := newMsgConn(addr("client"), addr(machService), peer.Creds{})
	h := cgo.NewHandle(c)
	cname, creq := C.CString(machService), C.CString(requirement)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(creq))
	var cerr C.int
	p := C.gxpc_dial(cname, creq, C.uintptr_t(h), &cerr)
	if p == nil { // C calls gxpcClosed, which deletes h
		return nil, fmt.Errorf("xpcbridge: dial %s: %s", machService, dialErrors[cerr])
	}
	var uid C.uid_t
	var gid C.gid_t
	var pid C.pid_t
	C.gxpc_peer_creds(p, &uid, &gid, &pid)
	c.creds = peer.Creds{UID: int(uid), GID: int(gid), PID: int(pid)}
	c.attach(cpeer{p})
	return c, nil
}
