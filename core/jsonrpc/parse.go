package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/gimme-tools/carapace/core/errs"
)

// Message is one line as received: a single request, or a batch.
type Message struct {
	Batch bool
	// Items holds the parsed elements. For a single request it has one
	// element. An element that is not a valid request has Err set.
	Items []Item

	// A single request's Items and Request, in the Message's allocation:
	// two allocations fewer for the common case on every hop.
	one [1]Item
	req Request
}

// Item is one element of a message.
type Item struct {
	Req *Request
	Err *Error // -32600 for an invalid element; Req is then nil
	// ID is the element's id when it could be determined (for replying to
	// an invalid request), else nil.
	ID json.RawMessage
}

// Parse parses one message. It returns an *Error for the cases the
// specification answers with a single error response: invalid JSON
// (-32700) and an empty batch (-32600). Errors inside a batch are returned
// per element.
//
// The message does not alias line: the caller may reuse its buffer.
func Parse(line []byte) (*Message, *Error) {
	line = bytes.Clone(bytes.TrimSpace(line))
	if len(line) == 0 || !valid(line) {
		return nil, &Error{Code: int(errs.Parse), Message: errs.Parse.String()}
	}
	return parseValid(line)
}

// ParseTrusted parses a message from a peer that has already validated
// every byte of it: a service's one peer, the router, which checked the
// client's line with Parse and encoded the forwarded request itself. The
// envelope is read exactly as Parse reads it, without Parse's validating
// pass over the whole line (on the service hop, a line carries a
// token and costs more to validate than everything else a call does).
// Any input is safe: a malformed line gives an error or a garbled
// envelope, never a panic, and params are still validated where the
// handler decodes them.
func ParseTrusted(line []byte) (*Message, *Error) {
	line = bytes.Clone(bytes.TrimSpace(line))
	if len(line) < 2 || (line[0] != '{' && line[0] != '[') {
		return nil, &Error{Code: int(errs.Parse), Message: errs.Parse.String()}
	}
	return parseValid(line)
}

// parseValid parses a trimmed message the caller owns.
func parseValid(line []byte) (*Message, *Error) {
	if line[0] != '[' {
		m := &Message{}
		m.one[0] = parseItem(line, &m.req)
		m.Items = m.one[:]
		return m, nil
	}
	elems := elements(line)
	if len(elems) == 0 {
		return nil, invalidRequest("empty batch")
	}
	m := &Message{Batch: true, Items: make([]Item, len(elems))}
	for i, e := range elems {
		m.Items[i] = parseItem(e, nil)
	}
	return m, nil
}

func invalidRequest(why string) *Error {
	d, _ := json.Marshal(map[string]string{"reason": string(errs.ReasonInvalidRequest), "detail": why})
	return &Error{Code: int(errs.InvalidRequest), Message: errs.InvalidRequest.String(), Data: d}
}

// parseItem validates one request object (specification section 4). A
// valid request is stored in req, or in a new Request when req is nil.
func parseItem(raw json.RawMessage, req *Request) Item {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return Item{Err: invalidRequest("a request must be a JSON object")}
	}
	var version, id, mraw, params, caller, re json.RawMessage
	var hasID, hasParams bool
	members(raw, func(k []byte, v []byte) bool {
		switch string(k) {
		case "jsonrpc":
			version = v
		case "id":
			id, hasID = v, true
		case "method":
			mraw = v
		case "params":
			params, hasParams = v, true
		case "caller":
			caller = v
		case "re":
			re = v
		}
		return true
	})
	var it Item
	if hasID {
		if !validID(id) {
			return Item{Err: invalidRequest(`"id" must be a string, a number or null`)}
		}
		it.ID = Compact(id)
	}
	if string(version) != `"2.0"` {
		return Item{ID: it.ID, Err: invalidRequest(`"jsonrpc" must be exactly "2.0"`)}
	}
	if len(mraw) == 0 || mraw[0] != '"' {
		return Item{ID: it.ID, Err: invalidRequest(`"method" must be a string`)}
	}
	if req == nil {
		req = new(Request)
	}
	*req = Request{ID: it.ID, Method: decodeString(mraw)}
	if hasParams {
		if len(params) == 0 || (params[0] != '{' && params[0] != '[') {
			return Item{ID: it.ID, Err: invalidRequest(`"params" must be an object or an array`)}
		}
		req.Params = Compact(params)
	}
	req.Caller, req.Re = caller, re
	it.Req = req
	return it
}

// validID reports whether raw is a JSON string, number or null.
func validID(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	switch c := raw[0]; {
	case c == '"', c == '-', c >= '0' && c <= '9':
		return true
	case bytes.Equal(raw, nullID):
		return true
	}
	return false
}

// ParseResponse parses one line from a service: a response (its raw id,
// result or error), or a notification (Method set, with Re naming the
// router request it belongs to).
//
// The result does not alias line: the caller may reuse its buffer.
//
// Lines come from our own processes, so only the envelope is checked, not
// every byte: a result that is not valid JSON reaches the client as it is,
// where it fails to parse (it cannot break the framing: it has no newline).
func ParseResponse(line []byte) (resp *Response, note *Request, err error) {
	line = bytes.TrimSpace(line)
	if len(line) < 2 || line[0] != '{' || line[len(line)-1] != '}' {
		return nil, nil, errNotJSON
	}
	line = bytes.Clone(line)
	var id, result, errObj, method, params, re json.RawMessage
	members(line, func(k []byte, v []byte) bool {
		switch string(k) {
		case "id":
			id = v
		case "result":
			result = v
		case "error":
			errObj = v
		case "method":
			method = v
		case "params":
			params = v
		case "re":
			re = v
		}
		return true
	})
	if len(method) > 0 && method[0] == '"' {
		return nil, &Request{Method: decodeString(method), Params: params, Re: re}, nil
	}
	resp = &Response{ID: id, Result: result}
	if len(errObj) > 0 && errObj[0] == '{' {
		resp.Error = new(Error)
		if err := json.Unmarshal(errObj, resp.Error); err != nil {
			return nil, nil, err
		}
	}
	return resp, nil, nil
}

var errNotJSON = errors.New("jsonrpc: not valid JSON")
