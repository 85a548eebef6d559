package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"

	"github.com/gimme-tools/carapace/core/errs"
)

func decodeParams(params json.RawMessage, v any) error {
	p := bytes.TrimSpace(params)
	if len(p) == 0 || bytes.Equal(p, []byte("null")) {
		p = []byte("{}")
	}
	if p[0] != '{' {
		return errs.E(errs.InvalidParams, errs.ReasonParamsByName,
			errs.Hint("pass params as an object, for example {\"path\": \"…\"}"))
	}
	if flatKnown(p, v) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errs.E(errs.InvalidParams, errs.ReasonBadParams, paramError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.E(errs.InvalidParams, errs.ReasonBadParams, errors.New("trailing data after params"))
	}
	return nil
}

// paramError rewrites encoding/json's messages into ones that name the
// parameter a caller got wrong.
func paramError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return errors.New("param " + te.Field + ": expected " + te.Type.String() + ", got " + te.Value)
	}
	return err
}

// flatKnown decodes p into v the quick way when that gives what the
// strict decoder below gives: json.Unmarshal (no Decoder, a third of the
// time and a quarter of the garbage) when v points to a struct of plain
// fields (flatNames) and every member of p names one exactly, unescaped.
// Anything else — an error, a name in another case or escaped, an
// unknown member, a struct with nested values, where unknown members
// would be refused further down — reports false, and the strict decoder
// decides and words the error, as before.
func flatKnown(p []byte, v any) bool {
	names := flatNames(reflect.TypeOf(v))
	if names == nil || json.Unmarshal(p, v) != nil {
		return false
	}
	return membersKnown(p, names)
}

// flatNames returns the JSON names of the fields of the struct t points
// to, when every field is plain — a bool, number or string, a slice of
// them, or json.RawMessage (inside which nothing is refused) — and no two
// share a name; else nil.
func flatNames(t reflect.Type) map[string]bool {
	if n, ok := flatCache.Load(t); ok {
		return n.(map[string]bool)
	}
	var names map[string]bool
	if t != nil && t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
		names = map[string]bool{}
		for _, f := range reflect.VisibleFields(t.Elem()) {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case f.Anonymous || !plain(f.Type):
				names = nil
			case !f.IsExported() || name == "-" && !strings.HasPrefix(f.Tag.Get("json"), "-,"):
				continue
			case name == "":
				name = f.Name
			case strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "":
				names = nil // a name encoding/json may not take as it is
			}
			if names == nil || names[name] {
				names = nil
				break
			}
			names[name] = true
		}
	}
	flatCache.Store(t, names)
	return names
}

var flatCache sync.Map // reflect.Type → map[string]bool (nil: not flat)

func plain(t reflect.Type) bool {
	if t == reflect.TypeFor[json.RawMessage]() {
		return true
	}
	if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// membersKnown reports whether every member name of the object p (valid
// JSON) is in names as it stands: no escapes.
func membersKnown(p []byte, names map[string]bool) bool {
	i := skipSpace(p, 1)
	for i < len(p) && p[i] == '"' {
		end := bytes.IndexByte(p[i+1:], '"') + i + 1
		key := p[i+1 : end]
		if bytes.IndexByte(key, '\\') >= 0 || !names[string(key)] {
			return false
		}
		i = skipValue(p, skipSpace(p, end+1)+1) // past the ':' and the value
		if i < len(p) && p[i] == ',' {
			i = skipSpace(p, i+1)
		}
	}
	return true
}

func skipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index of the ',' or '}' after the member value
// (valid JSON) that starts at or after p[i].
func skipValue(p []byte, i int) int {
	depth := 0
	for i = skipSpace(p, i); i < len(p); i++ {
		switch c := p[i]; c {
		case '"':
			for i++; p[i] != '"'; i++ {
				if p[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}
