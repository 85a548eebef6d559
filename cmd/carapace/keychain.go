package main

import (
	"github.com/gimme-tools/carapace/core/stack"
	"github.com/gimme-tools/carapace/core/token"
	"github.com/gimme-tools/carapace/xpcbridge/keychain"
)

// On macOS (built with -tags macsdk, where the Keychain package is real)
// the device key lives in the Keychain; elsewhere keychain.Available is
// false and the 0600 file stays.
func init() {
	if !keychain.Available {
		return
	}
	stack.NewKeyStore = func(dir string) token.KeyStore {
		const service, account = "com.gimme.carapace", "device-key"
		return token.BlobKeyStore{
			Get:      func() ([]byte, error) { return keychain.Load(service, account) },
			Put:      func(b []byte) error { return keychain.Store(service, account, b) },
			NotFound: keychain.ErrNotFound,
			PubDir:   dir,
		}
	}
}
