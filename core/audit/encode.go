package audit

import (
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendLine assembles a record from its chain members and its body: the
// same text encoding/json gives for a Record (FuzzAppendRecord keeps them
// equal), without the reflection, which was the largest cost of a record.
// seq comes first and prev last, so the body (everything between) can be
// encoded before the record's place in the chain is known, outside the
// log's lock.
func appendLine(b []byte, seq uint64, body []byte, prev string) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, body...)
	b = append(b, `,"prev":"`...)
	b = append(b, prev...) // hex (hashLine) or Genesis: nothing to escape
	return append(b, '"', '}')
}

// appendBody encodes r's members from time to duration_us, each with its
// leading comma.
func appendBody(b []byte, r *Record) []byte {
	b = append(b, `,"time":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendOpt(b, "via", r.Via)
	b = append(b, `,"uid":`...)
	b = strconv.AppendInt(b, int64(r.UID), 10)
	if r.PID != 0 {
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, int64(r.PID), 10)
	}
	b = appendOpt(b, "sub", r.Sub)
	b = appendOpt(b, "agent", r.Agent)
	b = appendOpt(b, "jti", r.JTI)
	b = appendOpt(b, "iss", r.Iss)
	b = append(b, `,"method":`...)
	b = appendString(b, r.Method)
	b = appendOpt(b, "resource", r.Resource)
	b = append(b, `,"decision":`...)
	b = appendString(b, r.Decision)
	b = appendOpt(b, "by", r.By)
	b = appendOpt(b, "reason", r.Reason)
	b = appendOpt(b, "approval", r.Approval)
	if len(r.Redacted) > 0 {
		b = appendCounts(b, "redacted", r.Redacted)
	}
	if r.Ref != 0 {
		b = append(b, `,"ref":`...)
		b = strconv.AppendUint(b, r.Ref, 10)
	}
	if r.Repeat != 0 {
		b = append(b, `,"repeat":`...)
		b = strconv.AppendInt(b, int64(r.Repeat), 10)
	}
	b = append(b, `,"duration_us":`...)
	return strconv.AppendInt(b, r.DurationUS, 10)
}

// appendCounts appends a map of counts with its keys sorted, as
// encoding/json does.
func appendCounts(b []byte, key string, m map[string]int) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':', '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(m[k]), 10)
	}
	return append(b, '}')
}

func appendOpt(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json writes
// it: HTML-safe (<, >, & escaped), U+2028/2029 escaped, invalid UTF-8 as
// U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		if n := plainRun(s[i:]); n > 0 { // most of a record: copied as is
			b = append(b, s[i:i+n]...)
			i += n
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// plain marks the ASCII bytes a JSON string carries unescaped.
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// plainRun returns the length of s's leading run of plain bytes.
func plainRun(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || !plain[c] {
			return i
		}
	}
	return len(s)
}
