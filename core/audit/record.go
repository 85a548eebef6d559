// Package audit writes and checks Carapace's audit log: one JSON line per
// authorisation decision, hash-chained so that an edit or a cut is
// detectable, rotated by size without breaking the chain.
//
// A record holds who asked (peer uid/pid, token sub/agent/jti/iss), what
// (method, resource), the decision, who made it and why, and how long it
// took. It never holds a token, file content or command output.
//
// Every decision is its own record: the router's (token, scope, rate
// limit), a service's own refusal, the command policy's verdict, the
// owner's approval or denial, a remembered grant, a time-out. The records
// that follow a forwarded call's router record carry its seq in ref, so
// a call's last record is its final outcome.
//
// Every record, once in the file, can also go to the system's log
// pipeline (Exporter: journald, the unified log, a syslog collector),
// asynchronously: the file is the source of truth (export.go). Every so
// often the chain gets a checkpoint signed with the device key, which a
// rewrite of the file before it cannot re-make (checkpoint.go).
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

// The decisions. Prompt is the command policy's "ask the owner": a
// record with it is always followed, under the same ref, by the
// owner's (or a time-out's) allow or deny.
const (
	Allow  = "allow"
	Deny   = "deny"
	Prompt = "prompt"
)

// Who decided (Record.By).
const (
	ByRouter     = "router"     // token, scope, rate limit: before the service sees the call
	ByService    = "service"    // the service's own check (its token re-check, a path refused)
	ByPolicy     = "policy"     // the command policy (a rule or its default)
	ByOwner      = "owner"      // the owner, with carapace approve/deny (approvals.decide)
	ByRemembered = "remembered" // an earlier approval the owner asked to remember
	ByReviewer   = "reviewer"   // the owner's reviewer command (services.shell.reviewer)
	ByTimeout    = "timeout"    // nobody decided within the approval time-out
	ByCaller     = "caller"     // the caller went away before the owner decided
	ByEgress     = "egress"     // the network proxy, on one connection of a command (core/egress)
)

// Record is one decision.
type Record struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Via      string    `json:"via,omitempty"` // unix, websocket, xpc, relay
	UID      int       `json:"uid"`
	PID      int       `json:"pid,omitempty"`
	Sub      string    `json:"sub,omitempty"`
	Agent    string    `json:"agent,omitempty"` // the token's agent claim: who holds it
	JTI      string    `json:"jti,omitempty"`
	Iss      string    `json:"iss,omitempty"`
	Method   string    `json:"method"`
	Resource string    `json:"resource,omitempty"` // the path, working directory or app id
	Decision string    `json:"decision"`           // Allow, Deny or Prompt
	By       string    `json:"by,omitempty"`       // who decided: ByRouter, ByOwner, …
	Reason   string    `json:"reason,omitempty"`
	Approval string    `json:"approval,omitempty"` // the approval request's id
	// Redacted counts the secrets a service replaced in its answer, by
	// rule id (core/redact); never the secrets themselves.
	Redacted   map[string]int `json:"redacted,omitempty"`
	Ref        uint64         `json:"ref,omitempty"`    // the seq of the call's router record
	Repeat     int            `json:"repeat,omitempty"` // refusals folded into this one (rate limit)
	DurationUS int64          `json:"duration_us"`
	Prev       string         `json:"prev"`
}

// Field limits: a record line stays well under 8 KiB whatever a caller
// sends, so reading a log's tail needs a bounded buffer.
const (
	maxShort    = 256
	maxResource = 2048
	maxRedacted = 32 // rule ids in Redacted
	maxRuleID   = 64
)

// clean bounds the free-text fields.
func (r *Record) clean() {
	for _, p := range []*string{&r.Via, &r.Sub, &r.Agent, &r.JTI, &r.Iss, &r.Method, &r.By, &r.Reason, &r.Approval} {
		*p = clip(*p, maxShort)
	}
	r.Resource = clip(r.Resource, maxResource)
	if len(r.Redacted) > maxRedacted {
		r.Redacted = map[string]int{"(more rules)": len(r.Redacted)}
	}
	for k, v := range r.Redacted {
		if c := clip(k, maxRuleID); c != k {
			delete(r.Redacted, k)
			r.Redacted[c] += v
		}
	}
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
