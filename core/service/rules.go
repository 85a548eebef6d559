package service

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/scope"
)

// Access is one verb on one resource that a call needs its token to cover.
type Access struct {
	Verb     string // scope.GET, PUT, DELETE, POST
	Resource string // the absolute path the call touches (DESIGN.md)
}

// Rule says what a call to one method touches, read from its params. It
// returns no Access for a method that touches nothing (ping, echo, info):
// such a call still needs a valid token for the service's audience, but no
// scope entry. The service reads the same params itself, strictly, and
// re-checks the forwarded token for the same Access before acting.
type Rule func(method string, params json.RawMessage) ([]Access, error)

// The services' rules, one table per service, each beside the Spec in
// Registry that names it. A service's package implements exactly these
// methods.
var (
	fileRules = map[string]Rule{
		"file.read": Path(scope.GET), "file.stat": Path(scope.GET),
		"file.list": Path(scope.GET), "file.search": Path(scope.GET),
		"file.open":  Path(scope.GET),
		"file.write": Path(scope.PUT), "file.mkdir": Path(scope.PUT),
		"file.upload": Path(scope.PUT), "file.commit": Path(scope.PUT),
		"file.delete": Path(scope.DELETE),
		// A move needs DELETE on "from" and PUT on "to", as the file
		// service checks it.
		"file.move": fromTo(scope.DELETE, scope.PUT),
	}
	// code.execute runs in its "cwd", or, without one, in a fresh scratch
	// directory: POST on CodeScratch, which "POST:code.local.gimme.tools/*"
	// covers as it covers everything, and "POST:/.carapace/scratch" alone.
	// Its approvals (network connections held in ask mode) are the
	// owner's alone, like the shell's: approvals.network.*. So are the
	// credential routes' secrets the owner hands over: secrets.*.
	codeRules = map[string]Rule{
		"code.execute": executeIn(CodeScratch), "code.info": Untouched,
		"code.approvals.list": ownerOnly("approvals.network.list"), "code.approvals.decide": ownerOnly("approvals.network.decide"),
		"code.approvals.grants": ownerOnly("approvals.network.grants"), "code.approvals.revoke": ownerOnly("approvals.network.revoke"),
		"code.secrets.list": ownerOnly("secrets.list"), "code.secrets.remove": ownerOnly("secrets.remove"),
		"code.secrets.set": ownerOnly("secrets.set"),
	}
	// shell.execute runs in its "cwd", the owner's home when it gives none.
	// The approval queue is the owner's alone: the router forwards its own
	// approvals.list and approvals.decide, which carry no token, and no
	// token reaches the shell service's.
	shellRules = map[string]Rule{
		"shell.execute": executeIn("~"), "shell.info": Untouched,
		"shell.approvals.list": ownerOnly("approvals.list"), "shell.approvals.decide": ownerOnly("approvals.decide"),
		"shell.approvals.grants": ownerOnly("approvals.grants"), "shell.approvals.revoke": ownerOnly("approvals.revoke"),
	}
	// app: POST on "/" + the app's id for what acts on an app.
	appRules = map[string]Rule{
		"app.list": Untouched, "app.open": appID, "app.activate": appID, "app.quit": appID,
	}
)

// CodeScratch is the resource a code.execute without a cwd touches, for
// token scopes: it runs in a fresh, empty scratch directory, which no
// project-root scope covers. "POST:code.local.gimme.tools/.carapace/scratch"
// allows scratch commands only; "POST:code.local.gimme.tools/*" covers them
// as it covers every directory.
const CodeScratch = "/.carapace/scratch"

// Untouched is the rule of a method that touches nothing.
func Untouched(string, json.RawMessage) ([]Access, error) { return nil, nil }

// Path is the rule of a method that needs verb on its "path" param. The
// router expands a "~/…" path with the owner's home.
func Path(verb string) Rule {
	return func(method string, params json.RawMessage) ([]Access, error) {
		var p struct{ Path string }
		if v, ok := jsonrpc.LooseString(params, "path"); ok {
			p.Path = v // the common case, read as encoding/json would, without its reflection
		} else if err := decodeLoose(params, &p); err != nil {
			return nil, err
		}
		if p.Path == "" {
			return nil, missing(method, "path")
		}
		return []Access{{verb, p.Path}}, nil
	}
}

// fromTo is the rule of a method with two paths, "from" and "to".
func fromTo(from, to string) Rule {
	return func(method string, params json.RawMessage) ([]Access, error) {
		var p struct{ From, To string }
		if err := decodeLoose(params, &p); err != nil {
			return nil, err
		}
		if p.From == "" || p.To == "" {
			return nil, missing(method, "from and to")
		}
		return []Access{{from, p.From}, {to, p.To}}, nil
	}
}

// executeIn is the rule of an <svc>.execute: POST on its "cwd", or on def
// when it gives none.
func executeIn(def string) Rule {
	return func(_ string, params json.RawMessage) ([]Access, error) {
		var p struct {
			Cwd string `json:"cwd"`
		}
		if v, ok := jsonrpc.LooseString(params, "cwd"); ok {
			p.Cwd = v
		} else if err := decodeLoose(params, &p); err != nil {
			return nil, err
		}
		if p.Cwd == "" {
			p.Cwd = def
		}
		return []Access{{scope.POST, p.Cwd}}, nil
	}
}

// ownerOnly is the rule of a method that only the owner reaches, through
// the router's own method via: it refuses every call with a token.
func ownerOnly(via string) Rule {
	return func(method string, _ json.RawMessage) ([]Access, error) {
		return nil, errs.E(errs.Forbidden, errs.ReasonUnscopedMethod,
			errs.Hint("no token allows "+method+"; the owner calls the router's "+via+" from their own terminal (carapace approve, carapace deny, carapace secret)"),
			fmt.Errorf("%s is the owner's alone", method))
	}
}

// appID is POST on "/" + the "app" param, an app id without "/".
func appID(method string, params json.RawMessage) ([]Access, error) {
	var p struct {
		App string `json:"app"`
	}
	if err := decodeLoose(params, &p); err != nil {
		return nil, err
	}
	if p.App == "" || strings.Contains(p.App, "/") {
		return nil, missing(method, "app (an app id without /)")
	}
	return []Access{{scope.POST, "/" + p.App}}, nil
}

// decodeLoose reads the members a rule needs from named params, ignoring
// the rest: the service decodes strictly (Decode). Both use encoding/json,
// so both read the same value for a member; so does jsonrpc.LooseString,
// the rules' fast path, fuzzed against encoding/json.
func decodeLoose(params json.RawMessage, v any) error {
	if len(params) == 0 || string(params) == "null" {
		return nil
	}
	if err := json.Unmarshal(params, v); err != nil {
		return badParams(err)
	}
	return nil
}

func badParams(err error) error {
	return errs.E(errs.InvalidParams, errs.ReasonBadParams,
		errs.Hint(`service methods take named params: {"name": value}`), err)
}

func missing(method, what string) error {
	return errs.E(errs.InvalidParams, errs.ReasonMissingParam,
		errs.Hint(method+" needs "+what), fmt.Errorf("%s: missing %s", method, what))
}
