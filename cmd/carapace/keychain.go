package main

import (
	"errors"
	"fmt"

	"github.com/gimme-tools/carapace/core/secret"
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

// Secrets for credential routes (core/secret) go to the Keychain too,
// where this build has it.
func init() {
	if keychain.Available {
		secret.Platform = func() (secret.Store, error) { return keychainSecrets{}, nil }
	}
}

// keychainSecrets keeps each secret as a generic password of service
// keychainSecretService, account NAME.
type keychainSecrets struct{}

const keychainSecretService = "com.gimme.carapace.secret"

func (keychainSecrets) String() string { return "the login Keychain (" + keychainSecretService + ")" }

func (keychainSecrets) Set(name string, v []byte) error {
	return keychain.StoreLabeled(keychainSecretService, name, "Carapace secret "+name, v)
}

func (keychainSecrets) Get(name string) ([]byte, error) {
	v, err := keychain.Load(keychainSecretService, name)
	if errors.Is(err, keychain.ErrNotFound) {
		return nil, fmt.Errorf("get secret %s: %w", name, secret.ErrNotFound)
	}
	return v, err
}

func (keychainSecrets) List() ([]string, error) { return keychain.Accounts(keychainSecretService) }

func (keychainSecrets) Delete(name string) error {
	if _, err := keychain.Load(keychainSecretService, name); errors.Is(err, keychain.ErrNotFound) {
		return fmt.Errorf("remove secret %s: %w", name, secret.ErrNotFound)
	}
	return keychain.Delete(keychainSecretService, name)
}
