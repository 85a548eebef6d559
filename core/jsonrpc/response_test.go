package jsonrpc

import (
	"bytes"
	"encoding/json"
	"testing"
)

// responseCases are lines a service may send, honest or not, and what
// ParseResponse makes of them ("" where the part is absent). They seed
// FuzzParseResponse.
var responseCases = []struct {
	line                 string
	err                  bool
	id, result, errCode  string
	method, params, note string
}{
	{line: `{"jsonrpc":"2.0","id":7,"result":{"msg":"hi"}}`, id: `7`, result: `{"msg":"hi"}`},
	{line: `{"jsonrpc":"2.0","id":8,"error":{"code":-32003,"message":"forbidden","data":{"reason":"x"}}}`, id: `8`, errCode: `-32003`},
	{line: `{"jsonrpc":"2.0","method":"carapace.decision","params":{"verdict":"allow"},"re":9}`, method: `carapace.decision`, params: `{"verdict":"allow"}`, note: `9`},
	{line: `{"jsonrpc":"2.0","id":3,"result":{"size":5,"fd":true}}`, id: `3`, result: `{"size":5,"fd":true}`},
	{line: ` {"id":1,"result":[1,2,{"a":"]}"}]} `, id: `1`, result: `[1,2,{"a":"]}"}]`},
	{line: `{"id":1,"result":1,"id":2}`, id: `2`, result: `1`}, // the last duplicate counts, as in encoding/json
	{line: `{"\u0069d":4,"result":null}`, id: `4`, result: `null`},
	{line: `{"id":5,"result":"a\"},\"id\":6"}`, id: `5`, result: `"a\"},\"id\":6"`},
	{line: `{"id":6,"error":{"code":"x"}}`, err: true},
	{line: `{"id":6,"result":{"a":1]}`, id: `6`, result: `{"a":1]`}, // not JSON: the client's parse fails
	{line: `{"id":6,"result":"open}`, id: `6`, result: `"open}`},
	{line: `{"id":6,"result":-{"id":9}}`, id: `6`, result: `-{"id":9`},
	{line: `[{"id":1,"result":1}]`, err: true},
	{line: `not json`, err: true},
	{line: `{`, err: true},
	{line: ``, err: true},
}

func TestParseResponse(t *testing.T) {
	for _, c := range responseCases {
		resp, note, err := ParseResponse([]byte(c.line))
		if (err != nil) != c.err {
			t.Errorf("%s: error %v, want error %v", c.line, err, c.err)
			continue
		}
		if err != nil {
			continue
		}
		if c.method != "" {
			if note == nil || note.Method != c.method || string(note.Params) != c.params || string(note.Re) != c.note {
				t.Errorf("%s: note %+v", c.line, note)
			}
			continue
		}
		code := ""
		if resp.Error != nil {
			code = string(mustJSON(t, resp.Error.Code))
		}
		if note != nil || string(resp.ID) != c.id || string(resp.Result) != c.result || code != c.errCode {
			t.Errorf("%s: response id %s result %s error %s", c.line, resp.ID, resp.Result, code)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParseResponse reads lines as a compromised service could write them.
// ParseResponse must never panic nor alias its input; on a JSON object it
// must agree with encoding/json; and whatever it returns, the router's
// encoding of it for the client is either not JSON at all (the client's
// own call fails) or exactly the envelope the router means: no member a
// service smuggled in, no id but the client's.
func FuzzParseResponse(f *testing.F) {
	for _, c := range responseCases {
		f.Add([]byte(c.line))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		in := bytes.Clone(line)
		resp, note, err := ParseResponse(in)
		if err != nil {
			return
		}
		var kept Response
		var keptNote Request
		if resp != nil {
			kept = Response{ID: bytes.Clone(resp.ID), Result: bytes.Clone(resp.Result)}
		} else {
			keptNote = Request{Method: note.Method, Params: bytes.Clone(note.Params), Re: bytes.Clone(note.Re)}
		}
		for i := range in {
			in[i] = 'x'
		}
		if resp != nil && (!bytes.Equal(resp.ID, kept.ID) || !bytes.Equal(resp.Result, kept.Result)) ||
			note != nil && (!bytes.Equal(note.Params, keptNote.Params) || !bytes.Equal(note.Re, keptNote.Re)) {
			t.Fatalf("the parse of %q aliases its input", line)
		}
		agreesWithReference(t, line, resp, note)
		if note != nil {
			envelopeOnly(t, AppendRequest(nil, &Request{Method: note.Method, Params: note.Params}), "method", "params")
			return
		}
		out := AppendResponse(nil, &Response{ID: json.RawMessage(`42`), Result: resp.Result, Error: resp.Error})
		envelopeOnly(t, out, "id", "result", "error")
	})
}

// agreesWithReference checks a parse of a JSON object against encoding/json.
func agreesWithReference(t *testing.T, line []byte, resp *Response, note *Request) {
	var m map[string]json.RawMessage
	if json.Unmarshal(line, &m) != nil || m == nil {
		return
	}
	var method string
	if json.Unmarshal(m["method"], &method) == nil && len(m["method"]) > 0 && m["method"][0] == '"' {
		if note == nil || note.Method != method || !bytes.Equal(note.Params, m["params"]) || !bytes.Equal(note.Re, m["re"]) {
			t.Fatalf("%q: note %+v, encoding/json reads method %q params %s", line, note, method, m["params"])
		}
		return
	}
	if resp == nil || !bytes.Equal(resp.ID, m["id"]) || !bytes.Equal(resp.Result, m["result"]) {
		t.Fatalf("%q: response %+v, encoding/json reads id %s result %s", line, resp, m["id"], m["result"])
	}
}

// envelopeOnly fails unless out is not JSON, or is an object whose members
// are "jsonrpc" and some of allowed, each once, with the id the router
// gave.
func envelopeOnly(t *testing.T, out []byte, allowed ...string) {
	if !json.Valid(out) {
		return
	}
	seen := map[string]int{}
	var id json.RawMessage
	members(out, func(k, v []byte) bool {
		seen[string(k)]++
		if string(k) == "id" {
			id = v
		}
		return true
	})
	for k, n := range seen {
		ok := k == "jsonrpc"
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok || n != 1 {
			t.Fatalf("the router's line %s has member %q %d times", out, k, n)
		}
	}
	if _, want := seen["id"]; want && string(id) != `42` {
		t.Fatalf("the router's line %s names id %s", out, id)
	}
}
