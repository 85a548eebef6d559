package jsonrpc

import (
	"encoding/json"
	"strings"
	"testing"
)

// validCases are texts at the edges of the grammar, each checked against
// encoding/json and given to FuzzValidMatchesEncodingJSON as seeds.
var validCases = []string{
	``, ` `, `{}`, `[]`, ` {"a" : [1, -2.5e+3, true, false, null, "x"]} `,
	`{"a":1,}`, `[1,]`, `[,1]`, `{"a"}`, `{"a":}`, `{1:2}`, `{"a":1 "b":2}`,
	`01`, `-`, `-0`, `-01`, `1.`, `1.e5`, `.5`, `1e`, `1e+`, `1E-7`, `0.0e0`, `+1`,
	`tru`, `truex`, `nul`, `null null`, `"a`, `"\u12"`, `"\u12G4"`, `"\uABCD"`,
	`"\x"`, `"\/\b\f\n\r\t\"\\"`, "\"\x1f\"", "\"\x7f\"", "\"\xff\xfe\"", "\"tab\there\"",
	"[1\x00]", "{\"a\":1}\x00", `[[[]]]`, `[{"a":[{"b":{}}]}]`, `"\`, `"\u`, `{"a":1`,
	`{"jsonrpc":"2.0","id":1,"method":"echo","params":{"msg":"hello"}}`,
	strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting),
	strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1),
	strings.Repeat(`{"a":`, maxNesting) + "1" + strings.Repeat("}", maxNesting),
	strings.Repeat(`{"a":`, maxNesting+1) + "1" + strings.Repeat("}", maxNesting+1),
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, s := range append(validCases, parseSeeds...) {
		if got, want := valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("valid(%.40q) = %v, json.Valid %v", s, got, want)
		}
	}
}

// FuzzValidMatchesEncodingJSON checks that valid accepts exactly what
// json.Valid accepts.
func FuzzValidMatchesEncodingJSON(f *testing.F) {
	for _, s := range append(validCases, parseSeeds...) {
		if len(s) < 1000 {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := valid(b), json.Valid(b); got != want {
			t.Fatalf("valid(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	line := []byte(`{"jsonrpc":"2.0","id":1,"method":"file.stat","params":{"path":"/home/someone/Documents/bench-small.txt"}}`)
	b.Run("valid", func(b *testing.B) {
		for b.Loop() {
			valid(line)
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		for b.Loop() {
			json.Valid(line)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	line := []byte(`{"jsonrpc":"2.0","id":1,"method":"file.stat","params":{"path":"/home/someone/Documents/bench-small.txt"}}`)
	b.ReportAllocs()
	for b.Loop() {
		Parse(line)
	}
}
