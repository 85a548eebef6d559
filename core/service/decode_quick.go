package service

import (
	"reflect"
	"strconv"
	"unicode/utf8"
)

// quickDecode decodes the params object p into the struct s by hand, when
// p is of the plain shape nearly every call's params are: members named
// exactly as fields are, each a string without escapes or control
// characters, true or false, or an integer in JSON's own form that fits
// its field. It then sets what json.Unmarshal would set and reports
// true. Anything else — other space than JSON's, an escape, a float,
// null, another kind of field, a syntax error — reports false, perhaps
// with some fields set, for json.Unmarshal (which sets them again) and
// the strict decoder to decide.
func quickDecode(p []byte, s reflect.Value, fields map[string]field) bool {
	i := skipSpace(p, 0)
	if i >= len(p) || p[i] != '{' {
		return false
	}
	i = skipSpace(p, i+1)
	if i < len(p) && p[i] == '}' {
		return skipSpace(p, i+1) == len(p)
	}
	for {
		key, j, ok := plainString(p, i)
		if !ok {
			return false
		}
		f, known := fields[string(key)]
		if !known {
			return false
		}
		if i = skipSpace(p, j); i >= len(p) || p[i] != ':' {
			return false
		}
		if i, ok = setValue(p, skipSpace(p, i+1), s.Field(f.index), f.kind); !ok {
			return false
		}
		switch i = skipSpace(p, i); {
		case i < len(p) && p[i] == ',':
			i = skipSpace(p, i+1)
		case i < len(p) && p[i] == '}':
			return skipSpace(p, i+1) == len(p)
		default:
			return false
		}
	}
}

// plainString returns the content of the string at p[i] and the index
// past it, when it has no escape and no control character and is valid
// UTF-8 (what encoding/json would copy as it is).
func plainString(p []byte, i int) ([]byte, int, bool) {
	if i >= len(p) || p[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(p); j++ {
		switch c := p[j]; {
		case c == '"':
			return p[i+1 : j], j + 1, utf8.Valid(p[i+1 : j])
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// setValue sets f, of kind k, from the value at p[i] and returns the
// index past it, when the value is one quickDecode takes for that kind.
func setValue(p []byte, i int, f reflect.Value, k reflect.Kind) (int, bool) {
	switch k {
	case reflect.String:
		s, j, ok := plainString(p, i)
		if ok {
			f.SetString(string(s))
		}
		return j, ok
	case reflect.Bool:
		switch {
		case hasWord(p, i, "true"):
			f.SetBool(true)
			return i + 4, true
		case hasWord(p, i, "false"):
			f.SetBool(false)
			return i + 5, true
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		j, ok := integer(p, i, true)
		if n, err := strconv.ParseInt(string(p[i:j]), 10, f.Type().Bits()); ok && err == nil {
			f.SetInt(n)
			return j, true
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		j, ok := integer(p, i, false)
		if n, err := strconv.ParseUint(string(p[i:j]), 10, f.Type().Bits()); ok && err == nil {
			f.SetUint(n)
			return j, true
		}
	}
	return 0, false
}

// hasWord reports whether p holds w at i, not followed by a letter or
// digit (a literal that runs on is a syntax error, left to the decoder).
func hasWord(p []byte, i int, w string) bool {
	if i+len(w) > len(p) || string(p[i:i+len(w)]) != w {
		return false
	}
	return i+len(w) == len(p) || !isWordByte(p[i+len(w)])
}

// integer returns the end of the integer at p[i] in JSON's form: an
// optional minus (when signed), then 0 or a digit 1-9 and more digits,
// not followed by a fraction, an exponent or another digit.
func integer(p []byte, i int, signed bool) (int, bool) {
	j := i
	if signed && j < len(p) && p[j] == '-' {
		j++
	}
	start := j
	for j < len(p) && '0' <= p[j] && p[j] <= '9' {
		j++
	}
	switch {
	case j == start, p[start] == '0' && j > start+1:
		return j, false
	case j < len(p) && (p[j] == '.' || p[j] == 'e' || p[j] == 'E' || isWordByte(p[j])):
		return j, false
	}
	return j, true
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c >= 0x80
}
