package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gimme-tools/carapace/core/errs"
)

// DeviceKey is this device's identity: its id and its Ed25519 signing key.
type DeviceKey struct {
	ID  string
	Key ed25519.PrivateKey
}

// Public returns the public half, which services use to verify owner
// tokens.
func (k DeviceKey) Public() DevicePublic {
	return DevicePublic{ID: k.ID, Key: k.Key.Public().(ed25519.PublicKey)}
}

// DevicePublic is what a verifier needs to know about this device.
type DevicePublic struct {
	ID  string
	Key ed25519.PublicKey
}

// DeviceIssuer returns the iss claim of tokens this device mints.
func DeviceIssuer(deviceID string) string { return "urn:carapace:device:" + deviceID }

// KeyStore keeps the device key. The file store below is the Linux one;
// on macOS the platform package provides one over the Keychain.
type KeyStore interface {
	// Load returns the stored key, or an error wrapping fs.ErrNotExist
	// when none has been stored yet. Any other error means the store is
	// unusable and the caller must not make a new key over it.
	Load() (DeviceKey, error)
	// Store saves k, replacing any stored key.
	Store(k DeviceKey) error
}

// NewDeviceKey makes a fresh device id and Ed25519 key.
func NewDeviceKey() (DeviceKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return DeviceKey{}, fmt.Errorf("generate device key: %w", err)
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return DeviceKey{}, fmt.Errorf("generate device id: %w", err)
	}
	return DeviceKey{ID: "device-" + hex.EncodeToString(id[:]), Key: priv}, nil
}

// LoadOrCreate returns the stored device key, making and storing one at
// first start. created reports whether it did.
func LoadOrCreate(ks KeyStore) (k DeviceKey, created bool, err error) {
	k, err = ks.Load()
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return DeviceKey{}, false, err
	}
	if k, err = NewDeviceKey(); err != nil {
		return DeviceKey{}, false, err
	}
	if err = ks.Store(k); err != nil {
		return DeviceKey{}, false, err
	}
	return k, true, nil
}

// FileKeyStore keeps the device key in Dir: device.key (mode 0600, the
// private key) and device.pub (mode 0644, the id and public key, for
// services that run as other users). Both are written atomically.
type FileKeyStore struct {
	Dir string
}

type keyFile struct {
	DeviceID   string `json:"device_id"`
	PrivateKey []byte `json:"private_key,omitempty"` // the 32-byte seed
	PublicKey  []byte `json:"public_key"`
}

const (
	privateFile = "device.key"
	publicFile  = "device.pub"
)

// Load reads device.key. It refuses a file that others may read or that
// another user owns.
func (s FileKeyStore) Load() (DeviceKey, error) {
	path := filepath.Join(s.Dir, privateFile)
	f, err := os.Open(path)
	if err != nil {
		return DeviceKey{}, fmt.Errorf("device key: %w", err)
	}
	defer f.Close()
	if err := checkPrivate(f, path); err != nil {
		return DeviceKey{}, err
	}
	var kf keyFile
	if err := json.NewDecoder(f).Decode(&kf); err != nil {
		return DeviceKey{}, keyErr(path, fmt.Errorf("decode: %w", err))
	}
	if len(kf.PrivateKey) != ed25519.SeedSize || !validDeviceID(kf.DeviceID) {
		return DeviceKey{}, keyErr(path, errors.New("no valid device_id and 32-byte private_key"))
	}
	return DeviceKey{ID: kf.DeviceID, Key: ed25519.NewKeyFromSeed(kf.PrivateKey)}, nil
}

// Store writes device.key and device.pub, creating Dir (0700) if needed.
func (s FileKeyStore) Store(k DeviceKey) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("device key: %w", err)
	}
	pub := k.Public()
	priv, _ := json.Marshal(keyFile{DeviceID: k.ID, PrivateKey: k.Key.Seed(), PublicKey: pub.Key})
	if err := writeAtomic(filepath.Join(s.Dir, privateFile), priv, 0o600); err != nil {
		return err
	}
	pb, _ := json.Marshal(keyFile{DeviceID: k.ID, PublicKey: pub.Key})
	return writeAtomic(filepath.Join(s.Dir, publicFile), pb, 0o644)
}

// LoadPublic reads device.pub from dir: what a service needs to verify
// owner tokens without access to the private key.
func LoadPublic(dir string) (DevicePublic, error) {
	path := filepath.Join(dir, publicFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return DevicePublic{}, fmt.Errorf("device public key: %w", err)
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil || len(kf.PublicKey) != ed25519.PublicKeySize || !validDeviceID(kf.DeviceID) {
		return DevicePublic{}, keyErr(path, fmt.Errorf("no valid device_id and 32-byte public_key (%v)", err))
	}
	return DevicePublic{ID: kf.DeviceID, Key: ed25519.PublicKey(kf.PublicKey)}, nil
}

func validDeviceID(id string) bool {
	return id != "" && len(id) <= 128 && !strings.ContainsAny(id, " \t\r\n\x00")
}

func keyErr(path string, err error) error {
	return errs.E("token.devicekey", errs.Failed, errs.ReasonBadDeviceKey,
		errs.Hint("move "+path+" aside to make a new device key (tokens minted with the old one stop working)"),
		fmt.Errorf("%s: %w", path, err))
}
