// Package peer identifies the process at the other end of a local
// connection: its uid, gid and pid, as the kernel (SO_PEERCRED on Linux,
// LOCAL_PEERCRED and LOCAL_PEERPID on darwin) or XPC reports them.
//
// Identity is read once, when a connection is accepted, and kept with the
// connection; nothing re-reads it per request.
package peer

import (
	"errors"
	"fmt"
	"net"
)

// Creds is what the OS vouches for about a peer. PID is 0 when the
// platform cannot report it. A pid is never used to authorise anything
// on its own: it can be recycled; it only narrows dev-mode checks and
// fills audit records.
type Creds struct {
	UID int `json:"uid"`
	GID int `json:"gid"`
	PID int `json:"pid"`
	// Confined reports that the peer runs under a seccomp filter or with
	// no-new-privileges: a sandboxed command, never a person's own CLI.
	// The router refuses such a peer the owner's powers even when its uid
	// is the owner's (in dev mode the code service and its sandboxed
	// commands run as the owner). Linux only; false where unknown.
	Confined bool `json:"confined,omitempty"`
}

// String formats c for logs: "uid=501 gid=20 pid=1234".
func (c Creds) String() string {
	return fmt.Sprintf("uid=%d gid=%d pid=%d", c.UID, c.GID, c.PID)
}

// fromUnixConn reads a Unix-socket peer's credentials. Each platform's file
// sets it in init; where it stays nil, FromConn fails with
// errors.ErrUnsupported.
var fromUnixConn func(*net.UnixConn) (Creds, error)

// Conn is implemented by connections that know their peer's identity
// themselves (an XPC peer, a test pipe). FromConn prefers it.
type Conn interface {
	PeerCreds() (Creds, error)
}

// FromConn returns the credentials of the peer of c: from c itself when it
// implements Conn, else from the kernel for a Unix stream connection.
func FromConn(c net.Conn) (Creds, error) {
	if pc, ok := c.(Conn); ok {
		return pc.PeerCreds()
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Creds{}, fmt.Errorf("peer credentials: %T is not a unix connection", c)
	}
	if fromUnixConn == nil {
		return Creds{}, fmt.Errorf("peer credentials: %w", errors.ErrUnsupported)
	}
	return fromUnixConn(uc)
}

// Available reports whether this platform can read a Unix-socket peer's
// credentials at all: without them a client cannot tell who serves a
// socket, and core/client refuses to send anything over one.
func Available() bool { return fromUnixConn != nil }

// selfConfined reports whether this process is confined (see
// Creds.Confined); where a platform leaves it nil, SelfConfined is false.
var selfConfined func() bool

// SelfConfined reports whether this process runs under a seccomp filter
// or with no-new-privileges (Linux; false elsewhere). A client compares
// it with its server's Confined: a server more confined than its client,
// under the client's own uid, is a sandboxed command, not the router.
func SelfConfined() bool { return selfConfined != nil && selfConfined() }
