package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MaxMessage is the largest MCP message the stdio transport takes; a
// longer line is answered with an error and skipped.
const MaxMessage = 32 << 20

// Stdio returns the transport carapace mcp serves: newline-delimited JSON
// on r and w, as the SDK's stdio transport, except that a line that is not
// one JSON-RPC message — not JSON, not an object, a batch, an object that
// is neither request nor response, longer than MaxMessage — is answered
// with a JSON-RPC error (id null) and skipped. The SDK's own transport
// ends the session on such a line; an agent's client that sends one
// garbled message should lose that message, not its tools.
func Stdio(r io.Reader, w io.Writer) mcp.Transport {
	return &stdioTransport{r: r, w: w}
}

type stdioTransport struct {
	r io.Reader
	w io.Writer
}

// Connect starts the one goroutine that reads, checks and decodes lines;
// each message is decoded once, and handed to Read over a channel (Read
// must return when Close is called, which a blocked read of stdin cannot).
func (t *stdioTransport) Connect(context.Context) (mcp.Connection, error) {
	c := &stdioConn{out: &lockedWriter{w: t.w}, in: make(chan jsonrpc.Message, 16), done: make(chan struct{})}
	go c.readLines(t.r)
	return c, nil
}

// stdioConn is one stdio session.
type stdioConn struct {
	out  *lockedWriter
	in   chan jsonrpc.Message // closed at the end of input, after err is set
	err  error
	done chan struct{}
	once sync.Once
}

func (c *stdioConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	select {
	case m, ok := <-c.in:
		if !ok {
			return nil, c.err
		}
		return m, nil
	case <-c.done:
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Write sends one message as one line.
func (c *stdioConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	b, err := encodeMessage(msg)
	if err != nil {
		return err
	}
	_, err = c.out.Write(b)
	return err
}

// encodeMessage encodes msg as one line. A successful response, the
// bulk of what the server writes (a read's whole text, twice), is put
// together around its result as the SDK encoded it: jsonrpc.EncodeMessage
// would scan and copy the result once more to re-encode a raw message,
// and the bytes would come out the same.
func encodeMessage(msg jsonrpc.Message) ([]byte, error) {
	if r, ok := msg.(*jsonrpc.Response); ok && r.Error == nil && len(r.Result) > 0 {
		if id, ok := r.ID.Raw().(int64); ok { // what clients send; a string id takes the SDK's path
			b := make([]byte, 0, len(r.Result)+48)
			b = append(b, `{"jsonrpc":"2.0","id":`...)
			b = strconv.AppendInt(b, id, 10)
			b = append(b, `,"result":`...)
			b = append(b, r.Result...)
			return append(b, '}', '\n'), nil
		}
	}
	b, err := jsonrpc.EncodeMessage(msg)
	return append(b, '\n'), err
}

func (c *stdioConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

func (c *stdioConn) SessionID() string { return "" }

// lockedWriter keeps the SDK's messages and the filter's error answers
// whole: each Write is one message.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// readLines hands each good line's message to Read and answers bad ones.
func (c *stdioConn) readLines(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br, MaxMessage)
		if errors.Is(err, errTooLong) {
			answer(c.out, -32600, fmt.Sprintf("Invalid Request: message larger than %d bytes", MaxMessage))
			continue
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			if m, code, why := decodeLine(line); code != 0 {
				answer(c.out, code, why)
			} else {
				select {
				case c.in <- m:
				case <-c.done:
					return
				}
			}
		}
		if err != nil {
			c.err = err
			close(c.in)
			return
		}
	}
}

var errTooLong = errors.New("line too long")

// readLine reads up to and without the next newline; a line longer than
// max is consumed to its end and reported as errTooLong.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	over := false
	for {
		part, err := br.ReadSlice('\n')
		if !over {
			line = append(line, part...)
			if len(line) > max+1 {
				over, line = true, nil
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if over {
			return nil, errTooLong
		}
		return bytes.TrimSuffix(line, []byte("\n")), err
	}
}

// decodeLine decodes a line holding one JSON-RPC message, or returns the
// JSON-RPC error code and message for a line that is not one.
func decodeLine(line []byte) (jsonrpc.Message, int, string) {
	if line[0] == '{' {
		m, err := jsonrpc.DecodeMessage(line)
		if err == nil {
			return m, 0, ""
		}
		if json.Valid(line) { // checked only now: a good line is scanned once
			return nil, -32600, "Invalid Request: " + err.Error()
		}
	}
	if !json.Valid(line) {
		return nil, -32700, "Parse error: the line is not JSON"
	}
	return nil, -32600, "Invalid Request: want one JSON-RPC message (an object); batches are not supported"
}

func answer(out io.Writer, code int, msg string) {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": nil, "error": map[string]any{"code": code, "message": msg}})
	out.Write(append(b, '\n'))
}
