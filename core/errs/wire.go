package errs

import (
	"encoding/json"
	"strconv"
)

// Decode returns the *Error a JSON-RPC error object stands for: the kind
// of its code (a negative code Carapace does not define is kept as it
// is), data.reason and data.hint, and the other data members in Data. It
// renders as the server wrote it, "message (reason): detail [code]".
// data that is not a JSON object is ignored.
func Decode(code int, message string, data []byte) *Error {
	e := &Error{Kind: KindOfCode(code)}
	if e.Kind == Other && code < 0 {
		e.Kind = Kind(code)
	}
	var d map[string]any
	json.Unmarshal(data, &d)
	r := &remote{message: message, code: code}
	for k, v := range d {
		s, _ := v.(string)
		switch k {
		case "reason":
			e.Reason = Reason(s)
		case "hint":
			e.Hint = s
		case "detail":
			r.detail = s
			fallthrough
		default:
			if e.Data == nil {
				e.Data = map[string]any{}
			}
			e.Data[k] = v
		}
	}
	e.Err = r
	return e
}

// remote is the text of an error decoded from a response.
type remote struct {
	message, detail string
	code            int
}

func (r *remote) Error() string { return r.text("") }

func (r *remote) text(reason Reason) string {
	s := r.message
	if reason != "" {
		s += " (" + string(reason) + ")"
	}
	if r.detail != "" {
		s += ": " + r.detail
	}
	return s + " [" + strconv.Itoa(r.code) + "]"
}

// Remote reports whether e was decoded from a response (Decode): it is
// the router's or a service's error, not one made here.
func (e *Error) Remote() bool {
	_, ok := e.Err.(*remote)
	return ok
}
