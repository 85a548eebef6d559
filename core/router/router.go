// Package router is Carapace's router: it answers its own methods (ping,
// echo, whoami, services), decides whether a caller may reach a service,
// and forwards `<service>.<op>` requests to that service's process over a
// pool of multiplexed connections.
//
// Identity is recorded once per connection (rpcserver.ConnInfo), tokens
// when the connection calls auth; the permission check is the first thing
// done for every forwarded call (Router.authorize): a valid token for the
// service's audience whose scope covers what the call touches.
//
// The router alone writes the audit log: its own decisions, and the
// services' — a refusal in an answer, and each service.DecisionNote a
// service sends about a call (the command policy's verdict, the owner's
// approval) — each as its own record under the call's router record.
package router

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/mux"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
)

// Backend describes one service as the router reaches it.
type Backend struct {
	Name    string
	Enabled bool
	Socket  string // the service's Unix socket
	// Why is shown when the service is not enabled.
	Why string
	// Unconfined says what of the service runs without the OS's
	// confinement, and why (core/stack.Unconfined); "" when nothing does.
	Unconfined string
}

// Status is a service's run state as reported by a supervisor.
type Status struct {
	Name     string `json:"name"`
	Enabled  bool   `json:"enabled"`
	Up       bool   `json:"up"`
	Socket   string `json:"socket,omitempty"`
	PID      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts"`
	Since    string `json:"since,omitempty"` // RFC 3339, when it last came up
	Error    string `json:"error,omitempty"` // why it last went down
	// Unconfined is Backend.Unconfined, for carapace status and doctor.
	Unconfined string `json:"unconfined,omitempty"`
}

// Options configures a Router.
type Options struct {
	// OwnerUID is the uid the stack runs for: the only peer that may mint
	// tokens (token.issue) and reconfigure the router.
	OwnerUID int
	// Auth verifies tokens, audits and rate-limits; nil refuses every
	// service call.
	Auth     *Auth
	Backends []Backend
	// PoolSize is the number of connections per service (default
	// DefaultPoolSize).
	PoolSize int
	// Status reports services' run state; nil means "up if enabled".
	Status func(name string) Status
	// Dial connects to a service socket (default: a Unix dial).
	Dial func(ctx context.Context, socket string) (net.Conn, error)
	Log  *slog.Logger
}

// Router implements rpcserver.Dispatcher.
type Router struct {
	opts    Options
	entries atomic.Value // func() any: the network entries' status
	own     service.Table
	pools   map[string]*pool
	back    map[string]Backend
	self    selfInfo
	limits  limitLog // rate-limit refusals written to the audit log
}

type selfInfo struct {
	user string
	uid  int
}

// DefaultPoolSize returns the default number of connections to each
// service: one per two processors, at least one. Each connection is read
// by one goroutine at each end, and calls are spread over the connections,
// so connections beyond what can run in parallel only split the batches
// that share one write(2), one read and one audit write (measure a change
// with `go run ./internal/bench -only d -baseline <old build>`).
func DefaultPoolSize() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// New returns a Router.
func New(opts Options) *Router {
	if opts.PoolSize <= 0 {
		opts.PoolSize = DefaultPoolSize()
	}
	if opts.Dial == nil {
		opts.Dial = func(ctx context.Context, socket string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}
	}
	r := &Router{opts: opts, pools: map[string]*pool{}, back: map[string]Backend{}}
	for _, b := range opts.Backends {
		r.back[b.Name] = b
		if b.Enabled {
			r.pools[b.Name] = &pool{name: b.Name, socket: b.Socket, size: opts.PoolSize, dial: opts.Dial}
		}
	}
	r.self.uid = os.Geteuid()
	r.self.user = strconv.Itoa(r.self.uid)
	if u, err := user.LookupId(r.self.user); err == nil {
		r.self.user = u.Username
	}
	r.registerOwn()
	return r
}

func (r *Router) log() *slog.Logger {
	if r.opts.Log == nil {
		return slog.Default()
	}
	return r.opts.Log
}

// inlineOwn are the router's own methods answered on the connection's
// reading goroutine: quick, and nothing that waits on a disk or a service.
var inlineOwn = map[string]bool{"auth": true, "echo": true, "ping": true, "rpc.methods": true, "services": true, "whoami": true}

// aliases maps the original gateway's methods onto service methods.
var aliases = map[string]string{
	"execute": "code.execute",
}

// Dispatch implements rpcserver.Dispatcher.
func (r *Router) Dispatch(s *rpcserver.Session, req *jsonrpc.Request, done func(*jsonrpc.Response)) {
	if req.Method == jsonrpc.CancelMethod {
		// A caller may cancel only its own requests: they are looked up
		// by this session.
		var p jsonrpc.CancelParams
		if json.Unmarshal(req.Params, &p) == nil && len(p.ID) > 0 {
			for _, pl := range r.pools {
				pl.cancel(s, p.ID)
			}
		}
		done(nil)
		return
	}
	if ownerOnlyMethod(req.Method) {
		err := r.ownerOnly(s.Info(), req.Method)
		if err == nil && r.state(s).frontDoor() != "" {
			// A connection that declared a front door (carapace mcp) is
			// an agent's, whatever its uid: on macOS nothing but this
			// keeps an MCP agent from minting or approving through it.
			err = errs.E(req.Method, errs.Forbidden, errs.ReasonNotOwner,
				errs.Hint("a connection that declared itself "+r.state(s).frontDoor()+" (an agent's front door) is never the owner's; run the owner's commands from your own terminal"))
		}
		if err != nil {
			done(&jsonrpc.Response{Error: jsonrpc.ErrorFrom(r.refuse(s, req.Method, err))})
			return
		}
	}
	if strings.HasPrefix(req.Method, "approvals.") || strings.HasPrefix(req.Method, "secrets.") {
		r.forwardApproval(s, req, done)
		return
	}
	if h, ok := r.own.Lookup(req.Method); ok {
		if err := r.remoteOwn(s, req.Method); err != nil {
			done(&jsonrpc.Response{Error: jsonrpc.ErrorFrom(r.refuse(s, req.Method, err))})
			return
		}
		if inlineOwn[req.Method] {
			// Inline, on the reading goroutine. For auth: a call sent
			// right after it on the same connection (pipelined, without
			// waiting for the answer) is then decided with the new token.
			// For the cheap methods: a client pipelining thousands of
			// pings is answered in order and never runs into the
			// in-flight limit, which is for work that takes time.
			done(r.runOwn(s, req, h))
			return
		}
		go func() { done(r.runOwn(s, req, h)) }()
		return
	}
	method := req.Method
	if m, ok := aliases[method]; ok {
		method = m
	}
	svc, _, ok := strings.Cut(method, ".")
	if !ok {
		done(&jsonrpc.Response{Error: rpcserver.MethodNotFound(req.Method)})
		return
	}
	b, known := r.back[svc]
	if !known {
		done(&jsonrpc.Response{Error: rpcserver.MethodNotFound(req.Method)})
		return
	}
	if !b.Enabled {
		done(&jsonrpc.Response{Error: jsonrpc.ErrorFrom(notEnabled(b))})
		return
	}
	g, err := r.authorize(s, svc, method, req.Params)
	if err != nil {
		done(&jsonrpc.Response{Error: jsonrpc.ErrorFrom(err)})
		return
	}
	fwd := *req
	fwd.Method = method
	r.cancelOnClose(s)
	r.pools[svc].forward(s, &fwd, g, done)
}

// cancelOnClose makes the end of s cancel every call it still has at a
// service: a caller that is killed, or drops its connection, leaves no
// command running for an answer nobody will read. Registered once per
// session, at its first forwarded call.
func (r *Router) cancelOnClose(s *rpcserver.Session) {
	if r.state(s).cancels.CompareAndSwap(false, true) {
		s.OnClose(func() {
			for _, pl := range r.pools {
				pl.cancelSession(s)
			}
		})
	}
}

// forwardApproval passes the owner's approvals.list and approvals.decide
// to the shell service, which keeps the queue, and the owner's
// secrets.<op> (a credential route's secret, docs/secrets.md) to the code
// service's code.secrets.<op>. The owner check has already
// run (ownerOnly: the owner's uid, over the Unix socket or XPC, not
// sandboxed); the call carries no token, so nothing an agent holds can
// reach it, and the shell service checks the same again.
func (r *Router) forwardApproval(s *rpcserver.Session, req *jsonrpc.Request, done func(*jsonrpc.Response)) {
	// approvals.network.<op> are the code service's network questions
	// (ask mode, docs/network.md): code.approvals.<op>.
	svc, method := "shell", "shell."+req.Method
	if op, ok := strings.CutPrefix(req.Method, "approvals.network."); ok {
		svc, method = "code", "code.approvals."+op
	}
	if op, ok := strings.CutPrefix(req.Method, "secrets."); ok {
		svc, method = "code", "code.secrets."+op
	}
	b, ok := r.back[svc]
	if !ok || !b.Enabled {
		done(&jsonrpc.Response{Error: jsonrpc.ErrorFrom(notEnabled(backendNamed(b, svc)))})
		return
	}
	info := s.Info()
	caller, err := r.callerRecord(info, "")
	if err != nil {
		done(&jsonrpc.Response{Error: jsonrpc.ErrorFrom(errs.E(req.Method, errs.Internal, err))})
		return
	}
	fwd := *req
	fwd.Method = method
	g := grant{caller: caller}
	if a := r.opts.Auth; a != nil && a.Audit != nil {
		// The owner's decision is the shell service's to report (a
		// DecisionNote), written from this record: the owner's uid, pid
		// and entry.
		g.log = a.Audit
		g.call = callRecord{method: req.Method, start: time.Now()}
	}
	r.pools[svc].forward(s, &fwd, g, done)
}

// refuse records the router's refusal of one of its own methods (an
// owner-only method called by someone else, a remote caller without a
// token) and returns err. The rate limiter runs first, so a flood of
// refused calls costs at most one record a second per caller.
func (r *Router) refuse(s *rpcserver.Session, method string, err error) error {
	a := r.opts.Auth
	if a == nil {
		return err
	}
	start := time.Now()
	info := s.Info()
	rec := audit.Record{Time: start, Via: string(info.Via), UID: info.Creds.UID, PID: info.Creds.PID, Method: method, By: audit.ByRouter}
	if lerr := a.Limiter.Call(info.Creds.UID, ""); lerr != nil {
		return r.limited(rec, start, lerr)
	}
	return r.deny(rec, start, err)
}

// backendNamed names the backend for a not-enabled error even when
// the router has none by that name (a zero Backend).
func backendNamed(b Backend, name string) Backend {
	b.Name = name
	return b
}

func notEnabled(b Backend) error {
	hint := "enable it in ~/.config/gimme/local.yaml (services." + b.Name + ".enabled: true) and restart"
	if b.Why != "" {
		hint = b.Why
	}
	return errs.E(b.Name, errs.Unavailable, errs.ReasonNotEnabled, errs.Hint(hint))
}

// isOwner reports whether a peer is the owner: the owner's uid, over a
// local socket, and not a sandboxed process (a command the code service
// runs as the owner in dev mode must not inherit the owner's powers).
func (r *Router) isOwner(info rpcserver.ConnInfo) bool {
	return info.Creds.UID == r.opts.OwnerUID && !info.Creds.Confined && info.Via.Local()
}

// runOwn runs one of the router's own methods as a service runs its
// methods (mux.Run); the handler finds the session in its context.
func (r *Router) runOwn(s *rpcserver.Session, req *jsonrpc.Request, h service.Handler) *jsonrpc.Response {
	ci := s.Info()
	call := &service.Call{Method: req.Method, Params: req.Params,
		Caller: service.Caller{UID: ci.Creds.UID, GID: ci.Creds.GID, PID: ci.Creds.PID, Via: ci.Via,
			Owner: r.isOwner(ci)}}
	return mux.Run(r.state(s).ownCtx(s), h, call, r.log())
}

type sessionKey struct{}

// ServiceRestarted tells the router a service process was replaced, so its
// pooled connections are dropped at once instead of on their next failure.
func (r *Router) ServiceRestarted(name string) {
	if p := r.pools[name]; p != nil {
		p.reset()
	}
}
