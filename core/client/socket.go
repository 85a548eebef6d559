package client

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/peer"
	"github.com/gimme-tools/carapace/core/rundir"
)

// SystemSocket is the router's socket when Carapace is installed as a
// system service on Linux.
const SystemSocket = "/run/gimme/router.sock"

// installed is SystemSocket; tests move it.
var installed = SystemSocket

// RouterUser is the system user an installed router runs as. Its uid is
// looked up by name on each Dial that needs it, never taken from the
// socket.
const RouterUser = "_gimme_router"

// routerSocketName is the router socket's name in a dev runtime
// directory (stack.RouterSocket).
const routerSocketName = "router.sock"

// Socket picks the router socket, in this order:
//
//  1. explicit (a --socket flag), if set;
//  2. $GIMME_SOCKET, if set;
//  3. $XDG_RUNTIME_DIR/carapace/router.sock, if something is there: the
//     user's own dev stack in a directory no other user can write;
//  4. SystemSocket, if something is there: the installed router;
//  5. $TMPDIR/carapace-<uid>/router.sock (/tmp/…), if something is there:
//     a dev stack started without XDG_RUNTIME_DIR. Any local user can
//     create that name first, so it never wins over the installed router;
//  6. SystemSocket, for the error that says nothing is running.
//
// Socket only picks; Dial checks what it finds.
func Socket(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if s := os.Getenv("GIMME_SOCKET"); s != "" {
		return s
	}
	dirs := rundir.Dirs()
	shared := dirs[len(dirs)-1]
	for _, d := range dirs[:len(dirs)-1] {
		if s := filepath.Join(d, routerSocketName); present(s) {
			return s
		}
	}
	if present(installed) {
		return installed
	}
	if s := filepath.Join(shared, routerSocketName); present(s) {
		return s
	}
	return installed
}

// present reports whether anything, even a dangling link, is at p: Dial,
// not Socket, decides whether to trust it.
func present(p string) bool { _, err := os.Lstat(p); return err == nil }

// A place is what Dial demands of a socket, by where it is.
type place struct {
	kind string // "dev", "installed" or "given", for messages
	// check vets the socket's directory before anything is dialled.
	check func() error
	// dev: only the caller's own uid may serve; otherwise the caller's,
	// root's or RouterUser's (see trusted).
	dev bool
}

// placeOf classifies socket. A socket in one of the caller's dev runtime
// directories must be served by the caller from a private directory;
// SystemSocket must sit in directories only root or RouterUser can
// change; any other path (--socket, $GIMME_SOCKET) is checked by its
// server's uid alone.
func placeOf(socket string) place {
	abs, err := filepath.Abs(socket)
	if err != nil {
		abs = socket
	}
	dir := filepath.Dir(abs)
	uid := os.Geteuid()
	for _, d := range rundir.Dirs() {
		if dir == filepath.Clean(d) {
			return place{kind: "dev", dev: true, check: func() error { return rundir.Check(dir, uid) }}
		}
	}
	if abs == installed {
		return place{kind: "installed", check: func() error {
			owners := []int{0}
			if r, ok := routerUID(); ok {
				owners = append(owners, r)
			}
			_, err := rundir.Chain(dir, owners...)
			return err
		}}
	}
	return place{kind: "given"}
}

// routerUID looks RouterUser up; ok is false where it does not exist.
// Tests replace it.
var routerUID = lookupRouterUID

func lookupRouterUID() (int, bool) {
	u, err := user.Lookup(RouterUser)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(u.Uid)
	return n, err == nil
}

// trusted reports whether a router serving as uid may be sent anything.
// A dev socket must be the caller's own. Elsewhere the caller's uid and
// RouterUser are accepted, and so is root: systemd, as root, calls
// listen(2) for the installed router's socket unit, so SO_PEERCRED names
// PID 1, uid 0, not the router; and root can read the caller's memory
// anyway, so refusing it would protect nothing.
func (p place) trusted(uid int) bool {
	if uid == os.Geteuid() {
		return true
	}
	if p.dev {
		return false
	}
	if uid == 0 {
		return true
	}
	r, ok := routerUID()
	return ok && uid == r
}

// verify checks the server end of conn, before anything is written to it.
func (p place) verify(socket string, conn net.Conn) (peer.Creds, error) {
	op := "dial " + socket
	cr, err := peer.FromConn(conn)
	if err != nil {
		return cr, errs.E(op, errs.Unavailable, errs.ReasonNoPeerCreds,
			errs.Hint("Carapace cannot learn who serves this socket on this platform, so it sends nothing over it; on macOS pass --socket xpc:com.gimme.local.router"), err)
	}
	if cr.UID == os.Geteuid() && cr.Confined && !peer.SelfConfined() {
		// In dev mode the code service's commands run as the owner's
		// uid, sandboxed: one that listens on a socket is not the router.
		return cr, errs.E(op, errs.Forbidden, errs.ReasonConfinedRouter,
			errs.Hint("the process listening at "+socket+" runs as you but sandboxed (seccomp or no-new-privileges), as a command Carapace ran would: it is not your router, and nothing was sent to it; stop it (pid "+strconv.Itoa(cr.PID)+"), "+p.dirAdvice()),
			fmt.Errorf("server pid %d is confined and this client is not", cr.PID))
	}
	if p.trusted(cr.UID) {
		return cr, nil
	}
	want := "you (uid " + strconv.Itoa(os.Geteuid()) + ")"
	if !p.dev {
		want += ", " + RouterUser + " or root"
	}
	return cr, errs.E(op, errs.Forbidden, errs.ReasonUntrustedRouter,
		errs.Hint("the process listening at "+socket+" runs as "+describeUID(cr.UID)+", not as "+want+": another user may be impersonating Carapace, and nothing was sent to it; "+p.advice(socket)),
		fmt.Errorf("server uid %d (pid %d) is not trusted for a %s socket", cr.UID, cr.PID, p.kind))
}

// advice says what to do about a socket whose server failed the check.
func (p place) advice(socket string) string {
	switch p.kind {
	case "dev":
		return "have an administrator remove " + filepath.Dir(socket) + ", then start your own stack (carapace dev), or pass --socket with one you trust"
	case "installed":
		return "check the installation (sudo carapace-installer doctor)"
	}
	return "pass --socket (or set GIMME_SOCKET) with the socket of a router you or the system runs"
}

// dirAdvice follows a directory check's own hint.
func (p place) dirAdvice() string {
	if p.kind == "installed" {
		return "then check the installation (sudo carapace-installer doctor)"
	}
	return "then start your own stack (carapace dev), or pass --socket with a router you trust"
}

// describeUID names a uid for a person: "uid 1001 (bob)".
func describeUID(uid int) string {
	s := "uid " + strconv.Itoa(uid)
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		s += " (" + u.Username + ")"
	}
	return s
}
