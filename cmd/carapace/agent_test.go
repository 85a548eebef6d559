package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestAgentIsNotOwner: a process started by `carapace agent` holds its
// tokens (a 0600 file, removed afterwards) but is not the owner: it cannot
// mint, approve or mint through carapace mcp --grant; carapace mcp under
// it serves with the granted tokens.
func TestAgentIsNotOwner(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("carapace agent needs Linux's no_new_privs")
	}
	d := startDev(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n", nil)
	docs := filepath.Join(d.home, "Docs")
	os.WriteFile(filepath.Join(docs, "a.txt"), []byte("granted"), 0o644)
	script := `
grep NoNewPrivs /proc/self/status
echo "file=$GIMME_TOKEN_FILE"
stat -c 'mode=%a' "$GIMME_TOKEN_FILE"
carapace token issue --aud file --scope 'GET:~/Docs/*' --ttl 1m; echo "issue=$?"
carapace approve 1; echo "approve=$?"
carapace mcp --grant 'file:GET:~/Docs/*' </dev/null; echo "grant=$?"
`
	cmd := exec.Command(binPath, "agent", "--grant", "file:GET:~/Docs/*", "--ttl", "10m", "--", "sh", "-c", script)
	cmd.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket, "PATH=" + filepath.Dir(binPath) + ":/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("carapace agent: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"NoNewPrivs:\t1", "mode=600", "issue=1", "approve=1", "grant=1", "not_owner"} {
		if !strings.Contains(s, want) {
			t.Errorf("agent's output lacks %q:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "not_owner"); n < 3 {
		t.Errorf("want token issue, approve and mcp --grant refused not_owner, got %d:\n%s", n, s)
	}
	for _, l := range strings.Split(s, "\n") {
		if f, ok := strings.CutPrefix(l, "file="); ok {
			if _, err := os.Stat(f); !os.IsNotExist(err) {
				t.Errorf("the token file %s outlived the agent: %v", f, err)
			}
		}
	}

	// carapace mcp started by the agent (here, the agent is carapace mcp
	// itself) serves with the granted tokens, from $GIMME_TOKEN_FILE.
	sess, _ := d.mcpStart(t, nil, "agent", "--grant", "file:GET:~/Docs/*", "--", binPath, "mcp")
	if got, isErr := callTool(t, sess, "read_text_file", map[string]any{"path": filepath.Join(docs, "a.txt")}); isErr || got != "granted" {
		t.Errorf("read under carapace agent: %q isError=%v", got, isErr)
	}
	if got, isErr := callTool(t, sess, "write_file", map[string]any{"path": filepath.Join(docs, "b.txt"), "content": "x"}); !isErr {
		t.Errorf("write beyond the grant under carapace agent: %q", got)
	}
	tail := mustCLI(t, d, "audit", "tail", "-n", "50", "--json")
	if !strings.Contains(tail, `"sub":"agent:carapace"`) {
		t.Errorf("audit lacks the agent's sub:\n%s", tail)
	}
}
