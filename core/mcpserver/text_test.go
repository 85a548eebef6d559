package mcpserver

import (
	"encoding/json"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestUnifiedDiffMatchesJSDiff replays diffs made by the jsdiff library
// (the reference server's createTwoFilesPatch, diff 8.0.4) on random line
// soups: testdata/jsdiff-gen.mjs made testdata/jsdiff-cases.json. Every
// one must come out byte for byte the same.
func TestUnifiedDiffMatchesJSDiff(t *testing.T) {
	b, err := os.ReadFile("testdata/jsdiff-cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases [][3]string
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if got := unifiedDiff("/f", c[0], c[1]); got != c[2] {
			t.Errorf("old %q new %q\ngot:\n%s\nwant:\n%s", c[0], c[1], got, c[2])
		}
	}
}

func TestApplyEdits(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		edits    []edit
		want     string
		err      string
	}{
		{"exact, first only", "a\nb\na\n", []edit{{"a", "x"}}, "x\nb\na\n", ""},
		{"sequential", "one two", []edit{{"one", "1"}, {"1 two", "12"}}, "12", ""},
		{"crlf in edit", "a\nb\n", []edit{{"a\r\nb", "c"}}, "c\n", ""},
		{"indentation ignored, re-indented", "func f() {\n\t\treturn 1\n}\n", []edit{{"return 1", "return 2"}}, "func f() {\n\t\treturn 2\n}\n", ""},
		// As the reference server does it: the first line takes the match's
		// indentation; a later line keeps its own unless the old line at
		// its index was indented too (checked with its implementation).
		{"whitespace-flexible lines", "  if x {\n    y()\n  }\n", []edit{{"if x {\n  y()\n}", "if z {\n  w()\n}"}}, "  if z {\n  w()\n}\n", ""},
		{"relative indentation kept", "\tif x {\n\t\ty()\n\t}\n", []edit{{"if x {\n  y()\n}", "if z {\n    w()\n}"}}, "\tif z {\n\t  w()\n}\n", ""},
		{"no match", "abc", []edit{{"zzz", "y"}}, "", "Could not find exact match for edit:\nzzz"},
		{"$ patterns are literal", "a", []edit{{"a", "$&$1"}}, "$&$1", ""},
	} {
		got, err := applyEdits(tc.in, tc.edits)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if got := fencedDiff("x ``` y\n"); !strings.HasPrefix(got, "````diff\n") || !strings.HasSuffix(got, "````\n\n") {
		t.Errorf("fence around backticks: %q", got)
	}
}

func TestFormats(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1: "1 B", 1023: "1023 B", 1024: "1.00 KB", 1536: "1.50 KB", 5 << 20: "5.00 MB", 3 << 40: "3.00 TB", 5 << 50: "5120.00 TB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
	if got, want := padEnd("é", 3)+"|", "é  |"; got != want {
		t.Errorf("padEnd %q", got)
	}
	if got, want := padStart("😀", 3), " 😀"; got != want { // a surrogate pair counts two
		t.Errorf("padStart %q", got)
	}
	t.Setenv("TZ", "UTC")
	time.Local = time.UTC
	d := time.Date(2026, 12, 6, 21, 24, 8, 0, time.UTC)
	if got, want := jsDate(d), "Sun Dec 06 2026 21:24:08 GMT+0000 (Coordinated Universal Time)"; got != want {
		t.Errorf("jsDate = %q, want %q", got, want)
	}
	names := []string{"été.txt", "Zebra.txt", "apple.txt", "9.txt", "_under.txt", "Apple2.txt", "10.txt"}
	sort.SliceStable(names, func(i, j int) bool { return nameOrder()(names[i], names[j]) })
	if got, want := strings.Join(names, " "), "_under.txt 10.txt 9.txt apple.txt Apple2.txt été.txt Zebra.txt"; got != want {
		t.Errorf("name order %q, want %q (Node's localeCompare)", got, want)
	}
}

func TestGlobs(t *testing.T) {
	for _, tc := range []struct {
		pat, rel string
		want     bool
	}{
		{"*.txt", "a.txt", true}, {"*.txt", "d/a.txt", false}, {"**/*.txt", "a.txt", true},
		{"**/*.txt", "d/e/a.txt", true}, {"sub/**", "sub", false}, {"sub/**", "sub/x", true}, {"*", ".hidden", true}, {"{a,b}.go", "b.go", true}, {"[", "x", false},
	} {
		if got := globMatch(tc.pat, tc.rel); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v", tc.pat, tc.rel, got)
		}
	}
	if !excludedTree("x/node_modules/y", []string{"node_modules"}) || excludedTree("x/nodes", []string{"node_modules"}) {
		t.Error("excludedTree: a bare name excludes that name at any depth and below")
	}
}

func TestValidate(t *testing.T) {
	s := json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"},"n":{"type":"number"},"xs":{"type":"array","minItems":1,"items":{"type":"string"}},"by":{"type":"string","enum":["name","size"]}},"required":["path"]}`)
	for args, want := range map[string]string{
		`{"path":"x"}`:              "",
		`{"path":"x","n":2.5}`:      "",
		`{}`:                        `missing required member "path"`,
		`{"path":5}`:                "path: want string, got number",
		`{"path":"x","xs":[]}`:      "want at least 1 items",
		`{"path":"x","xs":[1]}`:     "xs[0]: want string, got number",
		`{"path":"x","by":"date"}`:  `want one of`,
		`{"path":"x","n":"2"}`:      "n: want number, got string",
		`[1,2]`:                     "want object, got array",
		`{"path":"x","extra":true}`: "",
	} {
		err := validate(s, json.RawMessage(args))
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", args, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", args, err, want)
		}
	}
}

// TestEncodeMessageAsSDK: the stdio transport's own encoding of a
// response is byte for byte the SDK's.
func TestEncodeMessageAsSDK(t *testing.T) {
	for _, raw := range []any{float64(7), float64(-1), "a\"<b>"} {
		id, err := jsonrpc.MakeID(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range []string{`{"content":[{"type":"text","text":"x\n\u003c\u2028é"}]}`, `{}`} {
			r := &jsonrpc.Response{ID: id, Result: json.RawMessage(res)}
			want, err := jsonrpc.EncodeMessage(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodeMessage(r)
			if err != nil || string(got) != string(want)+"\n" {
				t.Errorf("encodeMessage(%v, %s) = %s, %v; the SDK: %s", id.Raw(), res, got, err, want)
			}
		}
	}
	for _, line := range []string{`{"jsonrpc":"2.0"`, `[1]`, `nope`} {
		if _, code, _ := decodeLine([]byte(line)); code == 0 {
			t.Errorf("decodeLine(%s) took it", line)
		}
	}
}
