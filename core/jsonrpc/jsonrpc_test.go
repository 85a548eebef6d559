package jsonrpc

import (
	"bytes"
	"encoding/json"
	"testing"
)

var parseSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"ping","params":{}}`,
	`{"jsonrpc":"2.0","id":"a","method":"echo","params":["x",1]}`,
	`{"jsonrpc":"2.0","method":"note"}`,
	`{"jsonrpc":"2.0","id":null,"method":"x"}`,
	`[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"},1]`,
	`[]`, `[1,2,3]`, `{"jsonrpc": "2.0", "method": 1, "params": "bar"}`,
	`{"jsonrpc":"2.0","id":{},"method":"x"}`, `{"jsonrpc":"2.0","id":1,"method":"x","params":3}`,
	`{"jsonrpc":"2.0","id":1,"method":"x","caller":{"uid":1}}`, `{`, ``, `null`, `"s"`,
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		perr    int // code of a whole-message error
		batch   bool
		items   int
		badItem []bool
	}{
		{in: parseSeeds[0], items: 1, badItem: []bool{false}},
		{in: parseSeeds[4], batch: true, items: 3, badItem: []bool{false, false, true}},
		{in: `[]`, perr: -32600},
		{in: `{`, perr: -32700},
		{in: ``, perr: -32700},
		{in: `"s"`, items: 1, badItem: []bool{true}},
		{in: `{"jsonrpc":"2.0","id":true,"method":"x"}`, items: 1, badItem: []bool{true}},
	} {
		m, perr := Parse([]byte(tc.in))
		if tc.perr != 0 {
			if perr == nil || perr.Code != tc.perr {
				t.Errorf("Parse(%q) = %v, want error %d", tc.in, perr, tc.perr)
			}
			continue
		}
		if perr != nil || m.Batch != tc.batch || len(m.Items) != tc.items {
			t.Errorf("Parse(%q) = %+v, %v", tc.in, m, perr)
			continue
		}
		for i, bad := range tc.badItem {
			if (m.Items[i].Err != nil) != bad {
				t.Errorf("Parse(%q) item %d err = %v, want bad=%v", tc.in, i, m.Items[i].Err, bad)
			}
		}
	}
}

func TestNotificationVersusNullID(t *testing.T) {
	m, _ := Parse([]byte(`{"jsonrpc":"2.0","method":"x"}`))
	if !m.Items[0].Req.IsNotification() {
		t.Error("no id must be a notification")
	}
	m, _ = Parse([]byte(`{"jsonrpc":"2.0","method":"x","id":null}`))
	if m.Items[0].Req.IsNotification() {
		t.Error("a null id is a request, not a notification")
	}
}

func TestAppendResponseOrder(t *testing.T) {
	got := string(AppendResponse(nil, &Response{ID: json.RawMessage("1"), Result: json.RawMessage(`{"pong":true}`)}))
	if want := `{"jsonrpc":"2.0","id":1,"result":{"pong":true}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		m, perr := Parse(line)
		if perr != nil {
			if m != nil {
				t.Fatal("both message and error")
			}
			return
		}
		if len(m.Items) == 0 || (!m.Batch && len(m.Items) != 1) {
			t.Fatalf("bad item count %d", len(m.Items))
		}
		for _, it := range m.Items {
			if (it.Req == nil) == (it.Err == nil) {
				t.Fatal("an item must be a request or an error")
			}
			var resp []byte
			if it.Req != nil {
				resp = AppendResponse(nil, &Response{ID: it.Req.ID, Result: it.Req.Params})
				if !json.Valid(AppendRequest(nil, it.Req)) {
					t.Fatalf("re-encoded request is not JSON: %s", AppendRequest(nil, it.Req))
				}
			} else {
				resp = AppendResponse(nil, &Response{ID: it.ID, Error: it.Err})
			}
			if !json.Valid(resp) {
				t.Fatalf("response is not JSON: %s", resp)
			}
		}
	})
}

// referenceItem is the straightforward decoding parseItem must agree with.
func referenceItem(raw []byte) (ok bool, method string, id, params string) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false, "", "", ""
	}
	if v, has := m["id"]; has && !validID(v) {
		return false, "", "", ""
	}
	if string(m["jsonrpc"]) != `"2.0"` {
		return false, "", "", ""
	}
	mr, has := m["method"]
	if !has || len(mr) == 0 || mr[0] != '"' || json.Unmarshal(mr, &method) != nil {
		return false, "", "", ""
	}
	if p, has := m["params"]; has {
		if len(p) == 0 || (p[0] != '{' && p[0] != '[') {
			return false, "", "", ""
		}
		params = string(Compact(p))
	}
	if v, has := m["id"]; has {
		id = string(Compact(v))
	}
	return true, method, id, params
}

// FuzzParseMatchesReference checks the envelope scanner against
// encoding/json on every input the fuzzer finds.
func FuzzParseMatchesReference(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"jsonrpc":"2.0","\u006dethod":"x","id":1,"method":"y"}`))
	f.Add([]byte(`{"jsonrpc":"2.0","method":"a\"b","params":{"k":"}\""},"id":"i\\d"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) || len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
			return
		}
		it := parseItem(raw, nil)
		ok, method, id, params := referenceItem(raw)
		if ok != (it.Req != nil) {
			t.Fatalf("%s: valid=%v, reference %v", raw, it.Req != nil, ok)
		}
		if !ok {
			return
		}
		if it.Req.Method != method || string(it.Req.ID) != id || string(it.Req.Params) != params {
			t.Fatalf("%s: got (%q %s %s), reference (%q %s %s)", raw, it.Req.Method, it.Req.ID, it.Req.Params, method, id, params)
		}
	})
}

// FuzzParseTrusted checks that ParseTrusted never panics on any input,
// and reads valid JSON exactly as Parse does.
func FuzzParseTrusted(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"a","caller":{"token":"x.y.z"},"params":{"k":[1,{"q":"\\"}]}}`))
	f.Add([]byte(`{"a"`))
	f.Add([]byte(`{"a":`))
	f.Add([]byte(`["\`))
	f.Fuzz(func(t *testing.T, line []byte) {
		tm, terr := ParseTrusted(line)
		if !json.Valid(line) {
			return
		}
		m, perr := Parse(line)
		if (perr == nil) != (terr == nil) {
			if len(bytes.TrimSpace(line)) > 0 && bytes.TrimSpace(line)[0] != '{' && bytes.TrimSpace(line)[0] != '[' {
				return // a scalar: Parse answers -32600 per item, ParseTrusted -32700; both refuse it
			}
			t.Fatalf("%s: Parse err %v, ParseTrusted err %v", line, perr, terr)
		}
		if perr != nil {
			return
		}
		if len(m.Items) != len(tm.Items) || m.Batch != tm.Batch {
			t.Fatalf("%s: %d items vs %d", line, len(m.Items), len(tm.Items))
		}
		for i := range m.Items {
			a, b := m.Items[i], tm.Items[i]
			if (a.Req == nil) != (b.Req == nil) || string(a.ID) != string(b.ID) {
				t.Fatalf("%s: item %d differs", line, i)
			}
			if a.Req != nil && (a.Req.Method != b.Req.Method || string(a.Req.Params) != string(b.Req.Params) || string(a.Req.Caller) != string(b.Req.Caller)) {
				t.Fatalf("%s: item %d differs: %+v vs %+v", line, i, a.Req, b.Req)
			}
		}
	})
}
