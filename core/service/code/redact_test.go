package code_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/service/code"
	"github.com/gimme-tools/carapace/core/token"
)

// ghToken is a fake GitHub token, built from parts.
var ghToken = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"

// TestOutputRedacted: a command that prints a secret — whole, or a byte
// at a time so that streamed chunks cut it anywhere — gives an agent
// only the placeholder, in the result and in every code.output chunk,
// and the audit decision counts it. The owner's CLI sees the output as
// it is.
func TestOutputRedacted(t *testing.T) {
	f := newFixture(t)
	proj := filepath.Join(f.roots, "a")
	// printf one character at a time, flushing: the service gets many
	// small chunks.
	script := `s="$1"; i=0; while [ $i -lt ${#s} ]; do printf '%s' "$(printf '%s' "$s" | cut -c$((i+1)))"; i=$((i+1)); done; echo; echo "err $1" >&2`
	run := func(agent string, owner bool) (*codeexec.Result, []string, []service.Decision) {
		tok, _, err := f.m.MintNamed(token.AudCode, []string{"POST:" + f.roots + "/*"}, time.Minute, false, "owner", agent)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := json.Marshal(map[string]any{"command": "/bin/sh", "args": []string{"-c", script, "sh", ghToken}, "cwd": proj, "stream": true})
		var mu sync.Mutex
		var chunks []string
		var ds []service.Decision
		call := &service.Call{Method: "code.execute", Params: p, Caller: service.Caller{Token: tok, Owner: owner},
			Notify: func(m string, v any) error {
				mu.Lock()
				defer mu.Unlock()
				switch m {
				case "code.output":
					chunks = append(chunks, v.(map[string]string)["data"])
				case service.DecisionNote:
					ds = append(ds, v.(service.Decision))
				}
				return nil
			}}
		res, err := f.svc.Methods()["code.execute"](context.Background(), call)
		if err != nil {
			t.Fatal(err)
		}
		return res.(*codeexec.Result), chunks, ds
	}
	ph := redact.Placeholder("github-pat", []byte(ghToken))
	res, chunks, ds := run("claude", true)
	all := strings.Join(chunks, "")
	if strings.Contains(res.Stdout+res.Stderr+all, "a1B2c3D4") || res.Stdout != ph+"\n" || res.Stderr != "err "+ph+"\n" {
		t.Fatalf("agent got stdout %q stderr %q chunks %q", res.Stdout, res.Stderr, chunks)
	}
	if !strings.Contains(all, ph) || len(ds) != 1 || ds[0].Redacted["github-pat"] != 2 {
		t.Fatalf("chunks %q, decisions %+v", chunks, ds)
	}
	res, _, ds = run(service.CLIAgent, true)
	if res.Stdout != ghToken+"\n" || len(ds) != 0 {
		t.Fatalf("the owner's CLI got %q, decisions %+v", res.Stdout, ds)
	}
	res, _, _ = run(service.CLIAgent, false)
	if strings.Contains(res.Stdout, ghToken) {
		t.Fatal("a non-owner peer with the CLI's agent name got the secret")
	}
}

// TestOutputCutAtCapRedacted: output cut by max_output_bytes in the middle
// of a secret does not hand over the part before the cut, in the result
// or in the streamed chunks.
func TestOutputCutAtCapRedacted(t *testing.T) {
	f := newFixture(t)
	svc := code.New(code.Config{ProjectRoots: []string{f.roots}, AllowUnsandboxed: true, MaxOutput: 64, Authorize: f.auth})
	tok, _, err := f.m.MintNamed(token.AudCode, []string{"POST:" + f.roots + "/*"}, time.Minute, false, "owner", "claude")
	if err != nil {
		t.Fatal(err)
	}
	// 40 bytes of a line, then the secret: the cap (64) cuts it after 24.
	p, _ := json.Marshal(map[string]any{"command": "/bin/sh", "args": []string{"-c", `echo "0123456789012345678901234567890123456789"; printf 'token=%s\n' "$0"`, ghToken},
		"cwd": filepath.Join(f.roots, "a"), "stream": true})
	var mu sync.Mutex
	var chunks []string
	call := &service.Call{Method: "code.execute", Params: p, Caller: service.Caller{Token: tok},
		Notify: func(m string, v any) error {
			mu.Lock()
			defer mu.Unlock()
			if m == "code.output" {
				chunks = append(chunks, v.(map[string]string)["data"])
			}
			return nil
		}}
	res, err := svc.Methods()["code.execute"](context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	r := res.(*codeexec.Result)
	if all := r.Stdout + strings.Join(chunks, ""); strings.Contains(all, "ghp_a1B2") || !r.Truncated {
		t.Fatalf("stdout %q chunks %q truncated %v", r.Stdout, chunks, r.Truncated)
	}
}
