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
// strict decoder below gives: by hand (quickDecode) or with
// json.Unmarshal (no Decoder: a third of the time and a quarter of the
// garbage), when v points to a struct of plain fields (flatFields) and
// every member of p names one exactly, unescaped. Anything else — an
// error, a name in another case or escaped, an unknown member, a struct
// with nested values, where unknown members would be refused further
// down — reports false, and the strict decoder decides and words the
// error, as before.
func flatKnown(p []byte, v any) bool {
	fields := flatFields(reflect.TypeOf(v))
	if fields == nil {
		return false
	}
	if quickDecode(p, reflect.ValueOf(v).Elem(), fields) {
		return true
	}
	return json.Unmarshal(p, v) == nil && membersKnown(p, fields)
}

// field is a plain field of a params struct: its index and kind.
type field struct {
	index int
	kind  reflect.Kind
}

// flatFields returns the fields of the struct t points to by JSON name,
// when every field is plain — a bool, number or string, a slice of them,
// or json.RawMessage (inside which nothing is refused) — and no two share
// a name; else nil.
func flatFields(t reflect.Type) map[string]field {
	if n, ok := flatCache.Load(t); ok {
		return n.(map[string]field)
	}
	var fields map[string]field
	if t != nil && t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
		fields = map[string]field{}
		for _, f := range reflect.VisibleFields(t.Elem()) {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case f.Anonymous || !plain(f.Type):
				fields = nil
			case !f.IsExported() || name == "-" && !strings.HasPrefix(f.Tag.Get("json"), "-,"):
				continue
			case name == "":
				name = f.Name
			case strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "":
				fields = nil // a name encoding/json may not take as it is
			}
			if _, dup := fields[name]; fields == nil || dup {
				fields = nil
				break
			}
			kind := f.Type.Kind()
			if f.Type.Name() != kind.String() {
				kind = reflect.Invalid // a named type (json.Marshaler?): json.Unmarshal's
			}
			fields[name] = field{index: f.Index[0], kind: kind}
		}
	}
	flatCache.Store(t, fields)
	return fields
}

var flatCache sync.Map // reflect.Type → map[string]field (nil: not flat)

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
// JSON) is in fields as it stands: no escapes.
func membersKnown(p []byte, fields map[string]field) bool {
	i := skipSpace(p, 1)
	for i < len(p) && p[i] == '"' {
		end := bytes.IndexByte(p[i+1:], '"') + i + 1
		key := p[i+1 : end]
		if _, ok := fields[string(key)]; !ok || bytes.IndexByte(key, '\\') >= 0 {
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
