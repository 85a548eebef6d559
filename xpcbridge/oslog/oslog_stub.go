//go:build !darwin || !cgo

package oslog

import (
	"errors"
	"fmt"
)

// Available reports whether this build can write to the unified log.
const Available = false

// Log is unavailable in this build.
type Log struct{}

// Open returns an error wrapping errors.ErrUnsupported.
func Open(string) (*Log, error) {
	return nil, fmt.Errorf("the unified log needs macOS and cgo: %w", errors.ErrUnsupported)
}

// Write returns an error wrapping errors.ErrUnsupported.
func (*Log) Write(Level, string) error {
	return fmt.Errorf("the unified log needs macOS and cgo: %w", errors.ErrUnsupported)
}
