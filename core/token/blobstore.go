package token

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// BlobKeyStore keeps the device key as one secret blob in a store the
// platform provides (the macOS Keychain), and device.pub, which services
// read, as a file in PubDir.
type BlobKeyStore struct {
	Get      func() ([]byte, error) // the blob, or an error wrapping NotFound
	Put      func([]byte) error
	NotFound error // what Get returns when there is no blob yet
	PubDir   string
}

// Load implements KeyStore.
func (s BlobKeyStore) Load() (DeviceKey, error) {
	b, err := s.Get()
	if s.NotFound != nil && errors.Is(err, s.NotFound) {
		return DeviceKey{}, fmt.Errorf("device key: %w", fs.ErrNotExist)
	}
	if err != nil {
		return DeviceKey{}, fmt.Errorf("device key: %w", err)
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil || len(kf.PrivateKey) != ed25519.SeedSize || !validDeviceID(kf.DeviceID) {
		return DeviceKey{}, fmt.Errorf("device key: the stored blob is not a device key (%v)", err)
	}
	return DeviceKey{ID: kf.DeviceID, Key: ed25519.NewKeyFromSeed(kf.PrivateKey)}, nil
}

// Store implements KeyStore: the blob first, then device.pub.
func (s BlobKeyStore) Store(k DeviceKey) error {
	pub := k.Public()
	priv, _ := json.Marshal(keyFile{DeviceID: k.ID, PrivateKey: k.Key.Seed(), PublicKey: pub.Key})
	if err := s.Put(priv); err != nil {
		return fmt.Errorf("device key: %w", err)
	}
	if err := os.MkdirAll(s.PubDir, 0o711); err != nil {
		return fmt.Errorf("device key: %w", err)
	}
	pb, _ := json.Marshal(keyFile{DeviceID: k.ID, PublicKey: pub.Key})
	return writeAtomic(filepath.Join(s.PubDir, publicFile), pb, 0o644)
}
