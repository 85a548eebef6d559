//go:build !darwin || !cgo || !macsdk

package keychain

import (
	"errors"
	"fmt"
)

// Available reports whether the Keychain can be used in this build.
const Available = false

func unsupported(op string) error {
	return fmt.Errorf("keychain: %s: the Keychain needs darwin, cgo and -tags macsdk (hint: keep the key in a 0600 file on this platform): %w", op, errors.ErrUnsupported)
}

// Load returns an error wrapping errors.ErrUnsupported.
func Load(service, account string) ([]byte, error) { return nil, unsupported("load") }

// Store returns an error wrapping errors.ErrUnsupported.
func Store(service, account string, data []byte) error { return unsupported("store") }

// Delete returns an error wrapping errors.ErrUnsupported.
func Delete(service, account string) error { return unsupported("delete") }

// StoreLabeled is unsupported in this build.
func StoreLabeled(service, account, label string, data []byte) error {
	return unsupported("store")
}

// Accounts is unsupported in this build.
func Accounts(service string) ([]string, error) { return nil, unsupported("list") }
