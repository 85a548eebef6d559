// Package errs defines Carapace's one error type: an operation, a kind, a
// machine-readable reason and a hint a person can act on.
//
// Kinds map one-to-one onto the JSON-RPC error codes in DESIGN.md, so an
// error made deep inside a service reaches the caller, the audit log and the
// CLI with the same meaning; Decode turns an error response back into an
// *Error. Every reason is a constant in reasons.go, documented in
// docs/protocol.md. Match compares an error with a template. The style
// follows upspin's errors package; docs/internals.md ("Errors") says how
// the pieces fit.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error. Its value is the JSON-RPC error code it becomes
// on the wire.
type Kind int

// The kinds. The first five are JSON-RPC 2.0's own (section 5.1); the rest
// are Carapace's server-defined codes (DESIGN.md, "Wire protocol").
const (
	Other          Kind = 0      // unclassified; reported as Internal
	Parse          Kind = -32700 // invalid JSON
	InvalidRequest Kind = -32600 // not a valid request object
	NoMethod       Kind = -32601 // method does not exist
	InvalidParams  Kind = -32602 // wrong or missing parameters
	Internal       Kind = -32603 // a bug on our side
	Failed         Kind = -32000 // the operation failed (I/O, command did not start)
	Unauthorized   Kind = -32001 // no valid token for this audience
	Forbidden      Kind = -32003 // scope or path not allowed
	NotFound       Kind = -32004 // no such file, app, approval, …
	RateLimited    Kind = -32005 // too many requests or connections
	Denied         Kind = -32006 // the owner said no, or did not answer
	Unavailable    Kind = -32007 // service not running or not enabled
	Timeout        Kind = -32008 // the operation or the connection timed out
	TooLarge       Kind = -32009 // a message or value exceeds a limit

	// Usage is a command line given wrong (bad flags or arguments). It
	// is a command-line tool's own kind, never sent: its Code is
	// InvalidParams, and an error of this kind prints only its cause.
	Usage Kind = 1
)

var kindText = map[Kind]string{
	Other:          "Internal error",
	Parse:          "Parse error",
	InvalidRequest: "Invalid Request",
	NoMethod:       "Method not found",
	InvalidParams:  "Invalid params",
	Internal:       "Internal error",
	Failed:         "operation failed",
	Unauthorized:   "unauthenticated",
	Forbidden:      "forbidden",
	NotFound:       "not found",
	RateLimited:    "rate limited",
	Denied:         "denied by the owner",
	Unavailable:    "service unavailable",
	Timeout:        "timed out",
	TooLarge:       "too large",
}

// local are the kinds that never go on the wire.
var local = map[Kind]Kind{Usage: InvalidParams}

// String returns the kind's standard message, as used in a JSON-RPC error's
// "message" member ("Method not found", "too large", …).
func (k Kind) String() string {
	if k == Usage {
		return "usage"
	}
	if s, ok := kindText[k]; ok {
		return s
	}
	return fmt.Sprintf("error %d", int(k))
}

// Code returns the JSON-RPC error code for k. Other becomes Internal, a
// local kind the code nearest it.
func (k Kind) Code() int {
	if k == Other {
		return int(Internal)
	}
	if w, ok := local[k]; ok {
		return int(w)
	}
	return int(k)
}

// KindOfCode returns the kind for a JSON-RPC error code; codes Carapace does
// not define map to Other.
func KindOfCode(code int) Kind {
	if _, ok := kindText[Kind(code)]; ok {
		return Kind(code)
	}
	return Other
}

// Error is a Carapace error. Every field is optional; Kind defaults to the
// kind of Err when that is an *Error.
type Error struct {
	Op     string // the operation: "code.execute", "dial router", …
	Kind   Kind
	Reason Reason // machine-readable: ReasonExpired, ReasonOutsideAllowed, …
	Hint   string // what a person can do about it
	Err    error  // the underlying error, if any
	// Data holds extra members for the JSON-RPC error's data object
	// (retry_after_ms, rule, …); reason and hint are added to it.
	Data map[string]any
	// Exit is, for a command-line tool, the status to exit with when the
	// kind does not decide it: a command's own status passed through, 124
	// for a command that timed out. Zero leaves it to the kind.
	Exit int
}

// E builds an *Error from its arguments, in any order: a string is the Op,
// a Kind the kind, a Reason the reason, a Hint the hint, an error the cause.
// E panics on any other type: that is a programming error.
func E(args ...any) error {
	e := &Error{}
	for _, a := range args {
		switch a := a.(type) {
		case string:
			e.Op = a
		case Kind:
			e.Kind = a
		case Reason:
			e.Reason = a
		case Hint:
			e.Hint = string(a)
		case map[string]any:
			e.Data = a
		case *Error:
			cp := *a
			e.Err = &cp
		case error:
			e.Err = a
		case nil:
		default:
			panic(fmt.Sprintf("errs.E: bad argument of type %T", a))
		}
	}
	if e.Kind == Other {
		var inner *Error
		if errors.As(e.Err, &inner) {
			e.Kind = inner.Kind
		}
	}
	return e
}

// Reason and Hint are distinct string types so E can tell them from the Op.
type (
	Reason string
	Hint   string
)

// Error renders "op: kind: reason: cause", skipping empty parts, parts a
// wrapped *Error already says, a reason that only repeats the kind, and
// the kind of a Usage error. An error decoded from a response (Decode)
// renders as the server wrote it: "message (reason): detail [code]".
func (e *Error) Error() string {
	if r, ok := e.Err.(*remote); ok && e.Op == "" {
		return r.text(e.Reason)
	}
	var b strings.Builder
	add := func(s string) {
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(s)
	}
	add(e.Op)
	var inner *Error
	if !errors.As(e.Err, &inner) || inner.Kind != e.Kind {
		if e.Kind != Usage && (e.Kind != Other || e.Err == nil) {
			add(e.Kind.String())
		}
	}
	if inner == nil || inner.Reason != e.Reason {
		if r := strings.ReplaceAll(string(e.Reason), "_", " "); r != e.Kind.String() {
			add(r)
		}
	}
	if e.Err != nil {
		add(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the outermost *Error in err's chain that has
// one, or Other.
func KindOf(err error) Kind {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Kind != Other {
			return e.Kind
		}
		err = errors.Unwrap(err)
	}
	return Other
}

// ReasonOf returns the first non-empty reason in err's chain.
func ReasonOf(err error) Reason {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Reason != "" {
			return e.Reason
		}
		err = errors.Unwrap(err)
	}
	return ""
}

// HintOf returns the first non-empty hint in err's chain.
func HintOf(err error) string {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Hint != "" {
			return e.Hint
		}
		err = errors.Unwrap(err)
	}
	return ""
}

// DataOf merges the Data maps in err's chain, outermost first winning.
func DataOf(err error) map[string]any {
	var out map[string]any
	for err != nil {
		if e, ok := err.(*Error); ok {
			for k, v := range e.Data {
				if out == nil {
					out = map[string]any{}
				}
				if _, dup := out[k]; !dup {
					out[k] = v
				}
			}
		}
		err = errors.Unwrap(err)
	}
	return out
}

// Is reports whether err has kind k.
func Is(k Kind, err error) bool { return KindOf(err) == k }
