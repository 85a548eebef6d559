package jsonrpc

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
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

// TestHasSpaceRandom: on valid JSON, hasSpace is whether json.Compact
// changes anything, for strings of every length with quotes, backslashes
// and spaces, and whitespace between tokens or not.
func TestHasSpaceRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	alphabet := []string{"a", " ", `"`, `\`, "\n", "\t", "é", "<", "\\\\", `\"`}
	for range 20000 {
		var parts []string
		for range r.IntN(4) + 1 {
			var sb strings.Builder
			for range r.IntN(40) {
				sb.WriteString(alphabet[r.IntN(len(alphabet))])
			}
			s, _ := json.Marshal(sb.String())
			parts = append(parts, string(s))
		}
		sep := ","
		if r.IntN(4) == 0 {
			sep = []string{", ", " ,", ",\n", "\t,"}[r.IntN(4)]
		}
		raw := "[" + strings.Join(parts, sep) + "]"
		var c bytes.Buffer
		if err := json.Compact(&c, []byte(raw)); err != nil {
			t.Fatal(err)
		}
		if got, want := hasSpace([]byte(raw)), c.String() != raw; got != want {
			t.Fatalf("hasSpace(%s) = %v, want %v", raw, got, want)
		}
	}
}
