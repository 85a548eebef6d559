package mcpserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	pr, pw := io.Pipe()
	out := &lockedWriter{w: w}
	go filterLines(r, pw, out)
	return &mcp.IOTransport{Reader: pr, Writer: out, MaxLineLength: -1}
}

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

func (l *lockedWriter) Close() error { return nil }

// filterLines copies good lines from r to pw and answers bad ones on out.
func filterLines(r io.Reader, pw *io.PipeWriter, out io.Writer) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br, MaxMessage)
		if errors.Is(err, errTooLong) {
			answer(out, -32600, fmt.Sprintf("Invalid Request: message larger than %d bytes", MaxMessage))
			continue
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			if code, why := checkLine(line); code != 0 {
				answer(out, code, why)
			} else if _, werr := pw.Write(append(line, '\n')); werr != nil {
				return
			}
		}
		if err != nil {
			pw.CloseWithError(err)
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

// checkLine returns the JSON-RPC error code and message for a line that is
// not one message the SDK can take, or 0.
func checkLine(line []byte) (int, string) {
	if !json.Valid(line) {
		return -32700, "Parse error: the line is not JSON"
	}
	if line[0] != '{' {
		return -32600, "Invalid Request: want one JSON-RPC message (an object); batches are not supported"
	}
	if _, err := jsonrpc.DecodeMessage(line); err != nil {
		return -32600, "Invalid Request: " + err.Error()
	}
	return 0, ""
}

func answer(out io.Writer, code int, msg string) {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": nil, "error": map[string]any{"code": code, "message": msg}})
	out.Write(append(b, '\n'))
}
