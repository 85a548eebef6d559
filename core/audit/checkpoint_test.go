package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func cpLog(t *testing.T, every int, interval time.Duration) (string, *Log, ed25519.PublicKey) {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	dir := t.TempDir()
	l, err := Open(dir, Options{Checkpoint: &Checkpointing{Key: key, KeyID: "device-test", Every: every, Interval: interval}})
	if err != nil {
		t.Fatal(err)
	}
	return dir, l, pub
}

func TestCheckpointsAreSignedAndChained(t *testing.T) {
	dir, l, pub := cpLog(t, 10, time.Hour)
	writeN(t, l, 25)
	l.Close()
	rep, err := VerifyCheckpoints(dir, pub)
	if err != nil {
		t.Fatal(err)
	}
	// records 1-10, checkpoint 11, 12-21, checkpoint 22, 23-27.
	if rep.Checkpoints != 2 || rep.LastCheckpoint != 22 || rep.Unvouched != 5 || rep.Records != 27 {
		t.Fatalf("%+v", rep)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := VerifyCheckpoints(dir, other); err == nil || !strings.Contains(err.Error(), "checkpoint 11") {
		t.Fatalf("another key: %v", err)
	}
}

// Rewriting the file before a checkpoint — an edited record, every later
// hash re-chained so the chain itself checks — is caught by the
// checkpoint's signature.
func TestRewriteAfterCheckpointIsDetected(t *testing.T) {
	dir, l, pub := cpLog(t, 10, time.Hour)
	writeN(t, l, 15)
	l.Close()
	path := filepath.Join(dir, ActiveName)
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	lines[4] = strings.Replace(lines[4], `"decision":"allow"`, `"decision":"deny"`, 1) // record 5: an allow made a deny
	for i := 1; i < len(lines); i++ {
		// re-chain: each line's prev is the hash of the line before.
		j := strings.LastIndex(lines[i], `"prev":"`) + len(`"prev":"`)
		lines[i] = lines[i][:j] + hashLine([]byte(lines[i-1])) + `"}`
	}
	os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o640)
	if _, err := Verify(dir); err != nil {
		t.Fatalf("the forger's re-chained file should pass the chain check: %v", err)
	}
	_, err := VerifyCheckpoints(dir, pub)
	var br *Break
	if err == nil || !strings.Contains(err.Error(), "checkpoint 11") {
		t.Fatalf("rewrite not detected: %v", err)
	}
	if !asBreak(err, &br) || br.Line != 11 {
		t.Fatalf("break at %+v", br)
	}
}

func asBreak(err error, br **Break) bool {
	b, ok := err.(*Break)
	*br = b
	return ok
}

// With few records a checkpoint still comes within Interval.
func TestCheckpointOnInterval(t *testing.T) {
	dir, l, pub := cpLog(t, 1000, 20*time.Millisecond)
	defer l.Close()
	writeN(t, l, 1)
	deadline := time.Now().Add(30 * time.Second)
	for {
		rep, err := VerifyCheckpoints(dir, pub)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Checkpoints >= 1 {
			if rep.Checkpoints != 1 {
				t.Fatalf("a checkpoint with no new record: %+v", rep)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
