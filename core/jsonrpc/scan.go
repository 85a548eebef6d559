package jsonrpc

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// This file walks the top level of a JSON text that valid (valid.go) has
// already accepted, without decoding what it does not need: the router
// only looks at a message's envelope (jsonrpc, id, method, params) and
// forwards the rest as raw bytes. On the hot path this replaces a map decode per
// message; a differential fuzz test keeps it in step with encoding/json.

// isSpace reports JSON insignificant whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipValue returns the index just past the value starting at b[i], at
// most len(b). On valid JSON it is exact; on anything else (ParseTrusted's
// input is not re-validated) it returns some index, never panics.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		start := i
		for i < len(b) && !isSpace(b[i]) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
			i++
		}
		if i == start { // not a value (invalid input): step over it
			i++
		}
		return i
	}
}

// skipString returns the index just past the string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); {
		q := bytes.IndexByte(b[i:], '"') // long strings (tokens) are scanned a word at a time
		if q < 0 {
			return len(b)
		}
		i += q
		// The quote ends the string unless an odd run of backslashes
		// escapes it.
		esc := 0
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			esc++
		}
		i++
		if esc%2 == 0 {
			return i
		}
	}
	return len(b)
}

// members calls fn with each member of the object b (valid JSON, starting
// with '{'), the key decoded and the value raw. It stops when fn returns
// false. The key is only valid during the call (it may alias b): compare
// it with a switch on string(key), which does not allocate.
func members(b []byte, fn func(key []byte, val []byte) bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		end := skipString(b, i)
		key := keyBytes(b[i:end])
		i = skipSpace(b, end)
		if i >= len(b) {
			return
		}
		i = skipSpace(b, i+1) // the ':'
		vend := skipValue(b, i)
		if !fn(key, b[i:vend]) {
			return
		}
		i = skipSpace(b, vend)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
}

// elements returns the raw elements of the array b (valid JSON).
func elements(b []byte) []json.RawMessage {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil
	}
	var out []json.RawMessage
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != ']' {
		end := skipValue(b, i)
		out = append(out, b[i:end])
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return out
}

// decodeString decodes a raw JSON string token. Valid UTF-8 without
// escapes is the common case and is copied directly; anything else goes
// through encoding/json, which replaces invalid UTF-8 with U+FFFD.
func decodeString(raw []byte) string {
	if b, ok := unquoted(raw); ok {
		return string(b)
	}
	var s string
	json.Unmarshal(raw, &s)
	return s
}

// keyBytes decodes a raw JSON string token used as a member name without
// copying it when it needs no decoding (every key the protocol knows).
func keyBytes(raw []byte) []byte {
	if b, ok := unquoted(raw); ok {
		return b
	}
	return []byte(decodeString(raw))
}

// unquoted returns the bytes between raw's quotes when they are the
// string itself: valid UTF-8 without escapes.
func unquoted(raw []byte) ([]byte, bool) {
	if len(raw) >= 2 && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return raw[1 : len(raw)-1], true
	}
	return nil, false
}
