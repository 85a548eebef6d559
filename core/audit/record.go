// Package audit writes and checks Carapace's audit log: one JSON line per
// authorisation decision, hash-chained so that an edit or a cut is
// detectable, rotated by size without breaking the chain.
//
// A record holds who asked (peer uid/pid, token sub/jti/iss), what
// (method, resource), the decision and its reason, and how long it took.
// It never holds a token, file content or command output.
//
// The chain: each record's "prev" is the hex SHA-256 of the previous
// record's line (its exact bytes, without the newline). The first record
// ever written (seq 1) has prev Genesis. After a rotation the first record
// of the new file links to the last record of the previous file, so the
// chain runs across files.
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Genesis is the prev of the first record of a log.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// The decisions.
const (
	Allow = "allow"
	Deny  = "deny"
)

// Record is one decision.
type Record struct {
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"`
	Via        string    `json:"via,omitempty"` // unix, websocket, xpc, relay
	UID        int       `json:"uid"`
	PID        int       `json:"pid,omitempty"`
	Sub        string    `json:"sub,omitempty"`
	JTI        string    `json:"jti,omitempty"`
	Iss        string    `json:"iss,omitempty"`
	Method     string    `json:"method"`
	Resource   string    `json:"resource,omitempty"` // the path, working directory or app id
	Decision   string    `json:"decision"`           // Allow or Deny
	Reason     string    `json:"reason,omitempty"`
	DurationUS int64     `json:"duration_us"`
	Prev       string    `json:"prev"`
}

// Field limits: a record line stays well under 8 KiB whatever a caller
// sends, so reading a log's tail needs a bounded buffer.
const (
	maxShort    = 256
	maxResource = 2048
)

// clean bounds the free-text fields.
func (r *Record) clean() {
	for _, p := range []*string{&r.Via, &r.Sub, &r.JTI, &r.Iss, &r.Method, &r.Reason} {
		*p = clip(*p, maxShort)
	}
	r.Resource = clip(r.Resource, maxResource)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// hashLine returns the link to a record line (without its newline).
func hashLine(line []byte) string {
	h := sha256.Sum256(line)
	var x [2 * sha256.Size]byte
	hex.Encode(x[:], h[:])
	return string(x[:])
}
