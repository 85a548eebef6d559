package jsonrpc

import (
	"encoding/json"
	"testing"
)

var looseSeeds = []string{
	`{"path":"/a"}`, `{"Path":"/a","PATH":"/b"}`, `{"path":"/a","path":null}`, `{"path":1}`,
	`{"pa\u0074h":"/x"}`, `{"path":"/a\u0000b"}`, `{"paTh":"\ud800"}`, `{"pathx":"/a","x":{"path":"/b"}}`,
	`{"ſath":"/a"}`, `{"path":"/a","ſ":1}`, `{}`, `[]`, `null`, `{"path":["/a"]}`, `{"path":"\"q\\"}`,
}

func TestLooseStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range looseSeeds {
		checkLoose(t, []byte(s))
	}
}

// FuzzLooseStringMatchesEncodingJSON checks that whenever LooseString
// reads a member, encoding/json reads the same value without error.
func FuzzLooseStringMatchesEncodingJSON(f *testing.F) {
	for _, s := range looseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if valid(b) {
			checkLoose(t, b)
		}
	})
}

func checkLoose(t *testing.T, b []byte) {
	t.Helper()
	got, ok := LooseString(b, "path")
	if !ok {
		return
	}
	var p struct{ Path string }
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("LooseString(%s) = %q, but encoding/json: %v", b, got, err)
	}
	if got != p.Path {
		t.Fatalf("LooseString(%s) = %q, encoding/json %q", b, got, p.Path)
	}
}
