package keychain

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"
)

// TestRoundTrip stores, loads, replaces and deletes an item. It runs only
// where the Keychain is built in (a Mac, -tags macsdk).
func TestRoundTrip(t *testing.T) {
	if !Available {
		for _, err := range []error{Store("s", "a", nil), Delete("s", "a")} {
			if !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("stub: %v, want ErrUnsupported", err)
			}
		}
		if _, err := Load("s", "a"); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("stub Load: %v", err)
		}
		t.Skip("the Keychain is not built in (needs darwin, cgo, -tags macsdk); checked the stubs only")
	}
	svc, acct := "com.gimme.carapace.test", fmt.Sprintf("test-%d", os.Getpid())
	t.Cleanup(func() { _ = Delete(svc, acct) })
	if _, err := Load(svc, acct); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load before Store: %v", err)
	}
	for _, data := range [][]byte{[]byte("first key"), []byte("second key")} {
		if err := Store(svc, acct, data); err != nil {
			t.Fatal(err)
		}
		got, err := Load(svc, acct)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Load = %q, %v; want %q", got, err, data)
		}
	}
	if err := Delete(svc, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(svc, acct); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load after Delete: %v", err)
	}
}
