//go:build !darwin || !cgo || !macsdk

package macapp

import (
	"errors"
	"testing"
)

func TestStubs(t *testing.T) {
	for _, err := range []error{Register(Daemon, "x.plist"), OpenApp("com.apple.Terminal"), QuitApp("com.apple.Terminal")} {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("stub error %v does not wrap ErrUnsupported", err)
		}
	}
}
