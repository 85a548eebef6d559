package stack

import (
	"testing"

	"github.com/gimme-tools/carapace/core/service"
)

// TestBuildersCoverRegistry: `carapace serve NAME` can build every
// service in the registry, and nothing else.
func TestBuildersCoverRegistry(t *testing.T) {
	for _, n := range service.Names() {
		if builders[n] == nil {
			t.Errorf("no builder for the %s service", n)
		}
	}
	if len(builders) != len(service.Registry) {
		t.Errorf("%d builders, %d services in the registry", len(builders), len(service.Registry))
	}
}
