package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/managed"
	"github.com/gimme-tools/carapace/core/router"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/servicehost"
	"github.com/gimme-tools/carapace/core/stack"
	"github.com/gimme-tools/carapace/core/supervisor"
	"github.com/gimme-tools/carapace/core/unixsock"
	"github.com/gimme-tools/carapace/linux/sdlisten"
)

// serveFlags are `carapace serve`'s flags.
type serveFlags struct {
	cf         configFlags
	socket     string
	socketMode string
	routerUID  int
	routerPID  int
	ownerUID   int
	runtimeDir string
	mach       string
	stateDir   string
}

func serveCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace serve", flag.ContinueOnError)
	var f serveFlags
	f.cf.register(fs, config.DefaultSystemPath)
	fs.StringVar(&f.socket, "socket", "", "socket to listen on (default: <runtime dir>/<service>.sock)")
	fs.StringVar(&f.socketMode, "socket-mode", "", "socket permissions, octal (default 0600; router 0660)")
	fs.IntVar(&f.routerUID, "router-uid", -1, "services: the only uid allowed to connect (default: user _gimme_router, else our own uid)")
	fs.IntVar(&f.routerPID, "router-pid", 0, "services: also require this peer pid (dev mode)")
	fs.IntVar(&f.ownerUID, "owner-uid", -1, "the owner's uid (default: from the system config)")
	fs.StringVar(&f.runtimeDir, "runtime-dir", "", "runtime directory (default: the config's runtime_dir, else /run/gimme)")
	fs.StringVar(&f.mach, "mach-service", "", "macOS: listen on this launchd Mach service over XPC instead of a socket")
	fs.StringVar(&f.stateDir, "state-dir", "", "state directory: device key, revocations, audit log (default: the config's state_dir, else "+stack.DefaultStateDir+")")
	return &ffcli.Command{
		Name:       "serve",
		ShortUsage: "carapace serve router|file|code|shell|app [flags]",
		ShortHelp:  "run one Carapace process (what systemd, launchd and `carapace dev` start)",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			// Accept flags after the service name too (`serve code --socket P`),
			// as launchd plists and unit files write them.
			if len(args) > 1 {
				if err := fs.Parse(args[1:]); err != nil {
					return usage("see `carapace serve --help`", "%v", err)
				}
				args = append(args[:1], fs.Args()...)
			}
			if len(args) != 1 {
				return usage("name one of: router, file, code, shell, app", "serve needs exactly one service name")
			}
			if args[0] == "router" {
				return serveRouter(ctx, &f)
			}
			return serveService(ctx, &f, args[0])
		},
	}
}

func (f *serveFlags) settings() (*stack.Settings, error) {
	st, err := f.cf.load(true)
	if err != nil {
		return nil, err
	}
	if f.ownerUID >= 0 {
		st.OwnerUID = f.ownerUID
	}
	st.RuntimeDir = f.runtimeDir
	if st.RuntimeDir == "" {
		st.RuntimeDir = st.System.RuntimeDir
	}
	if st.RuntimeDir == "" {
		st.RuntimeDir = "/run/gimme"
	}
	st.StateDirFlag = f.stateDir
	return st, nil
}

func (f *serveFlags) mode(def os.FileMode) (os.FileMode, error) {
	if f.socketMode == "" {
		return def, nil
	}
	m, err := strconv.ParseUint(f.socketMode, 8, 32)
	if err != nil || m > 0o777 {
		return 0, usage("give an octal mode such as 0660", "bad --socket-mode %q", f.socketMode)
	}
	return os.FileMode(m), nil
}

// serveService runs one capability service until ctx ends.
func serveService(ctx context.Context, f *serveFlags, name string) error {
	op := "serve " + name
	if service.Lookup(name) == nil { // linux/install's ProbeServices reads "not in this build"
		return errs.E(op, errs.E(errs.InvalidParams, errs.ReasonUnknownService,
			errs.Hint("the "+name+" service is not in this build; services are: "+strings.Join(service.Names(), ", "))))
	}
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(stack.ServiceProcs(name, runtime.GOMAXPROCS(0)))
	}
	if stack.ServiceGC(name) {
		if _, set := os.LookupEnv("GOGC"); !set {
			debug.SetGCPercent(stack.ServiceGCPercent)
		}
		if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
			debug.SetMemoryLimit(stack.ServiceMemoryLimit)
		}
	}
	defer cpuProfile("." + name)()
	st, err := f.settings()
	if err != nil {
		return errs.E(op, err)
	}
	if err := st.Managed.Err(name); err != nil {
		// Never started with the looser layer below the policy.
		return errs.E(op, errs.E(errs.Unavailable, managed.ReasonInvalid,
			errs.Hint("the managed policy stops the "+name+" service until the entry named above is fixed (by whoever manages this machine)"), err))
	}
	if !st.Managed.Allows(name) {
		return errs.E(op, errs.E(errs.Forbidden, managed.ReasonService,
			errs.Hint("the managed policy ("+st.Managed.Source+") does not allow the "+name+" service on this machine; ask whoever manages it"),
			fmt.Errorf("%s is not among the managed services", name)))
	}
	sock := f.socket
	if sock == "" {
		sock = stack.ServiceSocket(st.RuntimeDir, name)
	}
	// The token check reads the device's public key and the issuers' keys
	// now, before the service confines itself.
	auth, err := stack.ServiceAuthorizer(name, st)
	if err != nil {
		return errs.E(op, err)
	}
	// The service confines itself here, before it listens: from now on it
	// can touch only what its job needs (and its socket's directory).
	svc, err := stack.NewService(name, st, filepath.Dir(sock), auth)
	if err != nil {
		return errs.E(op, err)
	}
	if c, ok := svc.(io.Closer); ok {
		defer c.Close() // the code service's waiting sandbox helper, the file service's folders
	}
	mode, err := f.mode(0o600)
	if err != nil {
		return err
	}
	l, err := f.listen(name, sock, mode)
	if err != nil {
		return errs.E(op, err)
	}
	routerUID := f.routerUID
	if routerUID < 0 {
		routerUID = uidOf("_gimme_router", os.Geteuid())
	}
	h := servicehost.New(svc, servicehost.Options{RouterUID: routerUID, RouterPID: f.routerPID, Log: st.Log, Authorize: auth})
	return serveUntilDone(ctx, op, l, h.Serve, h.Close, st, appeared(ctx, svc))
}

// serveRouter runs the router of an installed stack: services are separate
// units, reached at their sockets in the runtime directory.
func serveRouter(ctx context.Context, f *serveFlags) error {
	const op = "serve router"
	st, err := f.settings()
	if err != nil {
		return errs.E(op, err)
	}
	sock := f.socket
	if sock == "" {
		sock = stack.RouterSocket(st.RuntimeDir)
	}
	mode, err := f.mode(0o660)
	if err != nil {
		return err
	}
	l, err := f.listen("router", sock, mode)
	if err != nil {
		return errs.E(op, err)
	}
	if g, err := user.LookupGroup("carapace-clients"); err == nil {
		if gid, err := strconv.Atoi(g.Gid); err == nil {
			os.Chown(sock, -1, gid)
		}
	}
	z, err := stack.NewAuthz(st)
	if err != nil {
		l.Close()
		return errs.E(op, err)
	}
	defer z.Close()
	r := router.New(router.Options{OwnerUID: st.OwnerUID, Backends: st.Backends(), Log: st.Log, Auth: z.Auth, Dial: dialBackend})
	srv := st.RouterServer(r, z)
	stopHUP := reloadOnHUP(r, st.Log)
	defer stopHUP()
	entries, err := stack.StartEntries(ctx, st, r, z)
	if err != nil {
		l.Close()
		return errs.E(op, err)
	}
	defer entries.Close()
	return serveUntilDone(ctx, op, l, srv.Serve, srv.Close, st, nil)
}

// listen returns the listener for name: the Mach service on macOS when
// --mach-service is given, else systemd's socket when activated, else a
// socket of our own.
func (f *serveFlags) listen(name, sock string, mode os.FileMode) (net.Listener, error) {
	if f.mach != "" {
		return machListener(f.mach, name)
	}
	return sdlisten.Listen(name, sock, mode, unixsock.Listen)
}

// serveUntilDone serves on l, reports readiness (to a dev supervisor's
// pipe and to systemd), and stops cleanly when ctx ends.
// A folder sent on appeared ends the process with an error, so that its
// supervisor (carapace dev, systemd's Restart=on-failure) starts it again
// around the new folder.
func serveUntilDone(ctx context.Context, op string, l net.Listener, serve func(net.Listener) error, stop func() error, st *stack.Settings, appeared <-chan string) error {
	done := make(chan error, 1)
	go func() { done <- serve(l) }()
	notifyReady()
	st.Log.Info("serving", "op", op, "socket", l.Addr().String(), "pid", os.Getpid())
	select {
	case <-ctx.Done():
		// Closing the listener unlinks a socket we made ourselves
		// (unixsock); a socket systemd passed us stays: it is systemd's.
		stop()
		return nil
	case err := <-done:
		return errs.E(op, err)
	case p := <-appeared:
		st.Log.Info("a configured folder appeared; restarting to take it in", "op", op, "folder", p)
		stop()
		return errs.E(op, errs.E(errs.Unavailable, errs.ReasonFolderAppeared,
			errs.Hint("the supervisor starts the service again with "+p), fmt.Errorf("%s appeared", p)))
	}
}

// folderPoll is how often a service checks whether a configured folder
// that was missing at start has appeared.
const folderPoll = 2 * time.Second

// appeared returns the channel on which svc says that a configured folder
// missing at start has appeared (nil for a service without folders).
func appeared(ctx context.Context, svc service.Service) <-chan string {
	w, ok := svc.(interface {
		WatchMissing(context.Context, time.Duration) <-chan string
	})
	if !ok {
		return nil
	}
	return w.WatchMissing(ctx, folderPoll)
}

// notifyReady tells whoever started us that we are serving.
func notifyReady() {
	if fdStr := os.Getenv(supervisor.ReadyFDEnv); fdStr != "" {
		if fd, err := strconv.Atoi(fdStr); err == nil {
			f := os.NewFile(uintptr(fd), "ready")
			fmt.Fprintln(f, "READY=1")
			f.Close()
		}
	}
	daemon.SdNotify(false, daemon.SdNotifyReady)
}

// uidOf returns the uid of a user, or def when there is none.
func uidOf(name string, def int) int {
	u, err := user.Lookup(name)
	if err != nil {
		return def
	}
	n, err := strconv.Atoi(u.Uid)
	if err != nil {
		return def
	}
	return n
}

// The shell service shows approval requests through the platform's
// desktop notifications (platform_*.go).
func init() { stack.Desktop = desktopNotifier }
