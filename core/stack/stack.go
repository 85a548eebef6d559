// Package stack assembles a running Carapace from its configuration: the
// router with its backends, and in dev mode the supervised service
// children. cmd/carapace's `dev` and `serve router` are thin wrappers
// around it.
package stack

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/managed"
	"github.com/gimme-tools/carapace/core/router"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/supervisor"
	"github.com/gimme-tools/carapace/core/unixsock"
)

// Settings is everything a stack needs, resolved from flags and files.
type Settings struct {
	System     *config.System
	SystemPath string // for children: --config
	Owner      *config.Owner
	OwnerPath  string // for children: --owner-config
	OwnerUID   int
	OwnerHome  string // what "~" stands for in the owner file
	RuntimeDir string
	// StateDirFlag overrides the state directory (--state-dir).
	StateDirFlag string
	// Dev is set for `carapace dev`: state lives in the runtime dir.
	Dev bool
	Log *slog.Logger
	// Managed is the fleet's managed policy, already applied to System
	// and Owner (ManagedChanges says what it changed); ManagedOverride
	// is $CARAPACE_MANAGED, for the router's watcher (core/managed).
	Managed         *managed.Policy
	ManagedChanges  []managed.Change
	ManagedOverride string
}

func (st *Settings) log() *slog.Logger {
	if st.Log == nil {
		return slog.Default()
	}
	return st.Log
}

// RouterSocket returns the router socket path in dir.
func RouterSocket(dir string) string { return filepath.Join(dir, "router.sock") }

// ServiceSocket returns a service's socket path in dir: in a directory of
// its own, so a service confined to that directory (the file service
// under Landlock may create its socket there and nowhere else) cannot
// touch the router's or another service's socket.
func ServiceSocket(dir, name string) string { return filepath.Join(dir, name, name+".sock") }

// enabledIn says where the owner file enables each service in
// service.Registry (a test checks there is one for each).
var enabledIn = map[string]func(*config.Services) bool{
	"file":  func(s *config.Services) bool { return s.File.Enabled },
	"code":  func(s *config.Services) bool { return s.Code.Enabled },
	"shell": func(s *config.Services) bool { return s.Shell.Enabled },
	"app":   func(s *config.Services) bool { return s.App.Enabled },
}

// Enabled reports whether the owner file enables a service.
func Enabled(o *config.Owner, name string) bool {
	f, ok := enabledIn[name]
	return ok && f(&o.Services)
}

// Backends returns the router's view of every service.
func (st *Settings) Backends() []router.Backend {
	var out []router.Backend
	for _, n := range service.Names() {
		b := router.Backend{Name: n, Socket: ServiceSocket(st.RuntimeDir, n), Enabled: Enabled(st.Owner, n)}
		switch err := st.Managed.Err(n); {
		case err != nil:
			b.Enabled, b.Why = false, err.Error()
		case !st.Managed.Allows(n):
			b.Enabled, b.Why = false, "the managed policy ("+st.Managed.Source+") does not allow the "+n+" service on this machine; ask whoever manages it"
		}
		if b.Enabled {
			b.Unconfined = Unconfined(n, st.Owner)
		}
		out = append(out, b)
	}
	return out
}

// Limits converts the configured limits.
func (st *Settings) Limits() rpcserver.Limits {
	l := st.System.Limits
	return rpcserver.Limits{
		MaxMessage: int(l.MaxMessage), MaxConns: l.MaxConns, MaxInFlight: l.MaxInFlight,
		MaxBatch: l.MaxBatch, IdleTimeout: l.IdleTimeout.D(), WriteTimeout: l.WriteTimeout.D(),
	}
}

// Dev is a running dev stack.
type Dev struct {
	Socket  string
	Router  *router.Router
	authz   *Authz
	sup     *supervisor.Supervisor
	srv     *rpcserver.Server
	l       net.Listener
	done    chan error
	entries *Entries
}

// StartDev binds the router socket (failing if another stack is live
// there), starts one child per enabled service and waits until all are
// ready, then serves. exe is the carapace binary to re-execute.
func StartDev(ctx context.Context, st *Settings, exe string) (*Dev, error) {
	sock := RouterSocket(st.RuntimeDir)
	l, err := unixsock.Listen(sock, 0o600)
	if err != nil {
		return nil, err
	}
	st.Dev = true
	d := &Dev{Socket: sock, l: l, done: make(chan error, 1)}
	if d.authz, err = NewAuthz(st); err != nil {
		l.Close()
		return nil, err
	}
	d.sup = &supervisor.Supervisor{Log: st.Log}
	r := router.New(router.Options{
		OwnerUID: st.OwnerUID, Backends: st.Backends(), Status: d.serviceStatus, Log: st.Log,
		Auth: d.authz.Auth,
	})
	d.Router = r
	d.sup.OnRestart = r.ServiceRestarted
	// What the policy sets inside a service (network rules, deny lists)
	// is read at the service's start: a changed policy restarts them.
	d.authz.OnManagedChange(func() {
		if names := d.sup.Restart(); len(names) > 0 {
			st.log().Info("managed policy changed: restarting services", "services", names)
		}
	})
	var children []supervisor.Child
	for _, b := range st.Backends() {
		if b.Enabled {
			children = append(children, st.child(exe, b))
		}
	}
	if err := d.sup.Start(ctx, children); err != nil {
		d.sup.Stop(2 * time.Second)
		l.Close()
		d.authz.Close()
		return nil, err
	}
	d.srv = st.RouterServer(r, d.authz)
	go func() { d.done <- d.srv.Serve(l) }()
	if d.entries, err = StartEntries(ctx, st, r, d.authz); err != nil {
		d.Stop()
		return nil, err
	}
	return d, nil
}

// child returns how to start service b as a child of this process.
func (st *Settings) child(exe string, b router.Backend) supervisor.Child {
	args := []string{exe, "serve", b.Name,
		"--socket", b.Socket,
		"--router-uid", strconv.Itoa(os.Geteuid()),
		"--router-pid", strconv.Itoa(os.Getpid()),
		"--owner-uid", strconv.Itoa(st.OwnerUID),
		"--state-dir", st.StateDir(),
	}
	if st.SystemPath != "" {
		args = append(args, "--config", st.SystemPath)
	}
	if st.OwnerPath != "" {
		args = append(args, "--owner-config", st.OwnerPath)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	keep := []string{"CARAPACE_LOG", "CARAPACE_CPUPROFILE", "GOMAXPROCS", managed.EnvPath}
	if b.Name == "shell" || b.Name == "app" {
		// They act in the owner's desktop session: notifications, GUI apps.
		keep = append(keep, sessionEnv...)
	}
	for _, k := range keep {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return supervisor.Child{Name: b.Name, Path: exe, Args: args, Socket: b.Socket, Env: env}
}

// sessionEnv names the desktop session's variables the shell and app
// services need; the others get none of them.
var sessionEnv = []string{"DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "XDG_RUNTIME_DIR",
	"DBUS_SESSION_BUS_ADDRESS", "XDG_DATA_DIRS", "XDG_DATA_HOME", "XDG_CURRENT_DESKTOP", "SHELL", "USER", "LOGNAME"}

// Stop stops serving and every child, and removes the sockets.
func (d *Dev) Stop() {
	d.entries.Close()
	d.srv.Close()
	d.sup.Stop(5 * time.Second)
	d.authz.Close()
	os.Remove(d.Socket)
}

// RouterServer returns the router's server: the configured limits, and
// new connections rate-limited.
func (st *Settings) RouterServer(r *router.Router, z *Authz) *rpcserver.Server {
	return &rpcserver.Server{Dispatcher: r, Limits: st.Limits(), Log: st.Log,
		Accept: func(rpcserver.ConnInfo) error { return z.Auth.Limiter.Conn() }}
}

// Done receives the router's serve error when it stops on its own.
func (d *Dev) Done() <-chan error { return d.done }

// serviceStatus is the supervisor's state of a service, as the router's
// `services` method shows it.
func (d *Dev) serviceStatus(name string) router.Status {
	c := d.sup.Status(name)
	if !c.Known {
		return router.Status{Name: name}
	}
	st := router.Status{Name: name, Enabled: true, Up: c.Up, Socket: c.Socket, PID: c.PID, Restarts: c.Restarts, Error: c.Err}
	if !c.Since.IsZero() {
		st.Since = c.Since.UTC().Format(time.RFC3339)
	}
	return st
}

// OwnerUID resolves the configured owner (a name or a uid), defaulting to
// the current user.
func OwnerUID(owner string) (int, error) {
	if owner == "" {
		return os.Geteuid(), nil
	}
	if n, err := strconv.Atoi(owner); err == nil {
		return n, nil
	}
	u, err := user.Lookup(owner)
	if err != nil {
		return 0, errs.E("owner "+owner, errs.NotFound, errs.Hint("set owner in the system config to an existing user"), err)
	}
	return strconv.Atoi(u.Uid)
}
