package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"
)

// Checkpoints: every so often the log chains a record signed with the
// device key (decision Checkpoint). It vouches for the chain up to it:
// the signature covers its seq, its prev (the hash of the record before
// it, which links to everything earlier) and its time. Whoever rewrites
// the file after a checkpoint — even re-chaining every hash — cannot sign
// the new chain without the device key, and a checkpoint exported
// elsewhere (journald, syslog) holds the hash the file must still have.
//
// A checkpoint record holds: method CheckpointMethod, decision
// Checkpoint, sub the device key's id, resource "<seq> <hash>" (the
// head it vouches for, for people), reason the Ed25519 signature
// (base64url) of CheckpointMessage.
const (
	Checkpoint       = "checkpoint"
	CheckpointMethod = "audit.checkpoint"
)

// Checkpointing configures checkpoints (Options.Checkpoint).
type Checkpointing struct {
	Key   ed25519.PrivateKey
	KeyID string
	// Every is how many records may go without a checkpoint (1000);
	// Interval how long records may (5m).
	Every    int
	Interval time.Duration
}

// CheckpointMessage is what a checkpoint's signature covers.
func CheckpointMessage(seq uint64, prev string, t time.Time) []byte {
	return []byte("carapace audit checkpoint v1\n" + strconv.FormatUint(seq, 10) + "\n" + prev + "\n" + t.UTC().Format(time.RFC3339Nano))
}

// queueCheckpointLocked chains a checkpoint after the last queued record.
// mu is held.
func (l *Log) queueCheckpointLocked() error {
	cp := l.opt.Checkpoint
	r := Record{Time: time.Now().UTC(), Method: CheckpointMethod, Decision: Checkpoint, By: ByRouter, Sub: cp.KeyID,
		Resource: strconv.FormatUint(l.seq, 10) + " " + l.prev}
	r.Reason = base64.RawURLEncoding.EncodeToString(ed25519.Sign(cp.Key, CheckpointMessage(l.seq+1, l.prev, r.Time)))
	l.sinceCheckpoint = -1 // queueLocked counts the checkpoint itself
	_, err := l.queueLocked(appendBody(nil, &r))
	return err
}

// checkpointLoop writes a checkpoint every Interval when records came
// since the last one.
func (l *Log) checkpointLoop() {
	defer l.wg.Done()
	t := time.NewTicker(l.opt.Checkpoint.Interval)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
			l.mu.Lock()
			if l.f != nil && l.sinceCheckpoint > 0 {
				if err := l.queueCheckpointLocked(); err == nil {
					l.waitWritten(l.seq, false)
				}
			}
			l.mu.Unlock()
		}
	}
}

// checkCheckpoint verifies a checkpoint record with pub; it returns why it
// fails, or "".
func checkCheckpoint(r *Record, pub ed25519.PublicKey) string {
	sig, err := base64.RawURLEncoding.DecodeString(r.Reason)
	if err != nil || !ed25519.Verify(pub, CheckpointMessage(r.Seq, r.Prev, r.Time), sig) {
		return fmt.Sprintf("checkpoint %d: the signature does not match (the log before it was rewritten, or another key signed it)", r.Seq)
	}
	return ""
}
