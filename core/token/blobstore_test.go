package token

import (
	"errors"
	"testing"
)

// TestBlobKeyStore round-trips the key through a blob store (a stand-in
// for the Keychain) and leaves device.pub for services.
func TestBlobKeyStore(t *testing.T) {
	notFound := errors.New("no item")
	var blob []byte
	dir := t.TempDir()
	s := BlobKeyStore{
		Get: func() ([]byte, error) {
			if blob == nil {
				return nil, notFound
			}
			return blob, nil
		},
		Put:      func(b []byte) error { blob = append([]byte(nil), b...); return nil },
		NotFound: notFound,
		PubDir:   dir,
	}
	k, created, err := LoadOrCreate(s)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreate: %v %v", created, err)
	}
	k2, created, err := LoadOrCreate(s)
	if err != nil || created || k2.ID != k.ID || !k2.Key.Equal(k.Key) {
		t.Fatalf("second LoadOrCreate: %v %v", created, err)
	}
	pub, err := LoadPublic(dir)
	if err != nil || pub.ID != k.ID || !pub.Key.Equal(k.Key.Public()) {
		t.Fatalf("device.pub: %v", err)
	}
	blob = []byte("garbage")
	if _, _, err := LoadOrCreate(s); err == nil {
		t.Fatal("a corrupt blob was accepted (or overwritten)")
	}
}
