package shell

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/redact"
)

// TestApprovalAndOutputRedacted: a command line holding a secret is shown
// to the owner with the secret replaced, runs as written, and its output
// reaches the agent redacted; a remembered approval covers only the very
// same line, not another secret with the same placeholder shape.
func TestApprovalAndOutputRedacted(t *testing.T) {
	e := newEnv(t, Config{})
	secret := "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
	ch := e.execute(context.Background(), agent, map[string]any{"command": "echo " + secret})
	var p = <-e.asked
	if strings.Contains(p.Command, secret) || !strings.Contains(p.Command, redact.Placeholder("github-pat", []byte(secret))) {
		t.Fatalf("the owner was shown %q", p.Command)
	}
	if err := e.decide(owner, p.ID, true, int64(time.Hour/time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil || strings.Contains(string(r.res), secret) || !strings.Contains(string(r.res), "REDACTED:github-pat") {
		t.Fatalf("agent got %s %v", r.res, r.err)
	}
	other := "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
	ch = e.execute(context.Background(), agent, map[string]any{"command": "echo " + other})
	select {
	case p := <-e.asked:
		e.decide(owner, p.ID, false, 0)
	case r := <-ch:
		t.Fatalf("another secret ran under the remembered approval: %s %v", r.res, r.err)
	}
	<-ch
}
