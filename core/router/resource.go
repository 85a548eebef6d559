package router

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/scope"
	"github.com/gimme-tools/carapace/core/service/code"
)

// Access is one verb on one resource that a call needs its token to cover.
type Access struct {
	Verb     string // scope.GET, PUT, DELETE, POST
	Resource string // the absolute path the call touches (DESIGN.md)
}

// ResourceFunc says what a call to one service touches. It returns no
// Access for a method that touches nothing (ping, echo, info): such a call
// still needs a valid token for the service's audience, but no scope entry.
// A method it does not know is an error: the router refuses what it cannot
// scope rather than guess.
type ResourceFunc func(method string, params json.RawMessage) ([]Access, error)

// DefaultResources are the resource functions of the services, by name.
// Each service's author keeps its function in step with its methods.
var DefaultResources = map[string]ResourceFunc{
	"code":  codeResource,
	"file":  fileResource,
	"app":   appResource,
	"shell": shellResource,
}

// untouched lists the methods every service answers that touch nothing.
func untouched(svc, method string) bool {
	switch strings.TrimPrefix(method, svc+".") {
	case "ping", "echo", "info":
		return true
	}
	return false
}

// codeResource: code.execute runs in its "cwd" (POST on that directory),
// or, without a cwd, in a fresh scratch directory: POST on
// code.ScratchResource, which "POST:code.local.gimme.tools/*" covers as it
// covers everything, and "POST:/.carapace/scratch" covers alone.
var codeResource = executeIn("code", code.ScratchResource)

// executeIn is the resource function of a service whose one acting method
// is <svc>.execute: POST on its "cwd", or on def when it gives none.
func executeIn(svc, def string) ResourceFunc {
	return func(method string, params json.RawMessage) ([]Access, error) {
		if untouched(svc, method) {
			return nil, nil
		}
		if method != svc+".execute" {
			return nil, unscoped(method)
		}
		var p struct {
			Cwd string `json:"cwd"`
		}
		if err := decodeLoose(params, &p); err != nil {
			return nil, err
		}
		if p.Cwd == "" {
			p.Cwd = def
		}
		return []Access{{scope.POST, p.Cwd}}, nil
	}
}

// fileVerbs maps the file service's methods to the verb each needs on its
// "path" param. file.move and file.copy are handled apart (two paths).
var fileVerbs = map[string]string{
	"file.read": scope.GET, "file.stat": scope.GET, "file.list": scope.GET, "file.search": scope.GET, "file.open": scope.GET,
	"file.write": scope.PUT, "file.mkdir": scope.PUT, "file.append": scope.PUT,
	"file.delete": scope.DELETE, "file.remove": scope.DELETE,
}

// fileResource: the "path" param; a move needs DELETE on "from" and PUT
// on "to" (as the file service checks it), a copy GET on "from" and PUT on
// "to". The file service also takes "~/…" paths: the router expands them
// with the owner's home before matching.
func fileResource(method string, params json.RawMessage) ([]Access, error) {
	if untouched("file", method) {
		return nil, nil
	}
	switch method {
	case "file.move", "file.rename", "file.copy":
		var p struct{ From, To string }
		if err := decodeLoose(params, &p); err != nil {
			return nil, err
		}
		if p.From == "" || p.To == "" {
			return nil, missing(method, "from and to")
		}
		from := scope.DELETE
		if method == "file.copy" {
			from = scope.GET
		}
		return []Access{{from, p.From}, {scope.PUT, p.To}}, nil
	}
	verb, ok := fileVerbs[method]
	if !ok {
		return nil, unscoped(method)
	}
	var p struct{ Path string }
	if err := decodeLoose(params, &p); err != nil {
		return nil, err
	}
	if p.Path == "" {
		return nil, missing(method, "path")
	}
	return []Access{{verb, p.Path}}, nil
}

// appResource: POST on "/" + the app's id (the "app" param) for what acts
// on an app; app.list touches nothing.
func appResource(method string, params json.RawMessage) ([]Access, error) {
	if untouched("app", method) || method == "app.list" {
		return nil, nil
	}
	switch method {
	case "app.activate", "app.open", "app.quit":
	default:
		return nil, unscoped(method)
	}
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

// shellResource: shell.execute is POST on its "cwd", the owner's home when
// it gives none (where the shell service then runs it).
var shellResource = executeIn("shell", "~")

// decodeLoose reads the members the router needs from named params,
// ignoring the rest: the service decodes strictly. Both use encoding/json,
// so both read the same value for a member.
func decodeLoose(params json.RawMessage, v any) error {
	if len(params) == 0 || string(params) == "null" {
		return nil
	}
	if err := json.Unmarshal(params, v); err != nil {
		return errs.E(errs.InvalidParams, errs.Reason("bad_params"),
			errs.Hint(`service methods take named params: {"name": value}`), err)
	}
	return nil
}

func unscoped(method string) error {
	return errs.E(errs.Forbidden, errs.Reason("unscoped_method"),
		errs.Hint("the router does not know what "+method+" touches, so no token can allow it; see core/router/resource.go"),
		fmt.Errorf("no resource rule for %s", method))
}

func missing(method, what string) error {
	return errs.E(errs.InvalidParams, errs.Reason("missing_param"),
		errs.Hint(method+" needs "+what), fmt.Errorf("%s: missing %s", method, what))
}
