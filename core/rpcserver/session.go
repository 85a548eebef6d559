package rpcserver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
)

// Session is one logical client: a connection, or one session multiplexed
// over a relay tunnel. Its identity (ConnInfo) is fixed when it starts.
type Session struct {
	srv    *Server
	info   ConnInfo
	ctx    context.Context
	cancel context.CancelFunc
	sink   sink

	inflight atomic.Int32
	pending  sync.WaitGroup // one per request handed to the dispatcher

	stateOnce sync.Once
	state     any

	closeOnce sync.Once
	mu        sync.Mutex
	onClose   []func()
}

// sink delivers encoded messages to the peer.
type sink interface {
	send(msg []byte) error
	// close stops the sink; with flush, what is queued is written first.
	close(flush bool)
}

func newSession(ctx context.Context, srv *Server, info ConnInfo, sk sink) *Session {
	ctx, cancel := context.WithCancel(ctx)
	return &Session{srv: srv, info: info, ctx: ctx, cancel: cancel, sink: sk}
}

// Info returns the peer's identity as recorded at accept.
func (s *Session) Info() ConnInfo { return s.info }

// Context is cancelled when the session ends.
func (s *Session) Context() context.Context { return s.ctx }

// State returns the dispatcher's per-session state, creating it with init on
// first use. It is how the router keeps a connection's tokens.
func (s *Session) State(init func() any) any {
	s.stateOnce.Do(func() { s.state = init() })
	return s.state
}

// OnClose registers f to run once when the session ends. If the session
// has already ended, f runs now.
func (s *Session) OnClose(f func()) {
	s.mu.Lock()
	if s.ctx.Err() == nil {
		s.onClose = append(s.onClose, f)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	f()
}

// Close ends the session at once, dropping unsent output.
func (s *Session) Close() { s.end(false) }

func (s *Session) end(flush bool) {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.cancel()
		fs := s.onClose
		s.onClose = nil
		s.mu.Unlock()
		for _, f := range fs {
			f()
		}
		s.sink.close(flush)
		s.srv.removeSession(s)
	})
}

// InFlight returns the number of requests being handled.
func (s *Session) InFlight() int { return int(s.inflight.Load()) }

// Notify sends a notification to the peer.
func (s *Session) Notify(method string, params json.RawMessage) error {
	return s.sink.send(jsonrpc.AppendRequest(nil, &jsonrpc.Request{Method: method, Params: params}))
}

// SendRaw sends one already-encoded message to the peer.
func (s *Session) SendRaw(msg []byte) error { return s.sink.send(msg) }

func (s *Session) sendResponse(r *jsonrpc.Response) {
	s.fdOrRefuse(r)
	var err error
	if r.File != nil {
		f := r.File
		r.File = nil
		err = s.sink.(fdSink).sendFD(jsonrpc.AppendResponse(nil, r), []*os.File{f})
	} else if ss, ok := s.sink.(*streamSink); ok {
		err = ss.sendResponse(r)
	} else {
		err = s.sink.send(jsonrpc.AppendResponse(nil, r))
	}
	if err != nil {
		s.Close()
	}
}

// sendError answers with a protocol-level error (null id unless known).
func (s *Session) sendError(id json.RawMessage, e *jsonrpc.Error) {
	s.sendResponse(&jsonrpc.Response{ID: id, Error: e})
}

// Handle processes one received message: a request, a notification or a
// batch. Responses are sent as they complete; a batch's go out together,
// in one array, in the order of its elements. A batch counts as one
// request against the in-flight limit.
func (s *Session) Handle(line []byte) {
	parse := jsonrpc.Parse
	if s.srv.TrustedPeer {
		parse = jsonrpc.ParseTrusted
	}
	msg, perr := parse(line)
	if perr != nil {
		s.sendError(nil, perr)
		return
	}
	if msg.Batch {
		if max := s.srv.limits().MaxBatch; len(msg.Items) > max {
			s.sendError(nil, jsonrpc.NewError(errs.TooLarge, errs.ReasonBatchTooLarge,
				fmt.Sprintf("send at most %d requests per batch", max)))
			return
		}
		if !s.acquire() {
			s.sendError(nil, s.tooManyInFlight())
			return
		}
		s.handleBatch(msg.Items)
		return
	}
	it := msg.Items[0]
	if it.Err != nil {
		s.sendError(it.ID, it.Err)
		return
	}
	if !s.acquire() {
		if !it.Req.IsNotification() {
			s.sendError(it.ID, s.tooManyInFlight())
		}
		return
	}
	c := &single{s: s, req: it.Req}
	s.dispatchDone(it.Req, c.done)
}

// single is one request that is not part of a batch: its completion, in
// one allocation.
type single struct {
	s    *Session
	req  *jsonrpc.Request
	once atomic.Bool
}

// done answers the request with r (the first time: a dispatcher that
// calls done twice has its second answer dropped), then frees its
// in-flight slot.
func (c *single) done(r *jsonrpc.Response) {
	if !c.once.CompareAndSwap(false, true) {
		closeFile(r)
		return
	}
	if c.req.IsNotification() {
		closeFile(r)
	} else {
		if r == nil {
			r = &jsonrpc.Response{}
		}
		r.ID = c.req.ID
		c.s.sendResponse(r)
	}
	c.s.release()
}

func (s *Session) acquire() bool {
	if int(s.inflight.Add(1)) > s.srv.limits().MaxInFlight {
		s.inflight.Add(-1)
		return false
	}
	s.pending.Add(1)
	return true
}

func (s *Session) release() {
	s.inflight.Add(-1)
	s.pending.Done()
}

func (s *Session) tooManyInFlight() *jsonrpc.Error {
	return jsonrpc.NewError(errs.RateLimited, errs.ReasonTooManyInFlight,
		fmt.Sprintf("at most %d requests may be in flight on one connection; wait for answers or open another connection",
			s.srv.limits().MaxInFlight))
}

// handleBatch dispatches a batch's valid elements and answers its invalid
// ones; the one in-flight slot the batch holds is released when every
// element is done.
func (s *Session) handleBatch(items []Item) {
	b := &batch{s: s}
	slots := make([]int, len(items))
	for i, it := range items {
		slots[i] = -1
		if it.Req == nil || !it.Req.IsNotification() {
			slots[i] = b.want
			b.want++
		}
	}
	b.out = make([][]byte, b.want)
	b.files = make([]*os.File, b.want)
	var left atomic.Int32
	left.Store(int32(len(items)))
	finish := func() {
		if left.Add(-1) == 0 {
			b.flush()
			s.release()
		}
	}
	for i, it := range items {
		slot := slots[i]
		switch {
		case it.Err != nil:
			b.out[slot] = jsonrpc.AppendResponse(nil, &jsonrpc.Response{ID: it.ID, Error: it.Err})
			finish()
		case slot < 0:
			s.dispatch(it.Req, func(r *jsonrpc.Response) { closeFile(r); finish() })
		default:
			s.dispatch(it.Req, func(r *jsonrpc.Response) {
				s.fdOrRefuse(r)
				b.files[slot] = r.File
				r.File = nil
				b.out[slot] = jsonrpc.AppendResponse(nil, r)
				finish()
			})
		}
	}
}

// Item is one element of a parsed message.
type Item = jsonrpc.Item

// batch gathers a batch's responses.
type batch struct {
	s     *Session
	want  int
	out   [][]byte
	files []*os.File // descriptors, by slot, passed with the array in order
}

// flush sends the gathered responses as one array; a batch of only
// notifications sends nothing.
func (b *batch) flush() {
	if b.want == 0 {
		return
	}
	n := 2
	for _, o := range b.out {
		n += len(o) + 1
	}
	msg := make([]byte, 0, n)
	msg = append(msg, '[')
	for i, o := range b.out {
		if i > 0 {
			msg = append(msg, ',')
		}
		msg = append(msg, o...)
	}
	msg = append(msg, ']')
	var files []*os.File
	for _, f := range b.files {
		if f != nil {
			files = append(files, f)
		}
	}
	var err error
	if len(files) > 0 {
		err = b.s.sink.(fdSink).sendFD(msg, files)
	} else {
		err = b.s.sink.send(msg)
	}
	if err != nil {
		b.s.Close()
	}
}

// dispatch hands req to the dispatcher. reply is called exactly once, with
// the response's id set to the request's.
func (s *Session) dispatch(req *jsonrpc.Request, reply func(*jsonrpc.Response)) {
	var once atomic.Bool
	done := func(r *jsonrpc.Response) {
		if !once.CompareAndSwap(false, true) {
			closeFile(r)
			return
		}
		if r == nil {
			r = &jsonrpc.Response{}
		}
		r.ID = req.ID
		reply(r)
	}
	s.dispatchDone(req, done)
}

// dispatchDone hands req to the dispatcher with done, which must call
// through once and set the response's id; a panic in the dispatcher
// answers with an internal error.
func (s *Session) dispatchDone(req *jsonrpc.Request, done func(*jsonrpc.Response)) {
	defer func() {
		if p := recover(); p != nil {
			s.srv.log().Error("dispatch panicked", "method", req.Method, "panic", p)
			done(&jsonrpc.Response{Error: jsonrpc.NewError(errs.Internal, errs.ReasonInternal, "")})
		}
	}()
	s.srv.Dispatcher.Dispatch(s, req, done)
}

// messageSink sends each message through a function (WebSocket frames,
// relay frames), one at a time.
type messageSink struct {
	mu     sync.Mutex
	fn     func([]byte) error
	closed bool
}

func (m *messageSink) send(msg []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errSinkClosed
	}
	return m.fn(msg)
}

func (m *messageSink) close(bool) {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
}
