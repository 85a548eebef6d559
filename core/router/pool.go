package router

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/jsonrpc/stream"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
)

// pool is a small set of connections to one service, over which the router
// multiplexes every caller's requests. Each forwarded request gets a fresh
// id on its connection; the answer is mapped back to the caller's own id.
// docs/internals.md, "Router ↔ service framing", writes the protocol down.
type pool struct {
	name   string
	socket string
	size   int
	dial   func(ctx context.Context, socket string) (net.Conn, error)

	mu    sync.Mutex
	conns []*bconn
	next  uint32
	dials sync.Mutex // one dial at a time
}

// bconn is one connection to a service.
type bconn struct {
	p    *pool
	c    net.Conn
	fds  *stream.FDConn // c, when it can receive descriptors (file.open)
	w    *stream.Writer
	next atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]*pend
	dead    bool
	cause   error      // why the connection failed, when it was not the service's doing
	audit   *audit.Log // the log the queued records below are in

	// tickets are the audit records of calls queued for the next write:
	// flushAudit writes them to the log before that write.
	tickets audit.Tickets
}

// pend is a forwarded request waiting for its answer.
type pend struct {
	sess *rpcserver.Session
	id   json.RawMessage // the caller's id
	done func(*jsonrpc.Response)
	// With auditing on: the log and what the service's decisions about
	// this call are recorded with.
	log  *audit.Log
	call callRecord
	// notes counts the decisions the service reported; denied is set
	// when one was a deny (then the error answer needs no record of its
	// own). Both under bconn.mu.
	notes  int
	conns  int
	denied bool
}

// maxDecisions bounds the decisions a service may report about one call:
// the shell service reports at most two (the policy's, then the owner's,
// a remembered grant's or a time-out's).
const maxDecisions = 4

// maxConnections bounds the network connections the code service may
// report about one command (by audit.ByEgress: the proxy's decision on
// each, core/egress), its own budget: the proxy refuses more than
// egress.DefaultMaxConns per command, and records the refusal too.
const maxConnections = 512

// encBufs are encoding buffers for forwarded requests, reused: a request
// with its caller record is ~1 KiB, encoded once per call.
var encBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// maxServiceMessage bounds one line from a service: larger than the client
// limit, because results (command output, file chunks) are escaped JSON.
const maxServiceMessage = 64 << 20

// forward sends req to the service for sess; done receives the answer.
func (p *pool) forward(sess *rpcserver.Session, req *jsonrpc.Request, g grant, done func(*jsonrpc.Response)) {
	bc, err := p.get(sess.Context())
	if err != nil {
		done(&jsonrpc.Response{Error: jsonrpc.ErrorFrom(err)})
		return
	}
	bc.send(sess, req, g, done)
}

func (p *pool) unavailable(err error) error {
	return errs.E("forward to "+p.name, errs.Unavailable, errs.ReasonServiceDown,
		errs.Hint("the "+p.name+" service is not answering; `carapace status` shows its state, and it is restarted automatically in dev mode"), err)
}

// pickLocked returns the next of the pool's connections in turn; p.mu is
// held and there is at least one.
func (p *pool) pickLocked() *bconn {
	bc := p.conns[p.next%uint32(len(p.conns))]
	p.next++
	return bc
}

// get returns a live connection, dialling a new one while the pool is
// below its size.
func (p *pool) get(ctx context.Context) (*bconn, error) {
	p.mu.Lock()
	if len(p.conns) >= p.size {
		bc := p.pickLocked()
		p.mu.Unlock()
		return bc, nil
	}
	p.mu.Unlock()
	p.dials.Lock()
	defer p.dials.Unlock()
	p.mu.Lock()
	if len(p.conns) >= p.size { // another caller dialled meanwhile
		bc := p.pickLocked()
		p.mu.Unlock()
		return bc, nil
	}
	p.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := p.dial(dctx, p.socket)
	if err != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.conns) > 0 { // fall back on what we have
			return p.pickLocked(), nil
		}
		return nil, p.unavailable(err)
	}
	bc := &bconn{p: p, pending: map[uint64]*pend{}}
	if uc, ok := c.(*net.UnixConn); ok {
		bc.fds = stream.NewFDConn(uc)
		c = bc.fds
	}
	bc.c, bc.w = c, stream.NewWriter(c, 30*time.Second, 0)
	bc.w.Batch()
	bc.w.BeforeWrite(bc.flushAudit)
	go bc.w.Run()
	go bc.readLoop()
	p.mu.Lock()
	p.conns = append(p.conns, bc)
	p.mu.Unlock()
	return bc, nil
}

// drop removes bc from the pool.
func (p *pool) drop(bc *bconn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, c := range p.conns {
		if c == bc {
			p.conns = append(p.conns[:i], p.conns[i+1:]...)
			return
		}
	}
}

// reset closes every connection (the service restarted).
func (p *pool) reset() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, bc := range conns {
		bc.c.Close()
	}
}

func (bc *bconn) send(sess *rpcserver.Session, req *jsonrpc.Request, g grant, done func(*jsonrpc.Response)) {
	fwd := jsonrpc.Request{Method: req.Method, Params: req.Params, Caller: g.caller}
	notification := req.IsNotification()
	// A caller's notification is forwarded with an id of its own when it
	// is audited, so that the service's decisions about it can be tied to
	// it (service.DecisionNote); its answer is dropped.
	tracked := !notification || g.log != nil
	var id uint64
	if tracked {
		id = bc.next.Add(1)
		fwd.ID = strconv.AppendUint(nil, id, 10)
	}
	bc.mu.Lock()
	if bc.dead {
		bc.mu.Unlock()
		done(&jsonrpc.Response{Error: jsonrpc.ErrorFrom(bc.p.unavailable(nil))})
		return
	}
	if tracked {
		p := &pend{sess: sess, id: req.ID, done: done}
		if notification {
			p.done = dropAnswer
		}
		if g.log != nil {
			p.log, p.call = g.log, g.call
		}
		bc.pending[id] = p
	}
	if g.queued {
		// Before the message is queued: the write that carries it
		// flushes at least this record first.
		bc.audit = g.log
		bc.tickets.Add(g.ticket)
	}
	bc.mu.Unlock()
	enc := encBufs.Get().(*[]byte)
	*enc = jsonrpc.AppendRequest((*enc)[:0], &fwd)
	err := bc.w.Send(*enc)   // Send copies it into the writer's queue
	if cap(*enc) <= 64<<10 { // a large request's buffer is left to the collector
		encBufs.Put(enc)
	}
	if err != nil {
		if tracked {
			bc.take(id)
		}
		done(&jsonrpc.Response{Error: jsonrpc.ErrorFrom(bc.p.unavailable(err))})
		return
	}
	if notification {
		done(nil)
	}
}

// cancel tells the service holding sess's request id that its caller
// no longer wants the answer (jsonrpc.CancelMethod, with the id the
// router gave the request); the answer, if one still comes, goes to the
// caller as usual.
func (p *pool) cancel(sess *rpcserver.Session, id json.RawMessage) {
	p.mu.Lock()
	conns := append([]*bconn(nil), p.conns...)
	p.mu.Unlock()
	for _, bc := range conns {
		bc.mu.Lock()
		var fwd uint64
		for k, pd := range bc.pending {
			if pd.sess == sess && bytes.Equal(pd.id, id) {
				fwd = k
				break
			}
		}
		bc.mu.Unlock()
		if fwd != 0 {
			params, _ := json.Marshal(jsonrpc.CancelParams{ID: strconv.AppendUint(nil, fwd, 10)})
			bc.w.Send(jsonrpc.AppendRequest(nil, &jsonrpc.Request{Method: jsonrpc.CancelMethod, Params: params}))
			return
		}
	}
}

// cancelSession cancels, at the service, every call of sess still in
// flight (sess has ended); their answers, if any come, are dropped with
// the session.
func (p *pool) cancelSession(sess *rpcserver.Session) {
	p.mu.Lock()
	conns := append([]*bconn(nil), p.conns...)
	p.mu.Unlock()
	for _, bc := range conns {
		var fwds []uint64
		bc.mu.Lock()
		for k, pd := range bc.pending {
			if pd.sess == sess {
				fwds = append(fwds, k)
			}
		}
		bc.mu.Unlock()
		for _, fwd := range fwds {
			params, _ := json.Marshal(jsonrpc.CancelParams{ID: strconv.AppendUint(nil, fwd, 10)})
			bc.w.Send(jsonrpc.AppendRequest(nil, &jsonrpc.Request{Method: jsonrpc.CancelMethod, Params: params}))
		}
	}
}

// dropAnswer receives the answer to a caller's notification, which
// nobody waits for; a descriptor that came with it is closed.
func dropAnswer(resp *jsonrpc.Response) {
	if resp != nil && resp.File != nil {
		resp.File.Close()
	}
}

// flushAudit runs before each write to the service: the audit records of
// the calls in it are written first, or the write does not happen and
// the connection fails with the log's error (fail closed).
func (bc *bconn) flushAudit() error {
	bc.mu.Lock()
	log := bc.audit
	bc.mu.Unlock()
	if log == nil {
		return nil
	}
	oldest, newest, ok := bc.tickets.Take()
	if !ok {
		return nil
	}
	if err := log.Flush(oldest, newest); err != nil {
		bc.mu.Lock()
		bc.cause = err
		bc.mu.Unlock()
		return err
	}
	return nil
}

func (bc *bconn) take(id uint64) *pend {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	p := bc.pending[id]
	delete(bc.pending, id)
	return p
}

// readLoop delivers answers and streamed notifications until the service
// connection ends; every request still pending then fails with -32007.
func (bc *bconn) readLoop() {
	r := stream.NewReader(bc.c, maxServiceMessage)
	for {
		line, err := r.Next()
		if err != nil {
			break
		}
		resp, note, err := jsonrpc.ParseResponse(line)
		if err != nil {
			continue
		}
		if note != nil {
			if note.Method == service.DecisionNote {
				bc.decision(note)
			} else {
				bc.relayNote(note)
			}
			continue
		}
		id, err := strconv.ParseUint(string(resp.ID), 10, 64)
		if err != nil {
			continue
		}
		if p := bc.take(id); p != nil {
			bc.attachFD(p, resp)
			bc.p.refused(p, resp)
			p.done(resp)
		} else if resp.Error == nil && jsonrpc.WantsFD(resp.Result) {
			bc.dropFD() // its caller is gone
		}
	}
	bc.fail()
}

// attachFD gives a response that says "fd": true the next descriptor the
// service passed (see stream's note on descriptor passing), if its
// caller may receive one: a session on the local Unix socket. Anyone else
// (WebSocket, relay, XPC) gets fd_not_allowed, and the descriptor is
// closed here.
func (bc *bconn) attachFD(p *pend, resp *jsonrpc.Response) {
	if resp.Error != nil || !jsonrpc.WantsFD(resp.Result) {
		return
	}
	var f *os.File
	if bc.fds != nil {
		f = bc.fds.TakeFD()
	}
	switch {
	case f == nil:
		resp.Result, resp.Error = nil, jsonrpc.ErrorFrom(errs.E("forward to "+bc.p.name, errs.Internal, errs.ReasonFDMissing,
			errs.Hint("the service announced a descriptor it did not pass; retry, or read with file.read in chunks")))
	case !p.sess.CanPassFDs():
		f.Close()
		resp.Result, resp.Error = nil, rpcserver.FDNotAllowed()
	default:
		resp.File = f
	}
}

// dropFD closes the descriptor of an answer nobody waits for.
func (bc *bconn) dropFD() {
	if bc.fds != nil {
		if f := bc.fds.TakeFD(); f != nil {
			f.Close()
		}
	}
}

// decision writes a decision the service reported about a pending call
// (service.DecisionNote) as an audit record: the call's who and what from
// the router's own record, the decision, who made it and why from the
// service. It is written before anything after it on this connection,
// the call's answer included, reaches its caller.
func (bc *bconn) decision(note *jsonrpc.Request) {
	id, err := strconv.ParseUint(string(note.Re), 10, 64)
	if err != nil {
		return
	}
	var d service.Decision
	if json.Unmarshal(note.Params, &d) != nil || !validDecision(d.Decision) {
		return
	}
	bc.mu.Lock()
	p := bc.pending[id]
	if p == nil || p.log == nil || (d.By != audit.ByEgress && p.notes >= maxDecisions) || (d.By == audit.ByEgress && p.conns >= maxConnections) {
		bc.mu.Unlock()
		return
	}
	if d.By == audit.ByEgress {
		p.conns++
	} else {
		p.notes++
	}
	p.denied = p.denied || (d.Decision == audit.Deny && d.By != audit.ByEgress) // a refused connection does not refuse the call
	bc.mu.Unlock()
	rec := p.call.record(p.sess)
	if d.By == "" {
		d.By = audit.ByService
	}
	rec.Decision, rec.By, rec.Reason, rec.Approval, rec.Redacted = d.Decision, d.By, d.Reason, d.Approval, d.Redacted
	bc.p.write(p.log, rec)
}

func validDecision(d string) bool {
	return d == audit.Allow || d == audit.Deny || d == audit.Prompt
}

// refusalKinds are the answers that are a service's refusal: its own
// token check, a path outside what it serves, the owner's no, a cap.
var refusalKinds = map[int]bool{
	int(errs.Unauthorized): true, int(errs.Forbidden): true, int(errs.Denied): true, int(errs.RateLimited): true,
}

// refused writes a deny record, by the service, for an answer that refuses
// the call, unless the service already reported a deny for it. A call the
// service accepted and that then failed (not found, an I/O error) keeps
// its allow record: the log records decisions, not results.
func (p *pool) refused(pd *pend, resp *jsonrpc.Response) {
	if resp.Error == nil || pd.log == nil || !refusalKinds[resp.Error.Code] {
		return
	}
	if pd.denied {
		return
	}
	rec := pd.call.record(pd.sess)
	rec.Decision, rec.By = audit.Deny, audit.ByService
	var data struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(resp.Error.Data, &data) != nil || data.Reason == "" {
		data.Reason = errs.Kind(resp.Error.Code).String()
	}
	rec.Reason = data.Reason
	p.write(pd.log, rec)
}

// write writes a record of a service's decision. Its call has already
// been allowed by the router and acted on, or is refused anyway, so a
// record that cannot be written is logged and the answer goes on.
func (p *pool) write(log *audit.Log, rec audit.Record) {
	start := rec.Time
	rec.Time = time.Now()
	rec.DurationUS = rec.Time.Sub(start).Microseconds()
	if err := log.Write(rec); err != nil {
		slog.Error("audit write failed", "method", rec.Method, "err", err)
	}
}

// relayNote passes a service's notification (streamed output) to the
// caller of the request it belongs to, with that caller's id in
// params.request_id.
func (bc *bconn) relayNote(note *jsonrpc.Request) {
	id, err := strconv.ParseUint(string(note.Re), 10, 64)
	if err != nil {
		return
	}
	bc.mu.Lock()
	p := bc.pending[id]
	bc.mu.Unlock()
	if p == nil || p.id == nil || len(note.Params) < 2 || note.Params[0] != '{' {
		return // p.id nil: the caller sent a notification, and gets none back
	}
	params := make([]byte, 0, len(note.Params)+len(p.id)+16)
	params = append(params, `{"request_id":`...)
	params = append(params, p.id...)
	if rest := note.Params[1:]; len(rest) > 1 {
		params = append(params, ',')
	}
	params = append(params, note.Params[1:]...)
	p.sess.Notify(note.Method, params)
}

func (bc *bconn) fail() {
	bc.p.drop(bc)
	bc.c.Close()
	bc.w.Close(false)
	bc.mu.Lock()
	bc.dead = true
	pending := bc.pending
	bc.pending = map[uint64]*pend{}
	cause := bc.cause
	bc.mu.Unlock()
	err := errs.E("forward to "+bc.p.name, errs.Unavailable,
		errs.ReasonServiceLost, errs.Hint("the "+bc.p.name+" service went away while answering; retry the call"))
	if cause != nil {
		err = errs.E("forward to "+bc.p.name, cause) // the audit log failed: kind, reason and hint are its
	}
	for _, p := range pending {
		p.done(&jsonrpc.Response{Error: jsonrpc.ErrorFrom(err)})
	}
}
