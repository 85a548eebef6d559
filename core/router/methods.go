package router

import (
	"context"
	"encoding/json"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/token"
)

// registerOwn fills the router's own route table. Keep it sorted.
func (r *Router) registerOwn() {
	r.own.Register("auth", r.authToken)
	r.own.Register("config.reload", r.reload)
	r.own.Register("echo", r.echo)
	r.own.Register("ping", r.ping)
	r.own.Register("rpc.methods", r.methods)
	r.own.Register("services", r.services)
	r.own.Register("token.issue", r.issue)
	r.own.Register("token.list", r.listTokens)
	r.own.Register("token.revoke", r.revoke)
	r.own.Register("token.inspect", r.inspect)
	r.own.Register("whoami", r.whoami)
}

// ping answers {"pong": true}.
func (r *Router) ping(context.Context, *service.Call) (any, error) {
	return json.RawMessage(`{"pong":true}`), nil
}

// echo answers with its params, unchanged (by name or by position).
func (r *Router) echo(_ context.Context, c *service.Call) (any, error) {
	if c.Params == nil {
		return json.RawMessage(`{}`), nil
	}
	return c.Params, nil
}

// whoamiResult is whoami's answer: who the router runs as, this device,
// who the caller is as the kernel reported at connect, and the audiences
// the connection holds tokens for.
type whoamiResult struct {
	User      string   `json:"user"`
	UID       int      `json:"uid"`
	DeviceID  string   `json:"device_id,omitempty"`
	CallerUID int      `json:"caller_uid"`
	CallerGID int      `json:"caller_gid"`
	CallerPID int      `json:"caller_pid"`
	Owner     bool     `json:"owner"`
	Via       string   `json:"via"`
	Audiences []string `json:"audiences"`
}

// remoteWhoami is whoami's answer over the WebSocket and the relay, where
// the caller may be any local user or a web page: what its tokens give
// it, nothing about the owner, this machine or its processes.
type remoteWhoami struct {
	Via       string   `json:"via"`
	Owner     bool     `json:"owner"` // always false: nothing remote is the owner
	Audiences []string `json:"audiences"`
}

// remoteFree are the router methods a WebSocket or relay caller may call
// without a token: liveness, and auth, which is how it presents one.
var remoteFree = map[string]bool{"auth": true, "echo": true, "ping": true}

// remoteOwn refuses the router's methods other than ping, echo and auth to
// a WebSocket or relay connection that holds no token: whoami, services
// and rpc.methods would tell any local user or web page the owner's name,
// uid, device id, the services' pids and sockets.
func (r *Router) remoteOwn(s *rpcserver.Session, method string) error {
	if s.Info().Via.Local() || remoteFree[method] || len(r.state(s).audiences()) > 0 {
		return nil
	}
	return errs.E(method, errs.Unauthorized, errs.ReasonTokenRequired,
		errs.Hint("over the WebSocket and the relay only ping, echo and auth answer without a token; "+
			"present one (Authorization: Bearer, or auth {\"token\": …}) from `carapace token issue`, "+
			"or run `carapace "+method+"` on the machine itself"))
}

func (r *Router) whoami(ctx context.Context, c *service.Call) (any, error) {
	if !c.Caller.Via.Local() {
		res := remoteWhoami{Via: string(c.Caller.Via), Audiences: []string{}}
		if s := session(ctx); s != nil {
			res.Audiences = r.state(s).audiences()
		}
		return res, nil
	}
	res := whoamiResult{
		User: r.self.user, UID: r.self.uid,
		CallerUID: c.Caller.UID, CallerGID: c.Caller.GID, CallerPID: c.Caller.PID,
		Owner: c.Caller.Owner, Via: string(c.Caller.Via), Audiences: []string{},
	}
	if a := r.opts.Auth; a != nil {
		res.DeviceID = a.Verifier.DeviceID()
	}
	if s := session(ctx); s != nil {
		res.Audiences = r.state(s).audiences()
	}
	return res, nil
}

// remoteService is a service as a WebSocket or relay caller sees it: one
// its tokens open, and whether it is up — no pid, socket or error text.
type remoteService struct {
	Name string `json:"name"`
	Up   bool   `json:"up"`
}

// services lists every service with its state; a remote caller gets only
// the services its tokens open (remoteService).
func (r *Router) services(ctx context.Context, c *service.Call) (any, error) {
	if !c.Caller.Via.Local() {
		out := []remoteService{}
		if s := session(ctx); s != nil {
			for _, aud := range r.state(s).audiences() {
				name := token.ServiceFor(aud)
				b, ok := r.back[name]
				if !ok {
					continue
				}
				up := b.Enabled
				if r.opts.Status != nil && b.Enabled {
					up = r.opts.Status(name).Up
				}
				out = append(out, remoteService{Name: name, Up: up})
			}
		}
		return map[string]any{"services": out}, nil
	}
	out := make([]Status, 0, len(service.Registry))
	for _, name := range service.Names() {
		b, ok := r.back[name]
		if !ok {
			continue
		}
		st := Status{Name: name, Enabled: b.Enabled, Up: b.Enabled, Socket: b.Socket}
		if r.opts.Status != nil && b.Enabled {
			st = r.opts.Status(name)
		}
		if !b.Enabled {
			st.Up = false
			st.Error = "not enabled"
			if b.Why != "" {
				st.Error = b.Why
			}
		} else {
			st.Unconfined = b.Unconfined
		}
		out = append(out, st)
	}
	res := map[string]any{"services": out}
	if a := r.opts.Auth; a != nil && a.Audit != nil {
		if x := a.Audit.ExportStatus(); x != nil {
			res["audit_exports"] = x
		}
	}
	if f, ok := r.entries.Load().(func() any); ok {
		res["entries"] = f()
	}
	return res, nil
}

// SetEntries names the function that reports the network entries
// (WebSocket, relay) in `services`.
func (r *Router) SetEntries(f func() any) { r.entries.Store(f) }

// methods lists the router's own methods and the services' prefixes.
func (r *Router) methods(context.Context, *service.Call) (any, error) {
	own := r.own.Names()
	var svcs []string
	for _, n := range service.Names() {
		if b, ok := r.back[n]; ok && b.Enabled {
			svcs = append(svcs, n+".*")
		}
	}
	return map[string]any{"router": own, "services": svcs, "aliases": aliases}, nil
}
