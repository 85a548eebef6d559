package router

import (
	"context"
	"encoding/json"

	"github.com/gimme-tools/carapace/core/service"
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

func (r *Router) whoami(ctx context.Context, c *service.Call) (any, error) {
	res := whoamiResult{
		User: r.self.user, UID: r.self.uid,
		CallerUID: c.Caller.UID, CallerGID: c.Caller.GID, CallerPID: c.Caller.PID,
		Owner: c.Caller.Owner, Via: c.Caller.Via, Audiences: []string{},
	}
	if a := r.opts.Auth; a != nil {
		res.DeviceID = a.Verifier.DeviceID()
	}
	if s := session(ctx); s != nil {
		res.Audiences = r.state(s).audiences()
	}
	return res, nil
}

// services lists every service with its state.
func (r *Router) services(context.Context, *service.Call) (any, error) {
	out := make([]Status, 0, len(ServiceNames))
	for _, name := range ServiceNames {
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
		}
		out = append(out, st)
	}
	res := map[string]any{"services": out}
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
	for _, n := range ServiceNames {
		if b, ok := r.back[n]; ok && b.Enabled {
			svcs = append(svcs, n+".*")
		}
	}
	return map[string]any{"router": own, "services": svcs, "aliases": aliases}, nil
}
