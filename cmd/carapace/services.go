package main

import (
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/service/code"
	"github.com/gimme-tools/carapace/core/stack"
)

// newService builds a service's implementation from the settings.
func newService(name string, st *stack.Settings) (service.Service, error) {
	switch name {
	case "code":
		c := st.Owner.Services.Code
		return code.New(code.Config{
			ProjectRoots:   c.ProjectRoots,
			DefaultTimeout: c.Timeout.D(),
			MaxTimeout:     c.MaxTimeout.D(),
			MaxOutput:      int(c.MaxOutput),
		}), nil
	}
	return nil, errs.E(errs.InvalidParams, errs.Reason("unknown_service"),
		errs.Hint("services are: file, code, shell, app"))
}
