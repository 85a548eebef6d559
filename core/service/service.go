// Package service defines what a capability service is to the rest of
// Carapace: a name, a table of methods, and the per-call context the router
// hands each method (who called, with which token, over which entry).
//
// Registry says once what each service is (Spec: its name, its token
// audience, whether it starts processes or acts as the owner, and its
// methods, each with the rule saying what a call to it touches). The
// router, the token code, the stack, the CLI and the launchd plists read
// it; the package imports nothing heavier than core/errs and core/scope, so
// the router needs no service's package.
//
// The file, code, shell and app services implement Service; servicehost
// serves one over its socket, and the router forwards to it.
package service

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/gimme-tools/carapace/core/errs"
)

// Caller describes who a forwarded call came from, as the router saw it.
// A service must treat it as advisory for identity (the router is trusted to
// fill it) but must re-verify Token itself before acting.
type Caller struct {
	UID   int    `json:"uid"`
	GID   int    `json:"gid"`
	PID   int    `json:"pid"`
	Owner bool   `json:"owner,omitempty"` // the peer is the configured owner
	Via   Via    `json:"via,omitempty"`   // the entry the call came in by
	Token string `json:"token,omitempty"` // the JWT for this call's audience, if any
}

// Call is one request as a service method sees it.
type Call struct {
	Method string
	Params json.RawMessage // an object, an array, or nil
	Caller Caller
	// Notify sends a notification back to the caller, tied to this call
	// (used for streamed output). It is nil when the caller cannot receive
	// notifications.
	Notify func(method string, params any) error
}

// Authorize re-checks, inside a service, the token the router forwarded
// with call: a nil error allows verb on resource ("" and "" asks only
// whether the token is valid for the service). Production services get
// theirs from servicehost.NewAuthorizer; a service or host given none
// refuses every call.
type Authorize func(call *Call, verb, resource string) error

// AllowAll is an Authorize that allows every call: for tests, which must
// name it, since a missing hook refuses.
func AllowAll(*Call, string, string) error { return nil }

// NoAuthorizer is the error of a service or host started without an
// Authorize: it refuses every call rather than act unchecked.
func NoAuthorizer(method, svc string) error {
	return errs.E(method, errs.Unavailable, errs.ReasonNoAuthorizer,
		errs.Hint("the "+svc+" service was started without token verification; restart it with `carapace serve "+svc+"`"))
}

// Handler handles one method. The result is marshalled as the JSON-RPC
// result; an error is turned into a JSON-RPC error by its errs.Kind.
type Handler func(ctx context.Context, call *Call) (any, error)

// FileResult is implemented by a handler's result that hands the caller
// a descriptor (file.open): the result sent is Result(), and File() is
// passed with it over the Unix connection (SCM_RIGHTS). The result should
// say "fd": true so the receiver knows to take it.
type FileResult interface {
	Result() any
	File() *os.File
}

// Service is one capability service.
type Service interface {
	// Name is the service's short name: "file", "code", "shell", "app".
	Name() string
	// Methods returns the service's route table, keyed by full method name
	// ("code.execute"). It is called once, at start.
	Methods() map[string]Handler
}

// Table is a route table: a map from method name to handler that refuses
// duplicates. The zero value is ready to use.
type Table struct {
	m map[string]Handler
}

// Register adds a handler. It panics if name is already registered: two
// handlers for one method is a programming error.
func (t *Table) Register(name string, h Handler) {
	if t.m == nil {
		t.m = map[string]Handler{}
	}
	if _, dup := t.m[name]; dup {
		panic(fmt.Sprintf("service: method %q registered twice", name))
	}
	t.m[name] = h
}

// Lookup returns the handler for name.
func (t *Table) Lookup(name string) (Handler, bool) {
	h, ok := t.m[name]
	return h, ok
}

// Names returns the registered method names, sorted.
func (t *Table) Names() []string {
	names := make([]string, 0, len(t.m))
	for n := range t.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Map returns the table as a plain map.
func (t *Table) Map() map[string]Handler { return t.m }

// Decode unmarshals params by name into v, a pointer to a struct. Unknown
// members are refused, so a typo in a parameter name is an error rather than
// a silently ignored option. Positional params are refused: service methods
// take named params only.
func Decode(params json.RawMessage, v any) error {
	return decodeParams(params, v)
}

// DecisionNote is the method of the notification a service sends the
// router, tied to the call it is handling, for each decision it makes
// about that call besides answering it (the command policy's verdict, the
// owner's approval or denial, a remembered grant, a time-out). The router
// writes each as its own audit record, after the record of its own
// decision, and never passes the notification on to the caller.
const DecisionNote = "carapace.decision"

// Decision is a DecisionNote's params. Decision is "allow", "deny" or
// "prompt"; By names who decided ("policy", "owner", "remembered",
// "timeout", "caller", "service"). Who called, with which token, and on
// what, the router fills in from the call itself: a service cannot
// change them.
type Decision struct {
	Decision string `json:"decision"`
	By       string `json:"by"`
	Reason   string `json:"reason,omitempty"`
	Approval string `json:"approval,omitempty"`
	// Redacted counts the secrets replaced in the call's answer, by
	// rule id (Redacted, core/redact).
	Redacted map[string]int `json:"redacted,omitempty"`
}

// Decide tells the router about a decision on call (DecisionNote). It does
// nothing when the call cannot carry notifications (it was itself a
// notification, or did not come through the router). A decision that
// cannot be sent is returned as an error; the caller should refuse what it
// was about to allow rather than act unrecorded.
func Decide(call *Call, d Decision) error {
	if call == nil || call.Notify == nil {
		return nil
	}
	return call.Notify(DecisionNote, d)
}
