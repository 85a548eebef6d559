package jsonrpc

import (
	"bytes"
	"encoding/json"

	"github.com/gimme-tools/carapace/core/errs"
)

// Message is one line as received: a single request, or a batch.
type Message struct {
	Batch bool
	// Items holds the parsed elements. For a single request it has one
	// element. An element that is not a valid request has Err set.
	Items []Item
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
func Parse(line []byte) (*Message, *Error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || !json.Valid(line) {
		return nil, &Error{Code: int(errs.Parse), Message: errs.Parse.String()}
	}
	if line[0] != '[' {
		return &Message{Items: []Item{parseItem(line)}}, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(line, &elems); err != nil {
		return nil, &Error{Code: int(errs.Parse), Message: errs.Parse.String()}
	}
	if len(elems) == 0 {
		return nil, invalidRequest("empty batch")
	}
	m := &Message{Batch: true, Items: make([]Item, len(elems))}
	for i, e := range elems {
		m.Items[i] = parseItem(e)
	}
	return m, nil
}

func invalidRequest(why string) *Error {
	d, _ := json.Marshal(map[string]string{"reason": "invalid_request", "detail": why})
	return &Error{Code: int(errs.InvalidRequest), Message: errs.InvalidRequest.String(), Data: d}
}

// parseItem validates one request object (specification section 4).
func parseItem(raw json.RawMessage) Item {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return Item{Err: invalidRequest("a request must be a JSON object")}
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return Item{Err: invalidRequest("a request must be a JSON object")}
	}
	var it Item
	id, hasID := members["id"]
	if hasID {
		if !validID(id) {
			return Item{Err: invalidRequest(`"id" must be a string, a number or null`)}
		}
		it.ID = Compact(id)
	}
	if v, ok := members["jsonrpc"]; !ok || string(v) != `"2.0"` {
		return Item{ID: it.ID, Err: invalidRequest(`"jsonrpc" must be exactly "2.0"`)}
	}
	mraw, ok := members["method"]
	var method string
	if !ok || len(mraw) == 0 || mraw[0] != '"' || json.Unmarshal(mraw, &method) != nil {
		return Item{ID: it.ID, Err: invalidRequest(`"method" must be a string`)}
	}
	req := &Request{ID: it.ID, Method: method}
	if p, ok := members["params"]; ok {
		if len(p) == 0 || (p[0] != '{' && p[0] != '[') {
			return Item{ID: it.ID, Err: invalidRequest(`"params" must be an object or an array`)}
		}
		req.Params = Compact(p)
	}
	req.Caller = members["caller"]
	req.Re = members["re"]
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

// ParseResponse parses one response line from a service: its raw id,
// result or error. Used on the router-to-service hop, where the line may
// also be a notification (Method set, with Re).
func ParseResponse(line []byte) (resp *Response, note *Request, err error) {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  *Error          `json:"error"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
		Re     json.RawMessage `json:"re"`
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, nil, err
	}
	if m.Method != "" {
		return nil, &Request{Method: m.Method, Params: m.Params, Re: m.Re}, nil
	}
	return &Response{ID: m.ID, Result: m.Result, Error: m.Error}, nil, nil
}
