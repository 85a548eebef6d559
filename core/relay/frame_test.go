package relay

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var frameTests = []struct {
	in      string
	session string
	message string
	close   bool
	bad     bool
}{
	{in: `{"session":"a","message":{"jsonrpc":"2.0","id":1,"method":"ping"}}`, session: "a", message: `{"jsonrpc":"2.0","id":1,"method":"ping"}`},
	{in: `{"session":"a","message":[{"jsonrpc":"2.0","id":1,"method":"ping"}]}`, session: "a", message: `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`},
	{in: `{"message":"x","session":"b","trace":"t-1"}`, session: "b", message: `"x"`},
	{in: `{"session":"a","close":true}`, session: "a", close: true},
	{in: `{"session":"a","close":false,"message":1}`, session: "a", message: `1`},
	{in: `{"session":"a","close":false}`, bad: true},
	{in: `{"session":"a","message":null}`, bad: true},
	{in: `{"session":"a","message":{},"close":true}`, bad: true},
	{in: `{"session":"","close":true}`, bad: true},
	{in: `{"session":"` + strings.Repeat("x", MaxSessionID+1) + `","close":true}`, bad: true},
	{in: `{"session":1,"close":true}`, bad: true},
	{in: `{"session":"a","close":"yes"}`, bad: true},
	{in: `[]`, bad: true},
	{in: `null`, bad: true},
	{in: ``, bad: true},
	{in: `{"session":"a","message":{}} trailing`, bad: true},
}

func TestDecodeFrame(t *testing.T) {
	for _, tt := range frameTests {
		f, err := DecodeFrame([]byte(tt.in))
		if tt.bad {
			if err == nil {
				t.Errorf("DecodeFrame(%s) = %+v, want an error", tt.in, f)
			}
			continue
		}
		if err != nil || f.Session != tt.session || string(f.Message) != tt.message || f.Close != tt.close {
			t.Errorf("DecodeFrame(%s) = %+v, %v", tt.in, f, err)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, id := range []string{"a", `we"ird\id`, "<script>", "ünï"} {
		f, err := DecodeFrame(appendMessage(nil, id, []byte(`{"jsonrpc":"2.0","id":1,"result":true}`)))
		if err != nil || f.Session != id || string(f.Message) != `{"jsonrpc":"2.0","id":1,"result":true}` {
			t.Errorf("message frame for %q: %+v %v", id, f, err)
		}
		f, err = DecodeFrame(appendClose(nil, id))
		if err != nil || f.Session != id || !f.Close {
			t.Errorf("close frame for %q: %+v %v", id, f, err)
		}
	}
}

func TestSessionOf(t *testing.T) {
	for in, want := range map[string]string{
		`{"session":"a","message":{"jsonrpc":"2.0","params":["xxxxxx`: "a",
		` { "session" : "b" , "mess`:                                  "b",
		`{"message":{},"session":"a"}`:                                "",
		`{"session":7,`:                                               "",
		`{"session":"`:                                                "",
		`[{"session":"a"}]`:                                           "",
		`{"session":""}`:                                              "",
	} {
		got, ok := sessionOf([]byte(in))
		if got != want || ok != (want != "") {
			t.Errorf("sessionOf(%s) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, tt := range frameTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b)
		if err != nil {
			return
		}
		if fr.Session == "" || len(fr.Session) > MaxSessionID || fr.Close == (fr.Message != nil) {
			t.Fatalf("DecodeFrame(%q) accepted %+v", b, fr)
		}
		// What we accept re-encodes to a frame that decodes the same.
		var again Frame
		var enc []byte
		if fr.Close {
			enc = appendClose(nil, fr.Session)
		} else {
			enc = appendMessage(nil, fr.Session, fr.Message)
		}
		if again, err = DecodeFrame(enc); err != nil || again.Session != fr.Session || again.Close != fr.Close ||
			!jsonEqual(again.Message, fr.Message) {
			t.Fatalf("re-encoded %q as %q: %+v %v", b, enc, again, err)
		}
	})
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y bytes.Buffer
	json.Compact(&x, a)
	json.Compact(&y, b)
	return bytes.Equal(x.Bytes(), y.Bytes())
}

func FuzzSessionOf(f *testing.F) {
	for _, tt := range frameTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, ok := sessionOf(b)
		if ok && (id == "" || len(id) > MaxSessionID) {
			t.Fatalf("sessionOf(%q) = %q", b, id)
		}
		// The frames this package writes name their session in any prefix
		// long enough to hold it.
		if fr, err := DecodeFrame(b); err == nil && fr.Message != nil {
			enc := appendMessage(nil, fr.Session, fr.Message)
			head := len(appendMessage(nil, fr.Session, nil)) - 1
			if id, ok := sessionOf(enc[:head]); !ok || id != fr.Session {
				t.Fatalf("sessionOf(%q) = %q, %v; want %q", enc[:head], id, ok, fr.Session)
			}
		}
	})
}
