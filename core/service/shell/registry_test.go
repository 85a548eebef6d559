package shell

import (
	"testing"

	"github.com/gimme-tools/carapace/core/service"
)

// TestMethodsHaveRules: every method the shell service serves has a rule
// in service.Registry, and no rule names a method it does not serve.
func TestMethodsHaveRules(t *testing.T) {
	e := newEnv(t, Config{})
	if err := service.CheckMethods(e.svc.Name(), e.svc.Methods()); err != nil {
		t.Error(err)
	}
}
