// Package keychain keeps small secrets, such as Carapace's device key, as
// generic-password items in the macOS Keychain.
//
// Items are stored for this device only (never synchronised through iCloud)
// and readable after the first unlock since boot, so a daemon started
// before anyone logs in again can still read them.
//
// The Keychain needs cgo and Apple's Security framework, which only a Mac's
// SDK provides: it is built with `-tags macsdk` on darwin with cgo.
// Elsewhere every function returns an error wrapping errors.ErrUnsupported,
// and callers keep the key in a 0600 file instead.
package keychain

import "errors"

// ErrNotFound is returned by Load when no item matches.
var ErrNotFound = errors.New("keychain: item not found")

// Label is the label items are stored with, as Keychain Access shows it.
const Label = "Carapace device key"
