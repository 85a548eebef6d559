// Package mux runs service handlers for JSON-RPC requests. Mux is the
// rpcserver.Dispatcher a service serves its route table with; Run is the
// one handler runner, which the router's own methods use too, so a
// handler's outcome reaches a caller the same way wherever it runs: its
// result as the response's result (compacted to one line, with its
// descriptor for a service.FileResult), its error as errs.Kind says, and a
// panic or a result that cannot be encoded as an internal error (-32603).
package mux

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
)

// Mux is a Dispatcher over a route table: each request runs its handler on
// a worker of its own, so a slow method never holds up the connection.
type Mux struct {
	Table *service.Table
	// Caller fills a call's Caller from the session and the request. When
	// nil, the Caller carries the session's peer credentials only.
	Caller func(s *rpcserver.Session, req *jsonrpc.Request) (service.Caller, error)
	// Log receives handler panics and unencodable results (default
	// slog.Default()).
	Log *slog.Logger

	once    sync.Once
	workers *workers

	mu    sync.Mutex
	calls map[callKey]*callCtx // requests in flight, for jsonrpc.CancelMethod
}

// callKey names a request in flight: its session and id. An id that fits
// in short (every id the router sends) is kept there, so recording a call
// allocates nothing; a longer one is kept in long.
type callKey struct {
	s     *rpcserver.Session
	n     int
	short [24]byte
	long  string
}

func keyOf(s *rpcserver.Session, id json.RawMessage) callKey {
	k := callKey{s: s, n: len(id)}
	if len(id) <= len(k.short) {
		copy(k.short[:], id)
	} else {
		k.long = string(id)
	}
	return k
}

// Dispatch implements rpcserver.Dispatcher. jsonrpc.CancelMethod cancels
// the context of the session's request it names.
func (m *Mux) Dispatch(s *rpcserver.Session, req *jsonrpc.Request, done func(*jsonrpc.Response)) {
	if req.Method == jsonrpc.CancelMethod {
		var p jsonrpc.CancelParams
		if json.Unmarshal(req.Params, &p) == nil {
			m.cancel(keyOf(s, p.ID))
		}
		done(nil)
		return
	}
	h, ok := m.Table.Lookup(req.Method)
	if !ok {
		done(&jsonrpc.Response{Error: rpcserver.MethodNotFound(req.Method)})
		return
	}
	m.once.Do(func() { m.workers = newWorkers() })
	m.workers.run(func() { done(m.serve(s, req, h)) })
}

// serve runs h for req, with a context a $/cancelRequest can cancel.
func (m *Mux) serve(s *rpcserver.Session, req *jsonrpc.Request, h service.Handler) *jsonrpc.Response {
	call, err := m.call(s, req)
	if err != nil {
		return &jsonrpc.Response{Error: jsonrpc.ErrorFrom(err)}
	}
	if req.IsNotification() {
		return Run(s.Context(), h, call, m.log())
	}
	ctx := &callCtx{Context: s.Context()}
	k := keyOf(s, req.ID)
	m.mu.Lock()
	if m.calls == nil {
		m.calls = map[callKey]*callCtx{}
	}
	m.calls[k] = ctx
	m.mu.Unlock()
	resp := Run(ctx, h, call, m.log())
	m.mu.Lock()
	if m.calls[k] == ctx {
		delete(m.calls, k)
	}
	m.mu.Unlock()
	ctx.cancel() // releases what Done made
	return resp
}

func (m *Mux) cancel(k callKey) {
	m.mu.Lock()
	c := m.calls[k]
	m.mu.Unlock()
	if c != nil {
		c.cancel()
	}
}

// call is the service.Call for req.
func (m *Mux) call(s *rpcserver.Session, req *jsonrpc.Request) (*service.Call, error) {
	call := &service.Call{Method: req.Method, Params: req.Params}
	if m.Caller != nil {
		c, err := m.Caller(s, req)
		if err != nil {
			return nil, err
		}
		call.Caller = c
	} else {
		ci := s.Info()
		call.Caller = service.Caller{UID: ci.Creds.UID, GID: ci.Creds.GID, PID: ci.Creds.PID, Via: ci.Via}
	}
	if !req.IsNotification() {
		call.Notify = notifier(s, req)
	}
	return call, nil
}

func (m *Mux) log() *slog.Logger {
	if m.Log == nil {
		return slog.Default()
	}
	return m.Log
}

// notifier returns a function that sends a notification tied to req: on the
// service hop the request's Re is the router's id, which the router maps
// back to its caller.
func notifier(s *rpcserver.Session, req *jsonrpc.Request) func(string, any) error {
	return func(method string, params any) error {
		p, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("notify %s: %w", method, err)
		}
		return s.SendRaw(jsonrpc.AppendRequest(nil, &jsonrpc.Request{Method: method, Params: p, Re: req.ID}))
	}
}

// Run calls h and returns the response to call's request: the result,
// compacted to one line, with its descriptor for a service.FileResult; or
// h's error, coded by its errs.Kind. A handler that panics, or whose
// result encoding/json cannot encode, gets an internal error (-32603), and
// log says why.
func Run(ctx context.Context, h service.Handler, call *service.Call, log *slog.Logger) (resp *jsonrpc.Response) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("handler panicked", "method", call.Method, "panic", p)
			resp = &jsonrpc.Response{Error: jsonrpc.NewError(errs.Internal, errs.ReasonInternal, "")}
		}
	}()
	res, err := h(ctx, call)
	if err != nil {
		return &jsonrpc.Response{Error: jsonrpc.ErrorFrom(err)}
	}
	var file *os.File
	if fr, ok := res.(service.FileResult); ok {
		res, file = fr.Result(), fr.File()
	}
	b, err := encode(res)
	if err != nil {
		if file != nil {
			file.Close()
		}
		log.Error("handler result not encodable", "method", call.Method, "err", err)
		return &jsonrpc.Response{Error: jsonrpc.ErrorFrom(errs.E(call.Method, errs.Internal, errs.ReasonInternal, err))}
	}
	return &jsonrpc.Response{Result: b, File: file}
}

// encode is a result's JSON: a json.RawMessage as it is, but on one line.
func encode(v any) (json.RawMessage, error) {
	switch v := v.(type) {
	case nil:
		return json.RawMessage("null"), nil
	case json.RawMessage:
		return jsonrpc.Compact(v), nil
	}
	return json.Marshal(v)
}
