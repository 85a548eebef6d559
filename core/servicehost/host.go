// Package servicehost serves one capability service on its own socket, in
// its own process. It accepts only the router as a peer (by uid, and in dev
// mode by pid as well), refusing anyone else at accept, and turns each
// forwarded request into a service.Call carrying the caller record the
// router attached.
package servicehost

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/mux"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
)

// Options configures a Host.
type Options struct {
	// RouterUID is the only uid allowed to connect.
	RouterUID int
	// RouterPID, when non-zero, is the only pid allowed to connect (dev
	// mode, where the router and the services share a uid).
	RouterPID int
	Limits    rpcserver.Limits
	Log       *slog.Logger
	// Authorize is checked before every call (the token must be valid for
	// the service's audience); a service also calls it with the verb and
	// resource of what it is about to touch. Nil refuses every call but
	// the owner's (OwnerCalls); tests of the host alone pass
	// service.AllowAll.
	Authorize Authorize
}

// Host serves a Service.
type Host struct {
	srv *rpcserver.Server
}

// OwnerCalls is implemented by a service with methods the router forwards
// for the owner alone and without a token (the shell service's approvals
// queue: a token must never be able to approve). The host does not
// token-check those; the service checks the caller record itself.
type OwnerCalls interface {
	OwnerCall(method string) bool
}

// New returns a Host for svc.
func New(svc service.Service, opts Options) *Host {
	var t service.Table
	auth := opts.Authorize
	if auth == nil {
		name := svc.Name()
		auth = func(c *service.Call, _, _ string) error { return service.NoAuthorizer(c.Method, name) }
	}
	wrap := func(h service.Handler) service.Handler { return guard(auth, h) }
	oc, _ := svc.(OwnerCalls)
	for name, h := range svc.Methods() {
		if oc != nil && oc.OwnerCall(name) {
			t.Register(name, h) // no token: the service checks the caller itself
			continue
		}
		t.Register(name, wrap(h))
	}
	// Every service answers <name>.ping and <name>.echo itself: health
	// checks and the router-to-service benchmark need a call that does no
	// work of its own.
	t.Register(svc.Name()+".ping", wrap(func(context.Context, *service.Call) (any, error) {
		return json.RawMessage(`{"pong":true}`), nil
	}))
	t.Register(svc.Name()+".echo", wrap(func(_ context.Context, c *service.Call) (any, error) {
		if c.Params == nil {
			return json.RawMessage(`{}`), nil
		}
		return c.Params, nil
	}))
	lim := opts.Limits.WithDefaults()
	// The router has already applied the callers' limits, and multiplexes
	// every caller over a few connections: one of them may carry a whole
	// message the router admitted, and as many calls at once as the router
	// admits in all (each of its connections, each with its own limit).
	lim.MaxMessage = 64 << 20
	lim.MaxInFlight = RouterInFlight(opts.Limits)
	srv := &rpcserver.Server{
		Dispatcher: &mux.Mux{Table: &t, Caller: (&callerCache{}).decode, Log: opts.Log},
		Limits:     lim,
		Log:        opts.Log,
		Accept:     onlyRouter(opts.RouterUID, opts.RouterPID),
		// The router multiplexes many callers over a few connections:
		// answers ready together leave in one write.
		BatchWrites: true,
		TrustedPeer: true, // Accept admits the router only
	}
	return &Host{srv: srv}
}

// RouterInFlight is how many calls one router connection may have in
// flight at a service: every call the router admits under lim (its
// connections times their in-flight limit), so a service never refuses
// what the router let through.
func RouterInFlight(lim rpcserver.Limits) int {
	lim = lim.WithDefaults()
	return lim.MaxConns * lim.MaxInFlight
}

// Serve serves on l until Close.
func (h *Host) Serve(l net.Listener) error { return h.srv.Serve(l) }

// Close stops serving.
func (h *Host) Close() error { return h.srv.Close() }

// onlyRouter refuses every peer but the router.
func onlyRouter(uid, pid int) rpcserver.AcceptFunc {
	return func(info rpcserver.ConnInfo) error {
		if info.Creds.UID != uid || (pid != 0 && info.Creds.PID != pid) {
			return errs.E("accept", errs.Forbidden, errs.ReasonNotRouter,
				errs.Hint("services accept only the router; connect to the router socket instead"),
				fmt.Errorf("peer %s is not the router (uid %d)", info.Creds, uid))
		}
		return nil
	}
}

// callerCache remembers decoded caller records: the router sends the same
// bytes for every call of a connection, so most calls skip the decode.
type callerCache struct {
	mu sync.Mutex
	m  map[string]service.Caller
}

func (cc *callerCache) decode(s *rpcserver.Session, req *jsonrpc.Request) (service.Caller, error) {
	cc.mu.Lock()
	c, ok := cc.m[string(req.Caller)]
	cc.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err := callerFromRouter(s, req)
	if err != nil {
		return c, err
	}
	cc.mu.Lock()
	if cc.m == nil || len(cc.m) >= 1024 {
		cc.m = map[string]service.Caller{}
	}
	cc.m[string(req.Caller)] = c
	cc.mu.Unlock()
	return c, nil
}

// callerFromRouter decodes the caller record the router attached.
func callerFromRouter(_ *rpcserver.Session, req *jsonrpc.Request) (service.Caller, error) {
	var c service.Caller
	if req.Caller == nil {
		return c, errs.E(req.Method, errs.Unauthorized, errs.ReasonNoCaller,
			errs.Hint("call services through the router"))
	}
	if err := json.Unmarshal(req.Caller, &c); err != nil {
		return c, errs.E(req.Method, errs.InvalidRequest, errs.ReasonBadCaller, err)
	}
	return c, nil
}
