//go:build !darwin || !cgo || !macsdk

package macapp

import (
	"errors"
	"fmt"
)

func unsupported(op string) error {
	return fmt.Errorf("macapp: %s: needs macOS with cgo, built with -tags macsdk (hint: build on a Mac with `make bundle`): %w", op, errors.ErrUnsupported)
}

// Register returns an error wrapping errors.ErrUnsupported.
func Register(k Kind, plistName string) error { return unsupported("register") }

// Unregister returns an error wrapping errors.ErrUnsupported.
func Unregister(k Kind, plistName string) error { return unsupported("unregister") }

// JobStatus returns an error wrapping errors.ErrUnsupported.
func JobStatus(k Kind, plistName string) (Status, error) {
	return NotFound, unsupported("status")
}

// OpenLoginItems returns an error wrapping errors.ErrUnsupported.
func OpenLoginItems() error { return unsupported("open Login Items") }

// AccessibilityTrusted returns an error wrapping errors.ErrUnsupported.
func AccessibilityTrusted(prompt bool) (bool, error) { return false, unsupported("accessibility") }

// OpenApp returns an error wrapping errors.ErrUnsupported.
func OpenApp(bundleID string) error { return unsupported("open app") }

// ActivateApp returns an error wrapping errors.ErrUnsupported.
func ActivateApp(bundleID string) error { return unsupported("activate app") }

// QuitApp returns an error wrapping errors.ErrUnsupported.
func QuitApp(bundleID string) error { return unsupported("quit app") }

// ShowApproval returns an error wrapping errors.ErrUnsupported.
func ShowApproval(id, title, body string, actions []Action) error {
	return unsupported("show approval")
}

// WithdrawApproval does nothing.
func WithdrawApproval(id string) {}
