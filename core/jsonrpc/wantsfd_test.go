package jsonrpc

import (
	"encoding/json"
	"testing"
)

func TestWantsFD(t *testing.T) {
	for in, want := range map[string]bool{
		`{"size":3,"fd":true}`:            true,
		`{"fd":true}`:                     true,
		`{"fd":false}`:                    false,
		`{"a":{"fd":true}}`:               false,
		`{"content":"\"fd\":true"}`:       false,
		`{"fd":true`:                      false,
		`["fd",true]`:                     false,
		`{"x":"y","fd":true,"z":[1,2,3]}`: true,
		`{"fd":"true"}`:                   false,
		`null`:                            false,
		``:                                false,
	} {
		if got := WantsFD(json.RawMessage(in)); got != want {
			t.Errorf("WantsFD(%s) = %v, want %v", in, got, want)
		}
	}
}

// TestSendFDPairsInOrder sends, from many goroutines at once, messages
// with and without descriptors (some larger than the socket buffer, so
// writes are partial and queued), in both write modes: every descriptor
// must reach the message that says "fd": true for it, and none may be
// left open on either side.

// FuzzWantsFD checks WantsFD against encoding/json: true exactly when the
// input is a JSON object whose top-level "fd" member is true.
func FuzzWantsFD(f *testing.F) {
	for _, s := range []string{`{"size":3,"fd":true}`, `{"fd":false}`, `{"a":{"fd":true}}`,
		`{"content":"\"fd\":true"}`, `{"fd":true`, `{"fd":true,"fd":false}`, `{"f\u0064":true}`, `{"fd" : true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m map[string]json.RawMessage
		want := false
		if json.Unmarshal(b, &m) == nil && m != nil {
			want = string(m["fd"]) == "true"
		}
		if got := WantsFD(b); got != want {
			t.Fatalf("WantsFD(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}
