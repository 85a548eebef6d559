package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

func TestMintVerify(t *testing.T) {
	f := newFixture(t)
	m := NewMinter(f.device, testHome)
	m.now = f.clock
	raw, c, err := m.Mint(AudFile, []string{"GET:~/Documents/*"}, 10*time.Minute, false, "owner")
	if err != nil {
		t.Fatal(err)
	}
	// Check the signature by hand, without golang-jwt.
	parts := strings.Split(raw, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if !ed25519.Verify(f.device.Public().Key, []byte(parts[0]+"."+parts[1]), sig) {
		t.Fatal("minted token's signature does not verify with the device key")
	}
	var hdr map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	json.Unmarshal(hb, &hdr)
	if hdr["alg"] != "EdDSA" || hdr["kid"] != f.device.ID {
		t.Errorf("header %v", hdr)
	}
	tok, err := f.v.Verify(raw, AudFile)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Owner || tok.Subject != "owner" || tok.ID != c.ID || tok.ID == "" || !tok.Expires.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("verified %+v, claims %+v", tok, c)
	}
	if got := c.Scope[0]; got != "GET:file.local.gimme.tools/home/ann/Documents/*" {
		t.Errorf("scope stored as %q, want the canonical form", got)
	}
	if err := tok.Allow("GET", "/home/ann/Documents/x"); err != nil {
		t.Error(err)
	}
	_, err = f.v.Verify(raw, AudCode)
	wantErr(t, "minted file token on code", err, errs.Unauthorized, errs.ReasonAudienceMismatch)

	once, _, err := m.Mint(AudCode, []string{"POST:~/Projects/x"}, time.Minute, true, "owner")
	if err != nil {
		t.Fatal(err)
	}
	ot, err := f.v.Verify(once, AudCode)
	if err != nil || !ot.Once {
		t.Fatalf("once token: %+v, %v", ot, err)
	}
	if err := f.v.Consume(ot); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "minted once token reused", f.v.Consume(ot), errs.Unauthorized, errs.ReasonReplayed)
}

func TestMintRefuses(t *testing.T) {
	f := newFixture(t)
	m := NewMinter(f.device, testHome)
	for _, c := range []struct {
		aud   string
		scope []string
		ttl   time.Duration
	}{
		{"evil.example", nil, time.Minute},
		{AudFile, nil, 0},
		{AudFile, nil, -time.Minute},
		{AudFile, []string{"GET:~/../x"}, time.Minute},
		{AudFile, []string{"READ:~/x"}, time.Minute},
		{AudFile, []string{"GET:~/" + strings.Repeat("a", MaxTokenSize)}, time.Minute},
	} {
		if _, _, err := m.Mint(c.aud, c.scope, c.ttl, false, "owner"); errs.KindOf(err) != errs.InvalidParams || errs.HintOf(err) == "" {
			t.Errorf("Mint(%q, %.40q, %v) = %v, want InvalidParams with a hint", c.aud, c.scope, c.ttl, err)
		}
	}
}

func TestInspect(t *testing.T) {
	f := newFixture(t)
	raw := handJWT(hdr("EdDSA", "ed1"), f.claims(), signEd(f.edKey))
	if r := f.v.Inspect(raw); !r.Accepted || r.Claims["sub"] != "agent" || r.Header["kid"] != "ed1" {
		t.Errorf("Inspect(good) = %+v", r)
	}
	f.now = t0.Add(2 * time.Hour)
	r := f.v.Inspect(raw)
	if r.Accepted || r.Reason != errs.ReasonExpired || r.Hint == "" || r.Claims["aud"] != AudFile {
		t.Errorf("Inspect(expired) = %+v", r)
	}
	if len(f.v.cache.m) != 0 {
		t.Error("Inspect filled the cache")
	}
	if r := f.v.Inspect(strings.Repeat(".", 100000)); r.Accepted || r.Reason != errs.ReasonTooLarge || r.Claims != nil {
		t.Errorf("Inspect(dots) = %+v", r)
	}
}

func TestFileKeyStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	ks := FileKeyStore{Dir: dir}
	if _, err := ks.Load(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of an empty store: %v, want ErrNotExist", err)
	}
	k, created, err := LoadOrCreate(ks)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate: %v, created %v", err, created)
	}
	k2, created, err := LoadOrCreate(ks)
	if err != nil || created || k2.ID != k.ID || !k2.Key.Equal(k.Key) {
		t.Fatalf("second LoadOrCreate: %v %v %v", k2.ID, created, err)
	}
	for name, mode := range map[string]os.FileMode{"device.key": 0o600, "device.pub": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, %v; want %v", name, fi.Mode().Perm(), err, mode)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v", fi.Mode().Perm())
	}
	pub, err := LoadPublic(dir)
	if err != nil || pub.ID != k.ID || !pub.Key.Equal(k.Public().Key) {
		t.Errorf("LoadPublic = %v, %v", pub.ID, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "device.pub")); strings.Contains(string(b), "private") {
		t.Error("device.pub holds the private key")
	}
	os.Chmod(filepath.Join(dir, "device.key"), 0o640)
	_, _, err = LoadOrCreate(ks)
	if errs.ReasonOf(err) != "key_permissions" {
		t.Errorf("group-readable key: %v, want key_permissions", err)
	}
	os.Chmod(filepath.Join(dir, "device.key"), 0o600)
	os.WriteFile(filepath.Join(dir, "device.key"), []byte("{}"), 0o600)
	if _, _, err := LoadOrCreate(ks); errs.ReasonOf(err) != "bad_device_key" {
		t.Errorf("corrupt key: %v, want bad_device_key (and no new key over it)", err)
	}
}

// TestHugeTokensCostNothing checks that oversized tokens are refused
// without work proportional to their size: no allocation grows with it.
func TestHugeTokensCostNothing(t *testing.T) {
	f := newFixture(t)
	for _, raw := range []string{strings.Repeat(".", 100000), strings.Repeat("a", 1<<20), strings.Repeat("a.", 1<<19)} {
		var err error
		allocs := testing.AllocsPerRun(10, func() { _, err = f.v.Verify(raw, AudFile) })
		if errs.ReasonOf(err) != errs.ReasonTooLarge {
			t.Errorf("%d-byte token: %v", len(raw), err)
		}
		if allocs > 20 {
			t.Errorf("%d-byte token: %v allocations to refuse", len(raw), allocs)
		}
	}
}

// TestMintNamed: the agent claim is signed into the token and read back;
// a name that could pass for another field in a terminal or a log line is
// refused.
func TestMintNamed(t *testing.T) {
	f := newFixture(t)
	m := NewMinter(f.device, testHome)
	m.now = f.clock
	raw, c, err := m.MintNamed(AudShell, []string{"POST:~/*"}, time.Minute, false, "owner", "claude")
	if err != nil || c.Agent != "claude" {
		t.Fatalf("MintNamed: %v %+v", err, c)
	}
	tok, err := f.v.Verify(raw, AudShell)
	if err != nil || tok.Agent != "claude" || tok.Subject != "owner" || tok.Holder != "agent:claude" {
		t.Fatalf("verified %+v, %v", tok, err)
	}
	plain, _, _ := m.Mint(AudShell, nil, time.Minute, false, "owner")
	if tok, err := f.v.Verify(plain, AudShell); err != nil || tok.Agent != "" || tok.Holder != "owner" {
		t.Fatalf("a token without a name: %+v, %v", tok, err)
	}
	for _, name := range []string{"claude code", "a\nb", "owner\x1b[2K", strings.Repeat("x", MaxAgentLen+1), "né"} {
		if _, _, err := m.MintNamed(AudShell, nil, time.Minute, false, "owner", name); errs.KindOf(err) != errs.InvalidParams || errs.ReasonOf(err) != "bad_name" {
			t.Errorf("MintNamed(%q) = %v, want bad_name", name, err)
		}
	}
}
