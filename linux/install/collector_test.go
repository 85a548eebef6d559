package install

import (
	"strings"
	"testing"
)

// TestCollectorAddress: an IP collector is taken as it is; a malformed
// address is an error naming the key.
func TestCollectorAddress(t *testing.T) {
	if a, err := collector(""); err != nil || a != nil {
		t.Errorf("none: %v %v", a, err)
	}
	if a, err := collector("192.0.2.7:6514"); err != nil || len(a) != 1 || a[0].String() != "192.0.2.7" {
		t.Errorf("ip: %v %v", a, err)
	}
	if _, err := collector("no-port"); err == nil || !strings.Contains(err.Error(), "audit.export.syslog.address") {
		t.Errorf("malformed: %v", err)
	}
}
