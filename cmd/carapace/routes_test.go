package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gimme-tools/carapace/core/audit"
)

const routeToken = "ghp_e2eRouteToken0123456789abcdefghijkl"

// TestExecWithRoute drives a credential route through a real dev stack:
// the owner stores a token with `carapace secret set`, a route names an
// upstream stand-in, and a sandboxed command calls it through the proxy,
// with and without the proxy variables. The upstream gets the token;
// the command's environment and output never hold it; each use is an
// audit record naming the route, method, path, status and bytes. As the
// current user (root here) and as a created ordinary user.
func TestExecWithRoute(t *testing.T) {
	t.Run("current", func(t *testing.T) { execWithRoute(t, nil) })
	t.Run("ordinary", func(t *testing.T) { execWithRoute(t, testUser(t)) })
}

func execWithRoute(t *testing.T, cred *syscall.Credential) {
	if runtime.GOOS != "linux" {
		t.Skip("commands get network only on Linux (docs/network.md)")
	}
	if _, err := os.Stat("/usr/bin/curl"); err != nil {
		t.Skip("no /usr/bin/curl")
	}
	var mu sync.Mutex
	var seen []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		fmt.Fprintf(w, "path=%s auth=%s", r.URL.Path, r.Header.Get("Authorization"))
	}))
	defer up.Close()
	owner := "services:\n  code:\n    enabled: true\n    project_roots: [~/Projects]\n    network:\n      routes:\n        github: {upstream: \"" + up.URL + "/api\", header: \"Authorization: Bearer {secret}\"}\n"
	d := startDevWith(t, owner, "", cred, func(home string) {
		set := exec.Command(binPath, "secret", "set", "github")
		set.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
		set.Stdin = strings.NewReader(routeToken + "\n")
		if out, err := set.CombinedOutput(); err != nil {
			t.Fatalf("secret set: %v %s", err, out)
		}
	})
	if out, _, code := d.cli("secret", "list"); cred == nil && (code != 0 || out != "github\n") {
		t.Errorf("secret list: %d %q", code, out)
	}
	proj := filepath.Join(d.home, "Projects", "demo")
	script := `env; echo ---; curl -sS --max-time 20 "$CREDENTIAL_ROUTES_URL/github/user"; echo; curl -sS --noproxy '*' --max-time 20 "$CREDENTIAL_ROUTES_URL/github/repos"; echo; curl -sS --max-time 20 "$CREDENTIAL_ROUTES_URL/gitlab/x"`
	out, errOut, code := d.cliAs(cred, "exec", "--cwd", proj, "--", "sh", "-c", script)
	if code != 0 {
		t.Fatalf("exec: %d %q %q\nstack:\n%s", code, out, errOut, d.stderrText())
	}
	if strings.Contains(out+errOut, routeToken) {
		t.Errorf("the command saw the token: %q", out)
	}
	for _, want := range []string{"path=/api/user auth=Bearer [REDACTED:route-github:", "path=/api/repos auth=Bearer [REDACTED:route-github:", `no route \"gitlab\"`} {
		if !strings.Contains(out, want) && !strings.Contains(out, strings.ReplaceAll(want, `\"`, `"`)) {
			t.Errorf("output lacks %q: %q", want, out)
		}
	}
	mu.Lock()
	if len(seen) != 2 || seen[0] != "Bearer "+routeToken || seen[1] != "Bearer "+routeToken {
		t.Errorf("upstream saw %q", seen)
	}
	mu.Unlock()
	var used, refused int
	for _, r := range auditRecords(t, d) {
		if r.Method != "code.execute" || r.By != audit.ByEgress {
			continue
		}
		switch {
		case r.Decision == audit.Allow && strings.Contains(r.Reason, "network route github: GET 127.0.0.1:") && strings.Contains(r.Reason, "/api/") && strings.Contains(r.Reason, "→ 200"):
			used++
		case r.Decision == audit.Deny && strings.Contains(r.Reason, `no route "gitlab"`):
			refused++
		}
	}
	if used != 2 || refused != 1 {
		t.Errorf("audit: %d uses, %d refusals recorded", used, refused)
	}
}

// TestSecretSetWithoutRestart: with the stack running, `carapace secret
// set` hands the secret to the code service through the router
// (secrets.set, the owner's alone), and the next command's route has it
// — no `carapace restart code`. `carapace secret rm` takes it back the
// same way. The audit log names the secret, never its value; the stack's
// log never holds it either. As the current user (root here) and as a
// created ordinary user.
func TestSecretSetWithoutRestart(t *testing.T) {
	t.Run("current", func(t *testing.T) { secretSetWithoutRestart(t, nil) })
	t.Run("ordinary", func(t *testing.T) { secretSetWithoutRestart(t, testUser(t)) })
}

func secretSetWithoutRestart(t *testing.T, cred *syscall.Credential) {
	if runtime.GOOS != "linux" {
		t.Skip("commands get network only on Linux (docs/network.md)")
	}
	if _, err := os.Stat("/usr/bin/curl"); err != nil {
		t.Skip("no /usr/bin/curl")
	}
	var mu sync.Mutex
	var seen []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		fmt.Fprintf(w, "auth=%s", r.Header.Get("Authorization"))
	}))
	defer up.Close()
	owner := "services:\n  code:\n    enabled: true\n    project_roots: [~/Projects]\n    network:\n      routes:\n        github: {upstream: \"" + up.URL + "\", header: \"Authorization: Bearer {secret}\"}\n"
	d := startDevWith(t, owner, "", cred, nil)
	proj := filepath.Join(d.home, "Projects", "demo")
	secretCLI := func(stdin string, args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(binPath, append([]string{"secret"}, args...)...)
		cmd.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket, "PATH=/usr/bin:/bin"}
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		cmd.Stdin = strings.NewReader(stdin)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil {
			t.Fatalf("secret %s: %v %s", args, err, e.String())
		}
		return o.String(), e.String()
	}
	run := func() string {
		t.Helper()
		out, errOut, code := d.cliAs(cred, "exec", "--cwd", proj, "--", "sh", "-c", `curl -sS --max-time 20 -w " status=%{http_code}" "$CREDENTIAL_ROUTES_URL/github/user"`)
		if code != 0 {
			t.Fatalf("exec: %d %q %q\nstack:\n%s", code, out, errOut, d.stderrText())
		}
		return out
	}
	if out := run(); !strings.Contains(out, "status=503") || !strings.Contains(out, "carapace secret set github") {
		t.Fatalf("before the secret is set: %q", out)
	}
	if _, e := secretCLI(routeToken+"\n", "set", "github"); !strings.Contains(e, "code service") {
		t.Errorf("secret set did not go through the stack: %q", e)
	}
	if out := run(); !strings.Contains(out, "status=200") || !strings.Contains(out, "auth=Bearer [REDACTED:route-github:") || strings.Contains(out, routeToken) {
		t.Errorf("after secret set, without a restart: %q", out)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0] != "Bearer "+routeToken {
		t.Errorf("upstream saw %q", seen)
	}
	mu.Unlock()
	if out, _ := secretCLI("", "list"); out != "github\n" {
		t.Errorf("secret list: %q", out)
	}
	secretCLI("", "rm", "github")
	if out := run(); !strings.Contains(out, "status=503") {
		t.Errorf("after secret rm: %q", out)
	}
	var set, removed int
	for _, r := range auditRecords(t, d) {
		if r.By == audit.ByOwner && r.Reason == "secret github set" {
			set++
		}
		if r.By == audit.ByOwner && r.Reason == "secret github removed" {
			removed++
		}
	}
	raw, err := os.ReadFile(filepath.Join(d.dir, "state", "audit", audit.ActiveName))
	if err != nil {
		t.Fatal(err)
	}
	if set != 1 || removed != 1 || strings.Contains(string(raw), routeToken) || strings.Contains(d.stderrText(), routeToken) {
		t.Errorf("audit: %d sets, %d removes; the token in the audit log: %v, in the stack's log: %v",
			set, removed, strings.Contains(string(raw), routeToken), strings.Contains(d.stderrText(), routeToken))
	}
}
