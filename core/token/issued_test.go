package token

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestIssuedList: minted tokens are listed until they expire, with their
// last use and revocation, and survive a reopen in a 0600 file.
func TestIssuedList(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "issued.json")
	is, err := OpenIssued(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	is.Add(IssuedToken{JTI: "a", Agent: "claude", Aud: "shell.local.gimme.tools", IssuedAt: now, Exp: now.Add(time.Hour)})
	is.Add(IssuedToken{JTI: "b", Agent: "codex", Aud: "file.local.gimme.tools", IssuedAt: now.Add(time.Second), Exp: now.Add(time.Hour)})
	is.Add(IssuedToken{JTI: "old", IssuedAt: now.Add(-2 * time.Hour), Exp: now.Add(-time.Hour)})
	is.Used("a", now.Add(time.Minute))
	is.Used("unknown", now)
	rev, _ := OpenRevocations(filepath.Join(dir, "revoked.json"))
	rev.Revoke("b", time.Time{})
	l := is.List(rev)
	if len(l) != 2 || l[0].JTI != "b" || !l[0].Revoked || l[1].JTI != "a" || !l[1].LastUsed.Equal(now.Add(time.Minute).Truncate(0)) {
		t.Fatalf("list %+v", l)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file %v %v", fi, err)
	}
	is2, err := OpenIssued(path)
	if err != nil {
		t.Fatal(err)
	}
	if l := is2.List(nil); len(l) != 2 || !l[0].LastUsed.IsZero() {
		t.Fatalf("reopened %+v", l)
	}
	os.WriteFile(path, []byte("nonsense"), 0o600)
	if _, err := OpenIssued(path); err == nil {
		t.Fatal("a corrupt list opened")
	}
}
