package code_test

import (
	"testing"

	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/service/code"
)

// TestMethodsHaveRules: every method the code service serves has a rule
// in service.Registry, and no rule names a method it does not serve.
func TestMethodsHaveRules(t *testing.T) {
	s := code.New(code.Config{AllowUnsandboxed: true})
	defer s.Close()
	if err := service.CheckMethods(s.Name(), s.Methods()); err != nil {
		t.Error(err)
	}
}
