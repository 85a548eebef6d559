package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/errs"
)

func TestDecode(t *testing.T) {
	type P struct {
		Path string `json:"path"`
		N    int    `json:"n"`
	}
	for _, tc := range []struct {
		in   string
		ok   bool
		path string
	}{
		{`{"path":"/a","n":1}`, true, "/a"},
		{``, true, ""},
		{`null`, true, ""},
		{`{"path":"/a","bogus":1}`, false, ""},
		{`["/a"]`, false, ""},
		{`{"n":"x"}`, false, ""},
		{`{"path":"/a"} {}`, false, ""},
	} {
		var p P
		err := Decode(json.RawMessage(tc.in), &p)
		if (err == nil) != tc.ok {
			t.Errorf("Decode(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if err != nil && errs.KindOf(err) != errs.InvalidParams {
			t.Errorf("Decode(%q) kind = %v, want InvalidParams", tc.in, errs.KindOf(err))
		}
		if err == nil && p.Path != tc.path {
			t.Errorf("Decode(%q) path = %q", tc.in, p.Path)
		}
	}
}

func TestTableDuplicatePanics(t *testing.T) {
	var tb Table
	tb.Register("a.b", nil)
	defer func() {
		if recover() == nil {
			t.Fatal("second Register did not panic")
		}
	}()
	tb.Register("a.b", nil)
}

// strictDecode is decodeParams as it was before its quick path: every
// params object through a json.Decoder that refuses unknown members.
func strictDecode(params json.RawMessage, v any) error {
	p := bytes.TrimSpace(params)
	if len(p) == 0 || bytes.Equal(p, []byte("null")) {
		p = []byte("{}")
	}
	if p[0] != '{' {
		return errors.New("not an object")
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return paramError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after params")
	}
	return nil
}

// The params shapes the equivalence test decodes into: flat (the quick
// path), and ones the quick path leaves to the strict decoder.
type (
	flatParams struct {
		Path   string          `json:"path"`
		Offset int64           `json:"offset,omitempty"`
		Sync   bool            `json:"sync"`
		Tags   []string        `json:"tags"`
		Raw    json.RawMessage `json:"raw"`
		Ratio  float64
		Skip   string `json:"-"`
		//lint:ignore SA5008 the member named "-", as encoding/json reads this tag: the decoders must agree on it
		Dash  string `json:"-,"`
		Small int8   `json:"small"`
		Count uint16 `json:"count"`
		Mode  mode   `json:"mode"`
		//lint:ignore U1000 an unexported field, which no decoder may set
		hidden int
	}
	mode         string
	nestedParams struct {
		Path string `json:"path"`
		Opt  struct {
			Deep bool `json:"deep"`
		} `json:"opt"`
	}
	embeddedParams struct {
		flatParams
		Extra string `json:"extra"`
	}
)

// decodeInputs are params texts built from members the shapes know, in
// other cases, escaped, unknown, of the wrong type, nested, duplicated,
// with space and trailing data.
func decodeInputs(r *rand.Rand, n int) []string {
	members := []string{`"path":"/a/b"`, `"PATH":"/c"`, `"pa\u0074h":"/e"`, `"offset":12`, `"offset":-1.5`, `"offset":"7"`,
		`"sync":true`, `"sync":1`, `"tags":["x","y"]`, `"tags":[1]`, `"raw":{"any":[1,{"x":"}"}]}`, `"Ratio":0.5`, `"ratio":2`,
		`"-":"dash"`, `"Skip":"s"`, `"hidden":3`, `"bogus":null`, `"opt":{"deep":true}`, `"opt":{"deep":true,"x":1}`,
		`"extra":"e"`, `"path":"q\"uo\\te"`, `"path" : "sp" `, `"tags":null`, `"Path":"/f"`,
		`"offset":0`, `"offset":-0`, `"offset":01`, `"offset":1e3`, `"offset":1.0`, `"offset":-`, `"offset":12x`,
		`"offset":9223372036854775807`, `"offset":9223372036854775808`, `"offset":-9223372036854775808`,
		`"small":127`, `"small":128`, `"small":-128`, `"count":65535`, `"count":65536`, `"count":-1`, `"count":true`,
		`"path":"\u00e9"`, `"path":"é"`, "\"path\":\"\xff\"", "\"path\":\"a\tb\"", `"path":""`, `"path":null`, `"path":1`,
		`"sync":false`, `"sync":truex`, `"sync":null`, `"sync":"true"`, "\"path\"\t:\r\"t\"", `"mode":"create"`, `"mode":1`}
	out := []string{``, `null`, ` {} `, `{}`, `[]`, `{"path":"/a"} {}`, `{"path":"/a"}x`, `{"path":`,
		`{ }`, `{ , }`, `{"path":"a",}`, `{"path" "a"}`, `{"path":"a"`, `{"path":"a"}}`, `{"sync":true }`, "{\"sync\":true\u00a0}"}
	for range n {
		var b strings.Builder
		b.WriteString([]string{"{", " { ", "{\n", "{\t"}[r.IntN(4)])
		for i := range r.IntN(5) {
			if i > 0 {
				b.WriteString([]string{",", " , ", ",\r\n", ",,"}[r.IntN(4)*r.IntN(2)])
			}
			b.WriteString(members[r.IntN(len(members))])
		}
		b.WriteString([]string{"}", " }\n", "} {}", "}}"}[r.IntN(4)*r.IntN(2)])
		out = append(out, b.String())
	}
	return out
}

// TestDecodeMatchesStrict: Decode gives what the strict decoder gives —
// the same values, and an error exactly when it errs — into flat,
// nested and embedded params.
func TestDecodeMatchesStrict(t *testing.T) {
	for _, in := range decodeInputs(rand.New(rand.NewPCG(7, 8)), 20000) {
		checkDecode(t, in)
	}
}

// FuzzDecodeMatchesStrict: the same on any text.
func FuzzDecodeMatchesStrict(f *testing.F) {
	for _, in := range decodeInputs(rand.New(rand.NewPCG(9, 10)), 50) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) { checkDecode(t, in) })
}

func checkDecode(t *testing.T, in string) {
	t.Helper()
	for _, mk := range []func() any{
		func() any { return new(flatParams) },
		func() any { return new(nestedParams) },
		func() any { return new(embeddedParams) },
	} {
		got, want := mk(), mk()
		gerr, werr := decodeParams(json.RawMessage(in), got), strictDecode(json.RawMessage(in), want)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("%T %q: Decode err %v, strict err %v", got, in, gerr, werr)
		}
		if gerr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%T %q: Decode %+v, strict %+v", got, in, got, want)
		}
	}
}

// TestFlatFields: the quick paths take flat params and leave the rest.
func TestFlatFields(t *testing.T) {
	got := map[string]bool{}
	for name := range flatFields(reflect.TypeOf(&flatParams{})) {
		got[name] = true
	}
	want := map[string]bool{"path": true, "offset": true, "sync": true, "tags": true, "raw": true, "Ratio": true, "-": true,
		"small": true, "count": true, "mode": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flatFields(flatParams) = %v, want %v", got, want)
	}
	for _, v := range []any{&nestedParams{}, &embeddedParams{}, flatParams{}, new(map[string]string)} {
		if got := flatFields(reflect.TypeOf(v)); got != nil {
			t.Errorf("flatFields(%T) = %v, want nil (the strict decoder)", v, got)
		}
	}
}

// TestQuickDecode: the hand decoder takes the params calls send, and
// leaves anything unusual to json.Unmarshal and the strict decoder.
func TestQuickDecode(t *testing.T) {
	fields := flatFields(reflect.TypeOf(&flatParams{}))
	for in, quick := range map[string]bool{
		`{"path":"/a/b é","offset":-12,"sync":true,"small":-128,"count":65535}`: true,
		` { "path" : "/a" , "sync" : false } `:                                  true,
		`{}`:                                                                    true,
		`{"path":"\u00e9"}`:                                                     false, // an escape
		`{"offset":1e3}`:                                                        false,
		`{"small":128}`:                                                         false, // too big: the decoder's error
		`{"path":null}`:                                                         false,
		`{"tags":["a"]}`:                                                        false, // a slice: json.Unmarshal's
		`{"mode":"create"}`:                                                     false, // a named type
		`{"PATH":"/a"}`:                                                         false,
		`{"path":"/a",}`:                                                        false,
	} {
		var got flatParams
		if ok := quickDecode([]byte(in), reflect.ValueOf(&got).Elem(), fields); ok != quick {
			t.Errorf("quickDecode(%s) = %v, want %v", in, ok, quick)
			continue
		}
		if quick {
			var want flatParams
			if err := strictDecode(json.RawMessage(in), &want); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("quickDecode(%s) = %+v, strict %+v (%v)", in, got, want, err)
			}
		}
	}
}
