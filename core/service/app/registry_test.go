package app

import (
	"testing"

	"github.com/gimme-tools/carapace/core/service"
)

// TestMethodsHaveRules: every method the app service serves has a rule
// in service.Registry, and no rule names a method it does not serve.
func TestMethodsHaveRules(t *testing.T) {
	s := New(Config{})
	if err := service.CheckMethods(s.Name(), s.Methods()); err != nil {
		t.Error(err)
	}
}
