package rpcserver

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/service"
)

// Mux is a Dispatcher over a route table: each request runs its handler in
// its own goroutine, so a slow method never holds up the connection.
type Mux struct {
	Table *service.Table
	// Caller fills a call's Caller from the session and the request. When
	// nil, the Caller carries the session's peer credentials only.
	Caller func(s *Session, req *jsonrpc.Request) (service.Caller, error)

	once    sync.Once
	workers *workers
	calls   sync.Map // callKey -> context.CancelFunc of a request in flight
}

// callKey names a request in flight: its session and id.
type callKey struct {
	s  *Session
	id string
}

// Dispatch implements Dispatcher. jsonrpc.CancelMethod cancels the
// context of the session's request it names.
func (m *Mux) Dispatch(s *Session, req *jsonrpc.Request, done func(*jsonrpc.Response)) {
	if req.Method == jsonrpc.CancelMethod {
		var p jsonrpc.CancelParams
		if json.Unmarshal(req.Params, &p) == nil {
			if cancel, ok := m.calls.Load(callKey{s, string(p.ID)}); ok {
				cancel.(context.CancelFunc)()
			}
		}
		done(nil)
		return
	}
	h, ok := m.Table.Lookup(req.Method)
	if !ok {
		done(&jsonrpc.Response{Error: methodNotFound(req.Method)})
		return
	}
	m.once.Do(func() { m.workers = newWorkers() })
	m.workers.run(func() {
		if req.IsNotification() {
			done(m.run(s.Context(), s, req, h))
			return
		}
		ctx, cancel := context.WithCancel(s.Context())
		key := callKey{s, string(req.ID)}
		m.calls.Store(key, cancel)
		resp := m.run(ctx, s, req, h)
		m.calls.Delete(key)
		cancel()
		done(resp)
	})
}

func methodNotFound(method string) *jsonrpc.Error {
	d, _ := json.Marshal(map[string]string{"reason": string(errs.ReasonNoMethod), "method": method,
		"hint": "run `carapace call rpc.methods` for the list, or check the spelling"})
	return &jsonrpc.Error{Code: int(errs.NoMethod), Message: errs.NoMethod.String(), Data: d}
}

// MethodNotFound returns the -32601 error object for method.
func MethodNotFound(method string) *jsonrpc.Error { return methodNotFound(method) }

func (m *Mux) run(ctx context.Context, s *Session, req *jsonrpc.Request, h service.Handler) (resp *jsonrpc.Response) {
	defer func() {
		if p := recover(); p != nil {
			s.srv.log().Error("handler panicked", "method", req.Method, "panic", p)
			resp = &jsonrpc.Response{Error: jsonrpc.NewError(errs.Internal, errs.ReasonInternal, "")}
		}
	}()
	call := &service.Call{Method: req.Method, Params: req.Params}
	if m.Caller != nil {
		c, err := m.Caller(s, req)
		if err != nil {
			return &jsonrpc.Response{Error: jsonrpc.ErrorFrom(err)}
		}
		call.Caller = c
	} else {
		ci := s.Info()
		call.Caller = service.Caller{UID: ci.Creds.UID, GID: ci.Creds.GID, PID: ci.Creds.PID, Via: ci.Via}
	}
	if !req.IsNotification() {
		call.Notify = notifier(s, req)
	}
	res, err := h(ctx, call)
	if err != nil {
		return &jsonrpc.Response{Error: jsonrpc.ErrorFrom(err)}
	}
	if fr, ok := res.(FileResult); ok {
		return &jsonrpc.Response{Result: encodeResult(fr.Result()), File: fr.File()}
	}
	return &jsonrpc.Response{Result: encodeResult(res)}
}

// notifier returns a function that sends a notification tied to req: on the
// service hop the request's Re is the router's id, which the router maps
// back to its caller.
func notifier(s *Session, req *jsonrpc.Request) func(string, any) error {
	return func(method string, params any) error {
		p, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("notify %s: %w", method, err)
		}
		return s.SendRaw(jsonrpc.AppendRequest(nil, &jsonrpc.Request{Method: method, Params: p, Re: req.ID}))
	}
}

func encodeResult(v any) json.RawMessage {
	switch v := v.(type) {
	case nil:
		return json.RawMessage("null")
	case json.RawMessage:
		return jsonrpc.Compact(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"marshal_error": err.Error()})
	}
	return b
}
