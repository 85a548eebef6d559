package shell

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/approval"
)

// The answers a reviewer may give.
const (
	ReviewAllow = "allow"
	ReviewDeny  = "deny"
	ReviewAsk   = "ask"
)

// DefaultReviewTimeout is how long a reviewer may take.
const DefaultReviewTimeout = 10 * time.Second

// maxReviewOutput caps what is read of a reviewer's answer.
const maxReviewOutput = 64 << 10

// Reviewer is the owner's own command (services.shell.reviewer), asked
// about each request no grant covers before the owner is. It reads the
// request as one JSON object on stdin and answers one JSON object on
// stdout: {"decision": "allow"|"deny"|"ask", "reason": "…"}. Anything
// else — a non-zero exit, no answer within Timeout, output that is not
// that object — is "ask": the owner decides. A reviewer never allows a
// request that may not be remembered (Request.NoRemember): those always
// reach the owner.
type Reviewer struct {
	Path    string
	Args    []string
	Timeout time.Duration // default DefaultReviewTimeout
	Env     []string
	Log     *slog.Logger
}

// Verdict is a reviewer's answer.
type Verdict struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

// reviewInput is what the reviewer reads.
type reviewInput struct {
	Version int `json:"version"`
	approval.Request
}

// Review asks the reviewer about r. It never fails: every failure is an
// "ask" whose reason says what went wrong (also logged).
func (rv *Reviewer) Review(ctx context.Context, r approval.Request) Verdict {
	v, err := rv.review(ctx, r)
	if err != nil {
		if rv.Log != nil {
			rv.Log.Warn("reviewer failed; asking the owner", "reviewer", rv.Path, "command", r.Command, "err", err)
		}
		return Verdict{Decision: ReviewAsk, Reason: "reviewer failed: " + err.Error()}
	}
	return v
}

func (rv *Reviewer) review(ctx context.Context, r approval.Request) (Verdict, error) {
	timeout := rv.Timeout
	if timeout <= 0 {
		timeout = DefaultReviewTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	in, err := json.Marshal(reviewInput{Version: 1, Request: r})
	if err != nil {
		return Verdict{}, err
	}
	cmd := exec.CommandContext(ctx, rv.Path, rv.Args...)
	cmd.Env = rv.Env
	cmd.Stdin = bytes.NewReader(in)
	var out limitedBuffer
	cmd.Stdout = &out
	cmd.WaitDelay = time.Second // a reviewer's children holding stdout do not hold us
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Verdict{}, fmt.Errorf("no answer within %v", timeout)
		}
		return Verdict{}, err
	}
	if out.over {
		return Verdict{}, errors.New("answer too long")
	}
	var v Verdict
	dec := json.NewDecoder(bytes.NewReader(out.b.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return Verdict{}, fmt.Errorf("answer is not {\"decision\", \"reason\"}: %w", err)
	}
	if dec.More() {
		return Verdict{}, errors.New("more than one answer")
	}
	switch v.Decision {
	case ReviewAllow, ReviewDeny, ReviewAsk:
	default:
		return Verdict{}, fmt.Errorf("decision %q is not allow, deny or ask", v.Decision)
	}
	v.Reason = strings.TrimSpace(oneLine(v.Reason, 200))
	if v.Reason == "" {
		v.Reason = "no reason given"
	}
	return v, nil
}

type limitedBuffer struct {
	b    bytes.Buffer
	over bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.b.Len()+len(p) > maxReviewOutput {
		l.over = true
		return len(p), nil
	}
	return l.b.Write(p)
}

// oneLine returns s with control characters replaced, cut at n bytes.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	return s
}
