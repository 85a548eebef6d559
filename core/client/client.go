// Package client is the Go client of the Carapace router: find it, dial
// it, then call, notify and batch over newline-delimited JSON-RPC 2.0,
// with errors (*errs.Error) that carry the kind, the reason and the hint
// the router sent.
//
// Everything that talks to the router (the CLI, agents holding a token,
// an MCP adapter) goes through Dial, and Dial authenticates the router
// before a single byte is written: tokens, commands and file contents go
// only to a router the kernel vouches for. A dev stack's socket must be
// served by the caller's own uid from a runtime directory that is the
// caller's, mode 0700, not a symbolic link, under parents nobody else can
// change (package rundir); the installed socket (SystemSocket) by root,
// which makes it for systemd's socket unit, or RouterUser; any other
// socket (--socket, $GIMME_SOCKET) by the caller, root or RouterUser. A
// server of the caller's own uid that is sandboxed (seccomp or
// no-new-privileges) while the caller is not is refused everywhere: in
// dev mode that is what a command the code service ran looks like.
// Socket documents the order the router's socket is looked for in, and
// why a socket in a shared directory never wins over the installed one.
// On macOS an "xpc:" address is dialled through the XPC bridge, which
// pins the router's code signature itself.
//
// A Client is safe for concurrent use; calls are multiplexed over one
// connection and answered in any order.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/jsonrpc/stream"
	"github.com/gimme-tools/carapace/core/peer"
)

// fromWire is the *errs.Error a JSON-RPC error response stands for: its
// kind, reason, hint and data as the router or service sent them.
func fromWire(we *jsonrpc.Error) *errs.Error {
	return errs.Decode(we.Code, we.Message, we.Data)
}

// Client is a connection to the router.
type Client struct {
	conn net.Conn
	fds  *stream.FDConn // conn, when it can receive descriptors
	w    *stream.Writer
	next atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]chan *jsonrpc.Response
	err     error // set when the connection is gone
	notes   func(method string, params json.RawMessage)
	// connErrors holds error responses with a null id (connection-level).
	connErr *errs.Error

	server   peer.Creds // the router, as Dial found it
	verified bool       // server was read and checked

	cancelled atomic.Bool // a cancel was queued: Close delivers it
}

// New returns a Client over conn. It checks nothing: conn is trusted as
// given (Dial is what authenticates a router).
func New(conn net.Conn) *Client {
	c := &Client{pending: map[uint64]chan *jsonrpc.Response{}}
	if uc, ok := conn.(*net.UnixConn); ok {
		c.fds = stream.NewFDConn(uc)
		conn = c.fds
	}
	c.conn, c.w = conn, stream.NewWriter(conn, 0, 0)
	c.w.KeepOpen()
	go c.w.Run()
	go c.readLoop()
	return c
}

// XPCPrefix marks a router address that is a Mach service reached over
// XPC (macOS): "xpc:com.gimme.local.router".
const XPCPrefix = "xpc:"

// DialXPC connects to a Mach service. The darwin build sets it (the XPC
// bridge, which needs cgo, lives outside core); elsewhere it is nil.
var DialXPC func(ctx context.Context, machService string) (net.Conn, error)

// Dial connects to the router at socket: a Unix socket path, or
// "xpc:<Mach service>" on macOS.
//
// Nothing is written to a Unix socket before its server is known: Dial
// first vets the socket's directory when it is one of the caller's dev
// runtime directories (rundir.Check) or SystemSocket's, then reads the
// server's credentials from the kernel (SO_PEERCRED, LOCAL_PEERCRED) and
// refuses, with reason "untrusted_router", a server that is not the
// caller (for a dev socket), or not the caller, RouterUser or root (for
// any other). Over XPC the bridge pins the server's code signature
// instead (xpcbridge.ServerRequirement).
func Dial(ctx context.Context, socket string) (*Client, error) {
	if name, ok := strings.CutPrefix(socket, XPCPrefix); ok {
		if DialXPC == nil {
			return nil, errs.E("dial "+socket, errs.Unavailable, errs.ReasonNoXPC,
				errs.Hint("XPC exists only in the macOS build; pass --socket with a Unix socket path"))
		}
		conn, err := DialXPC(ctx, name)
		if err != nil {
			return nil, errs.E("dial "+socket, errs.Unavailable, errs.ReasonRouterDown,
				errs.Hint("is the router installed and approved in System Settings → Login Items? `carapace-installer doctor` checks"), err)
		}
		return New(conn), nil
	}
	p := placeOf(socket)
	if p.check != nil {
		if err := p.check(); err != nil && !errs.Is(errs.NotFound, err) {
			return nil, errs.E("dial "+socket, err, errs.Hint(errs.HintOf(err)+"; "+p.dirAdvice()))
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if errors.Is(err, syscall.EACCES) {
		return nil, errs.E("dial "+socket, errs.Unavailable, errs.ReasonPermissionDenied,
			errs.Hint("you may not open this socket: on an installed system, join the carapace-clients group (sudo usermod -aG carapace-clients $USER, then log in again); a dev stack is reachable only by the user who started it"), err)
	}
	if err != nil {
		return nil, errs.E("dial "+socket, errs.Unavailable, errs.ReasonRouterDown,
			errs.Hint("is Carapace running? start it with `make run` (or `carapace dev`), or pass --socket / set GIMME_SOCKET"), err)
	}
	cr, err := p.verify(socket, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := New(conn)
	c.server, c.verified = cr, true
	return c, nil
}

// CheckPlace runs the directory checks Dial makes before dialling socket:
// for a caller that reads files beside a dev stack's socket (its state
// directory) without dialling it. It returns nil for a socket whose
// directory is not Carapace's to check, or that does not exist.
func CheckPlace(socket string) error {
	p := placeOf(socket)
	if p.check == nil {
		return nil
	}
	if err := p.check(); err != nil && !errs.Is(errs.NotFound, err) {
		return errs.E("open "+filepath.Dir(socket), err, errs.Hint(errs.HintOf(err)+"; "+p.dirAdvice()))
	}
	return nil
}

// Server returns the router's credentials as the kernel reported them
// when Dial checked them; ok is false over XPC and for a Client made
// with New.
func (c *Client) Server() (cr peer.Creds, ok bool) { return c.server, c.verified }

// OnNotify sets the function that receives notifications from the router
// (streamed command output). It runs on the reading goroutine.
func (c *Client) OnNotify(f func(method string, params json.RawMessage)) {
	c.mu.Lock()
	c.notes = f
	c.mu.Unlock()
}

// Close closes the connection; pending calls fail.
func (c *Client) Close() error {
	if c.cancelled.Load() {
		// Deliver the queued cancel first, for at most a second.
		c.w.Close(true)
		select {
		case <-c.w.Done():
		case <-time.After(time.Second):
		}
	} else {
		c.w.Close(false)
	}
	return c.conn.Close()
}

func marshalParams(params any) (json.RawMessage, error) {
	switch p := params.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return p, nil
	}
	return json.Marshal(params)
}

// Call calls method with params (nil, a struct, a map, a slice or a
// json.RawMessage) and decodes the result into result (nil to discard).
// A JSON-RPC error comes back as an *errs.Error (errs.Decode) with the
// code's kind, the reason and the hint the server sent.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	resp, err := c.call(ctx, method, params)
	if err != nil {
		return err
	}
	if resp.File != nil { // not asked for: a plain Call never keeps one
		resp.File.Close()
	}
	return decodeResponse(resp, result)
}

// CallFD calls a method that hands back a descriptor with its result
// (file.open): it decodes the result into result and returns the
// descriptor, which the caller must close. It fails with reason
// errs.ReasonNoFD when the answer carried none.
func (c *Client) CallFD(ctx context.Context, method string, params, result any) (*os.File, error) {
	resp, err := c.call(ctx, method, params)
	if err != nil {
		return nil, err
	}
	if err := decodeResponse(resp, result); err != nil {
		if resp.File != nil {
			resp.File.Close()
		}
		return nil, err
	}
	if resp.File == nil {
		return nil, errs.E(method, errs.Internal, errs.ReasonNoFD,
			errs.Hint("the answer carried no descriptor; read with file.read in chunks instead"))
	}
	return resp.File, nil
}

// call sends one request and waits for its response.
func (c *Client) call(ctx context.Context, method string, params any) (*jsonrpc.Response, error) {
	p, err := marshalParams(params)
	if err != nil {
		return nil, fmt.Errorf("call %s: params: %w", method, err)
	}
	id := c.next.Add(1)
	ch := make(chan *jsonrpc.Response, 1)
	if err := c.register(id, ch); err != nil {
		return nil, err
	}
	defer c.unregister(id, ch)
	req := jsonrpc.AppendRequest(nil, &jsonrpc.Request{ID: strconv.AppendUint(nil, id, 10), Method: method, Params: p})
	// A failed send is not reported at once: the reader may still hold
	// the router's reason for closing (a refusal at accept).
	c.w.Send(req)
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, c.connError(nil)
		}
		return resp, nil
	case <-ctx.Done():
		// The answer may still come, with a descriptor: whoever takes
		// the channel's value closes it (unregister). The router is told
		// the answer is no longer wanted, so that the service stops the
		// work (a command run by code.execute is killed).
		c.cancel(id)
		return nil, ctx.Err()
	}
}

// cancel queues jsonrpc.CancelMethod for the request id.
func (c *Client) cancel(id uint64) {
	p, _ := json.Marshal(jsonrpc.CancelParams{ID: strconv.AppendUint(nil, id, 10)})
	c.w.Send(jsonrpc.AppendRequest(nil, &jsonrpc.Request{Method: jsonrpc.CancelMethod, Params: p}))
	c.cancelled.Store(true)
}

func decodeResponse(resp *jsonrpc.Response, result any) error {
	if resp.Error != nil {
		return fromWire(resp.Error)
	}
	if result == nil {
		return nil
	}
	if raw, ok := result.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], resp.Result...)
		return nil
	}
	return json.Unmarshal(resp.Result, result)
}

// Notify sends a notification: no id, no answer.
func (c *Client) Notify(method string, params any) error {
	p, err := marshalParams(params)
	if err != nil {
		return fmt.Errorf("notify %s: params: %w", method, err)
	}
	return c.w.Send(jsonrpc.AppendRequest(nil, &jsonrpc.Request{Method: method, Params: p}))
}

// BatchCall is one element of a batch.
type BatchCall struct {
	Method string
	Params any
	Result any  // where to decode the result (nil to discard)
	Notify bool // send as a notification
	Err    error
}

// Batch sends calls as one JSON-RPC batch and waits for every answer.
// Each element's outcome is in its Err; Batch itself fails only when the
// batch could not be sent or answered.
func (c *Client) Batch(ctx context.Context, calls []*BatchCall) error {
	var buf bytes.Buffer
	buf.WriteByte('[')
	chans := map[uint64]chan *jsonrpc.Response{}
	ids := make([]uint64, len(calls))
	defer func() {
		for id, ch := range chans {
			c.unregister(id, ch)
		}
	}()
	for i, bc := range calls {
		p, err := marshalParams(bc.Params)
		if err != nil {
			return fmt.Errorf("batch %s: params: %w", bc.Method, err)
		}
		req := &jsonrpc.Request{Method: bc.Method, Params: p}
		if !bc.Notify {
			ids[i] = c.next.Add(1)
			req.ID = strconv.AppendUint(nil, ids[i], 10)
			ch := make(chan *jsonrpc.Response, 1)
			if err := c.register(ids[i], ch); err != nil {
				return err
			}
			chans[ids[i]] = ch
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(jsonrpc.AppendRequest(nil, req))
	}
	buf.WriteByte(']')
	if err := c.w.Send(buf.Bytes()); err != nil {
		return c.connError(err)
	}
	for i, bc := range calls {
		if bc.Notify {
			continue
		}
		select {
		case resp, ok := <-chans[ids[i]]:
			if !ok {
				return c.connError(nil)
			}
			if resp.File != nil { // Batch does not hand descriptors out
				resp.File.Close()
			}
			bc.Err = decodeResponse(resp, bc.Result)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (c *Client) register(id uint64, ch chan *jsonrpc.Response) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.connErrorLocked(nil)
	}
	c.pending[id] = ch
	return nil
}

// unregister forgets id's channel. An answer delivered but not taken
// (the caller gave up) has its descriptor closed: deliver sends under
// c.mu, so after this nothing more arrives on ch.
func (c *Client) unregister(id uint64, ch chan *jsonrpc.Response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, id)
	select {
	case resp, ok := <-ch:
		if ok && resp.File != nil {
			resp.File.Close()
		}
	default:
	}
}

// connError explains why the connection is unusable.
func (c *Client) connError(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connErrorLocked(err)
}

func (c *Client) connErrorLocked(err error) error {
	if c.connErr != nil {
		return c.connErr
	}
	if err == nil {
		err = c.err
	}
	if err == nil {
		err = errors.New("connection closed")
	}
	return errs.E("router connection", errs.Unavailable, errs.ReasonConnectionLost,
		errs.Hint("the router closed the connection; check that it is still running (`carapace status`)"), err)
}

// readLoop delivers responses until the connection ends.
func (c *Client) readLoop() {
	r := stream.NewReader(c.conn, 256<<20)
	var err error
	for {
		var line []byte
		line, err = r.Next()
		if err != nil {
			break
		}
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] == '[' {
			var elems []json.RawMessage
			if json.Unmarshal(line, &elems) == nil {
				for _, e := range elems {
					c.deliver(e)
				}
			}
			continue
		}
		c.deliver(line)
	}
	c.mu.Lock()
	c.err = err
	pending := c.pending
	c.pending = map[uint64]chan *jsonrpc.Response{}
	c.mu.Unlock()
	for _, ch := range pending {
		close(ch)
	}
}

func (c *Client) deliver(line []byte) {
	resp, note, err := jsonrpc.ParseResponse(line)
	if err != nil {
		return
	}
	if note != nil {
		c.mu.Lock()
		f := c.notes
		c.mu.Unlock()
		if f != nil {
			f(note.Method, note.Params)
		}
		return
	}
	id, perr := strconv.ParseUint(string(resp.ID), 10, 64)
	if perr != nil {
		if resp.Error != nil { // a connection-level error: remember it
			c.mu.Lock()
			c.connErr = fromWire(resp.Error)
			c.mu.Unlock()
		}
		return
	}
	if resp.Error == nil && jsonrpc.WantsFD(resp.Result) && c.fds != nil {
		resp.File = c.fds.TakeFD()
	}
	c.mu.Lock()
	ch := c.pending[id]
	delete(c.pending, id)
	if ch != nil {
		ch <- resp // buffered: never blocks
	}
	c.mu.Unlock()
	if ch == nil && resp.File != nil {
		resp.File.Close()
	}
}

// Timeout is a convenience for a context with a deadline.
func Timeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
