package stack

import (
	"testing"

	"github.com/gimme-tools/carapace/core/service"
)

// TestEnabledCoversRegistry: the owner file has a switch for every
// service in the registry, and none for a service that is not in it.
func TestEnabledCoversRegistry(t *testing.T) {
	for _, s := range service.Registry {
		if enabledIn[s.Name] == nil {
			t.Errorf("%s: no services.%s.enabled mapping in enabledIn", s.Name, s.Name)
		}
	}
	if len(enabledIn) != len(service.Registry) {
		t.Errorf("enabledIn has %d services, the registry %d", len(enabledIn), len(service.Registry))
	}
}
