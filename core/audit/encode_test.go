package audit

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzAppendRecord keeps the hand-written encoder equal to encoding/json.
func FuzzAppendRecord(f *testing.F) {
	f.Add(uint64(1), int64(0), "unix", 0, 0, "sub", "jti", "iss", "file.read", "/a b/<c>&\"d\"", "allow", "", int64(12))
	f.Add(uint64(9), int64(1763990000123456789), "", -1, 42, "", "", "", "m\n\t\x01", "\xff\u2028x", "deny", "scope", int64(0))
	f.Fuzz(func(t *testing.T, seq uint64, ns int64, via string, uid, pid int, sub, jti, iss, method, res, decision, reason string, dur int64) {
		r := Record{Seq: seq, Time: time.Unix(0, ns).UTC(), Via: via, UID: uid, PID: pid, Sub: sub, JTI: jti, Iss: iss,
			Method: method, Resource: res, Decision: decision, Reason: reason, DurationUS: dur, Prev: Genesis}
		if r.Time.Year() < 0 || r.Time.Year() > 9999 {
			return // encoding/json refuses such times
		}
		want, err := json.Marshal(r)
		if err != nil {
			return
		}
		if got := appendRecord(nil, &r); string(got) != string(want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

// appendRecord encodes a whole record, as the log does in two steps.
func appendRecord(b []byte, r *Record) []byte {
	return appendLine(b, r.Seq, appendBody(nil, r), r.Prev)
}

// FuzzAppendDecision does the same for the members of a decision after
// the router's (by, agent, approval, ref, repeat).
func FuzzAppendDecision(f *testing.F) {
	f.Add(uint64(1), "claude", "deny", "owner", "denied", "1a2b3c4d", uint64(9), 3)
	f.Add(uint64(2), "", "prompt", "policy", "", "", uint64(0), 0)
	f.Add(uint64(3), "a\x00<b>", "allow", "\xff", "\u2028", "&", uint64(1<<63), -1)
	f.Fuzz(func(t *testing.T, seq uint64, agent, decision, by, reason, approval string, ref uint64, repeat int) {
		r := Record{Seq: seq, Time: time.Unix(1763990000, 5).UTC(), Via: "unix", UID: 1000, PID: 42, Sub: "owner", Agent: agent,
			Method: "shell.execute", Decision: decision, By: by, Reason: reason, Approval: approval, Ref: ref, Repeat: repeat,
			DurationUS: 7, Prev: Genesis}
		want, err := json.Marshal(r)
		if err != nil {
			return
		}
		if got := appendRecord(nil, &r); string(got) != string(want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

// FuzzAppendRedacted does the same for the redaction counts of a
// decision (keys sorted, as encoding/json writes a map).
func FuzzAppendRedacted(f *testing.F) {
	f.Add("github-pat", 2, "aws-access-token", 1)
	f.Add("a<b>", -1, "\xff", 0)
	f.Fuzz(func(t *testing.T, k1 string, v1 int, k2 string, v2 int) {
		r := Record{Seq: 1, Time: time.Unix(1763990000, 5).UTC(), Method: "file.read", Decision: "allow", By: "service",
			Reason: "redacted", Redacted: map[string]int{k1: v1, k2: v2}, Prev: Genesis}
		want, err := json.Marshal(r)
		if err != nil {
			return
		}
		if got := appendRecord(nil, &r); string(got) != string(want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}
