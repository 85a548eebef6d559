package stack

import (
	"slices"
	"testing"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/denyread"
	"github.com/gimme-tools/carapace/core/service/file"
)

// TestFileServiceHonoursDenyRead: the file service refuses every name the
// code service masks from commands — the defaults (file.DefaultDeny holds
// denyread.Default) and the owner's services.code.deny_read.
func TestFileServiceHonoursDenyRead(t *testing.T) {
	for _, g := range denyread.Default {
		if !slices.Contains(file.DefaultDeny, g) {
			t.Errorf("file.DefaultDeny lacks %s", g)
		}
	}
	var o config.Owner
	o.Services.Code.DenyRead = []string{"*.tfstate"}
	if deny := FileDeny(o); !slices.Contains(deny, "*.tfstate") {
		t.Fatalf("file deny %v lacks services.code.deny_read", deny)
	}
}
