package router

import (
	"encoding/json"

	"github.com/gimme-tools/carapace/core/service"
)

// Access is one verb on one resource that a call needs its token to cover.
type Access = service.Access

// ResourceFunc says what a call to one service touches (Options.Resources
// replaces the services' own rules, for tests). It returns no Access for
// a method that touches nothing. A method it does not know is an error:
// the router refuses what it cannot scope rather than guess.
type ResourceFunc func(method string, params json.RawMessage) ([]Access, error)

// resources returns the resource function of the service called svc: its
// rules in service.Registry, each service's own, unless the options
// replace them.
func (r *Router) resources(svc string) (ResourceFunc, bool) {
	if res := r.opts.Auth.Resources; res != nil {
		fn, ok := res[svc]
		return fn, ok
	}
	if s := service.Lookup(svc); s != nil {
		return s.Resources, true
	}
	return nil, false
}
