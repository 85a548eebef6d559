package jsonrpc

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestCompact: Compact removes the whitespace between tokens, as
// json.Compact does; spaces inside strings alone do not send a message
// through json.Compact.
func TestCompact(t *testing.T) {
	for _, in := range []string{
		`{"a":1}`, `{"a": 1}`, `{"content":"the quick brown fox"}`, `{"s":"a \" b","t": 2}`,
		`{"s":"ends in backslash \\","n":[1, 2]}`, `{"s":"\\\" \\\\"}`, "{\"a\":\n1}", `["x y",	"z"]`,
		`{"s":"unterminated `, `"just a string with spaces"`, ` {"lead":1}`,
	} {
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(in)); err != nil {
			want.Reset()
			want.WriteString(in)
		}
		got := Compact(json.RawMessage(in))
		if string(got) != want.String() {
			t.Errorf("Compact(%s) = %s, want %s", in, got, want.String())
		}
	}
	for in, want := range map[string]bool{
		`{"content":"the quick brown fox"}`: false, `{"s":"a \" b"}`: false, `{"s":"a \\" , "t":1}`: true,
		`{"a": 1}`: true, "[1,\n2]": true, `"x y"`: false,
	} {
		if hasSpace([]byte(in)) != want {
			t.Errorf("hasSpace(%s) = %v", in, !want)
		}
	}
}
