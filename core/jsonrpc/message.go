// Package jsonrpc is the JSON-RPC 2.0 message layer Carapace speaks on
// every entry: parsing requests (single and batch) exactly as the
// specification says (https://www.jsonrpc.org/specification, sections 4–7),
// parsing what a service answers (ParseResponse), and encoding responses,
// requests and notifications.
//
// It is pure: bytes in, values out, no I/O, so every decoder is fuzzed
// (the Fuzz targets here; `make fuzz`). Reading and writing messages on a
// connection is package stream's job.
//
// It is deliberately small and allocation-light: the router parses each
// request once and forwards params and ids as raw JSON, never re-encoding
// what it does not need to understand.
package jsonrpc

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"github.com/gimme-tools/carapace/core/errs"
)

// Version is the only protocol version accepted in the "jsonrpc" member.
const Version = "2.0"

// nullID is the id used when a request's id could not be determined.
var nullID = json.RawMessage("null")

// CancelMethod is the notification a caller sends when it no longer
// wants the answer to one of its requests, params {"id": <that id>} (the
// name LSP gives it): the router passes it to the service holding the
// request, which cancels the handler's context.
const CancelMethod = "$/cancelRequest"

// CancelParams are CancelMethod's params.
type CancelParams struct {
	ID json.RawMessage `json:"id"`
}

// Request is one parsed request or notification.
type Request struct {
	// ID is the raw id: a JSON string, number or null. It is nil for a
	// notification (no "id" member at all); "null" is a request with a
	// null id, which gets a response.
	ID     json.RawMessage
	Method string
	// Params is the raw params: an object, an array, or nil when absent.
	Params json.RawMessage
	// Caller is Carapace's own member on the router-to-service hop: who
	// the router forwarded the call for. Nil on every external entry.
	Caller json.RawMessage
	// Re ties a notification a service sends back to the router request
	// it belongs to (streamed output). Nil elsewhere.
	Re json.RawMessage
}

// IsNotification reports whether r has no id and so expects no response.
func (r *Request) IsNotification() bool { return r.ID == nil }

// Error is a JSON-RPC error object.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Error renders "message (code)".
func (e *Error) Error() string { return e.Message + " (" + strconv.Itoa(e.Code) + ")" }

// Response is one response: Result or Error is set, never both.
type Response struct {
	ID     json.RawMessage
	Result json.RawMessage
	Error  *Error
	// File is a descriptor that travels with the response on a Unix
	// connection (SCM_RIGHTS, see Writer.SendFD); the result then says
	// "fd": true. It is never encoded. Whoever holds a Response with a
	// File owns it: it must be sent on or closed.
	File *os.File
}

// ErrorFrom converts a Go error into a JSON-RPC error object: the code and
// message come from its errs.Kind, data carries the reason, the hint and
// the error's own text, plus any errs.Error Data members.
func ErrorFrom(err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	k := errs.KindOf(err)
	data := errs.DataOf(err)
	if data == nil {
		data = map[string]any{}
	}
	if r := errs.ReasonOf(err); r != "" {
		data["reason"] = r
	}
	if h := errs.HintOf(err); h != "" {
		data["hint"] = h
	}
	if err != nil && detail(err) != "" {
		data["detail"] = detail(err)
	}
	e := &Error{Code: k.Code(), Message: errs.KindOf(err).String()}
	if k == errs.Other {
		e.Message = errs.Internal.String()
	}
	if len(data) > 0 {
		e.Data, _ = json.Marshal(data)
	}
	return e
}

// detail is the error's operations and root cause ("forward to code:
// dial unix …: connection refused"), without the kind and reason that
// code and data.reason already carry.
func detail(err error) string {
	var parts []string
	for err != nil {
		e, ok := err.(*errs.Error)
		if !ok {
			parts = append(parts, err.Error())
			break
		}
		if e.Op != "" {
			parts = append(parts, e.Op)
		}
		err = e.Err
	}
	return strings.Join(parts, ": ")
}

// NewError returns an error object for kind k with a reason and hint.
func NewError(k errs.Kind, reason errs.Reason, hint string) *Error {
	return ErrorFrom(errs.E(k, reason, errs.Hint(hint)))
}

// AppendResponse appends the encoding of r to dst, with members in the
// order jsonrpc, id, result|error, and returns the extended buffer.
func AppendResponse(dst []byte, r *Response) []byte {
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	if len(r.ID) == 0 {
		dst = append(dst, nullID...)
	} else {
		dst = append(dst, r.ID...)
	}
	if r.Error != nil {
		dst = append(dst, `,"error":`...)
		b, _ := json.Marshal(r.Error)
		dst = append(dst, b...)
	} else {
		dst = append(dst, `,"result":`...)
		if len(r.Result) == 0 {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, r.Result...)
		}
	}
	return append(dst, '}')
}

// AppendRequest appends the encoding of r (a request, or a notification
// when r.ID is nil) to dst.
func AppendRequest(dst []byte, r *Request) []byte {
	dst = append(dst, `{"jsonrpc":"2.0"`...)
	if r.ID != nil {
		dst = append(dst, `,"id":`...)
		dst = append(dst, r.ID...)
	}
	dst = append(dst, `,"method":`...)
	dst = strconv.AppendQuote(dst, r.Method)
	if r.Params != nil {
		dst = append(dst, `,"params":`...)
		dst = append(dst, r.Params...)
	}
	if r.Caller != nil {
		dst = append(dst, `,"caller":`...)
		dst = append(dst, r.Caller...)
	}
	if r.Re != nil {
		dst = append(dst, `,"re":`...)
		dst = append(dst, r.Re...)
	}
	return append(dst, '}')
}

// Compact returns raw with insignificant whitespace removed, or raw itself
// when it has none to remove or is not valid JSON.
func Compact(raw json.RawMessage) json.RawMessage {
	if !hasSpace(raw) {
		return raw
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// hasSpace reports whether b has whitespace outside its strings. Spaces
// in a string are its content: counting them sent every file.read of
// text through json.Compact, a third of the file service's work.
func hasSpace(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch jsonClass[b[i]] {
		case classSpace:
			return true
		case classQuote:
			end := stringEnd(b[i+1:])
			if end < 0 {
				return false // not valid JSON: Compact leaves it
			}
			i += 1 + end
		}
	}
	return false
}

// stringEnd returns the index in b of the quote that ends a JSON string
// b begins inside, or -1. A short string is scanned byte by byte; past
// 16 bytes, from quote to quote (bytes.IndexByte), each quote's escape
// told by the backslashes before it.
func stringEnd(b []byte) int {
	i := 0
	for ; i < len(b) && i < 16; i++ {
		switch b[i] {
		case '"':
			return i
		case '\\':
			i++ // the escaped byte
		}
	}
	for i < len(b) {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		i += j
		n := 0 // backslashes before the quote
		for n < i && b[i-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return i
		}
		i++
	}
	return -1
}

// The bytes hasSpace looks for outside strings.
const (
	classOther = iota
	classSpace
	classQuote
)

var jsonClass = [256]uint8{' ': classSpace, '\t': classSpace, '\n': classSpace, '\r': classSpace, '"': classQuote}

// WantsFD reports whether a result is an object whose "fd" member is true:
// the response carries a descriptor. It agrees with encoding/json (a key
// may be escaped; of duplicate keys the last counts), so every receiver
// pairs descriptors with the same messages.
func WantsFD(result json.RawMessage) bool {
	if !bytes.Contains(result, []byte(`"fd"`)) && !bytes.Contains(result, []byte(`\u`)) {
		return false // cannot name "fd": most results, without a full parse
	}
	if !json.Valid(result) {
		return false
	}
	want := false
	members(result, func(k []byte, v []byte) bool {
		if string(k) == "fd" {
			want = string(v) == "true"
		}
		return true
	})
	return want
}
