package sandbox

import (
	"reflect"
	"strings"
	"testing"
)

var requestSeeds = []string{
	`{"args":["--spec","e30","--","/bin/true"],"env":["PATH=/usr/bin"],"dir":"/tmp","stdin":true}`,
	`{"args":[],"env":[],"dir":"/","stdin":false}`,
	`{"args":["--"],"env":["A=1=2"],"dir":"/x"}`,
	`{"dir":"relative"}`,
	`{"dir":"/","env":["NOEQUALS"]}`,
	`{"dir":"/","env":["=x"]}`,
	`{"dir":"/","x":1}`,
	`{"dir":"/"} {}`,
	`{"dir":"/","args":["a\u0000b"]}`,
	`[]`,
}

func TestRequestRoundTrip(t *testing.T) {
	r := Request{Args: []string{"--spec", "S", "--", "sh", "-c", "echo ü"}, Env: []string{"PATH=/bin", "X=a=b"}, Dir: "/tmp", Stdin: true}
	got, err := DecodeRequest(r.Encode())
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
}

func TestDecodeRequestRefuses(t *testing.T) {
	for _, s := range requestSeeds[3:] {
		if _, err := DecodeRequest([]byte(s)); err == nil {
			t.Errorf("DecodeRequest(%s) accepted it", s)
		}
	}
	if _, err := DecodeRequest([]byte(`{"dir":"/","args":["` + strings.Repeat("a", maxRequest) + `"]}`)); err == nil {
		t.Error("an oversized request was accepted")
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			return
		}
		again, err := DecodeRequest(r.Encode())
		if err != nil || !reflect.DeepEqual(normal(again), normal(r)) {
			t.Fatalf("re-encoding %+v: %+v, %v", r, again, err)
		}
		if !strings.HasPrefix(r.Dir, "/") {
			t.Fatalf("accepted directory %q", r.Dir)
		}
	})
}

// normal makes nil and empty slices compare equal.
func normal(r Request) Request {
	if len(r.Args) == 0 {
		r.Args = nil
	}
	if len(r.Env) == 0 {
		r.Env = nil
	}
	return r
}
