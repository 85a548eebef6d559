package main

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/audit"
)

// TestExecWithNetwork drives the whole path through a real dev stack: the
// owner allows one host (an HTTPS registry stand-in on the test's
// loopback, named by address), `carapace exec curl` reaches it through
// the code service's proxy, a host the rules do not list is refused with
// the reason, and both connections are in the audit log under the call.
// As the current user (root here) and as a created ordinary user.
func TestExecWithNetwork(t *testing.T) {
	t.Run("current", func(t *testing.T) { execWithNetwork(t, nil) })
	t.Run("ordinary", func(t *testing.T) { execWithNetwork(t, testUser(t)) })
}

func execWithNetwork(t *testing.T, cred *syscall.Credential) {
	if runtime.GOOS != "linux" {
		t.Skip("commands get network only on Linux (docs/network.md)")
	}
	if _, err := os.Stat("/usr/bin/curl"); err != nil {
		t.Skip("no /usr/bin/curl")
	}
	registry := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "package %s", r.URL.Path)
	}))
	defer registry.Close()
	host, port, _ := net.SplitHostPort(registry.Listener.Addr().String())
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: registry.Certificate().Raw})
	d := startDevWith(t, "services:\n  code:\n    enabled: true\n    project_roots: [~/Projects]\n    network: {allow: [\""+host+":"+port+"\", \"localhost:"+port+"\"]}\n", "", cred,
		func(home string) { os.WriteFile(filepath.Join(home, "Projects", "demo", "ca.crt"), ca, 0o644) })
	cli := func(args ...string) (string, string, int) {
		if cred == nil {
			return d.cli(args...)
		}
		cmd := exec.Command(binPath, args...)
		cmd.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket, "PATH=/usr/bin:/bin"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	proj := filepath.Join(d.home, "Projects", "demo")
	out, errOut, code := cli("exec", "--cwd", proj, "--", "curl", "-sS", "--max-time", "20", "--cacert", "ca.crt", "https://"+host+":"+port+"/left-pad.tgz")
	if code != 0 || out != "package /left-pad.tgz" {
		t.Fatalf("curl of the allowed host: %d %q %q\nstack:\n%s", code, out, errOut, d.stderrText())
	}
	// A name: the confined code service resolves it itself (localhost:
	// /etc/hosts), and reaches 127.0.0.1 because a rule names it.
	out, errOut, code = cli("exec", "--cwd", proj, "--", "curl", "-sSk", "--max-time", "20", "https://localhost:"+port+"/by-name")
	if code != 0 || out != "package /by-name" {
		t.Errorf("curl of an allowed name: %d %q %q", code, out, errOut)
	}
	out, errOut, code = cli("exec", "--cwd", proj, "--", "curl", "-sS", "--max-time", "20", "https://example.com/")
	if code == 0 || !strings.Contains(out+errOut, "CONNECT tunnel failed, response 403") {
		t.Errorf("curl of an unlisted host: %d %q %q", code, out, errOut)
	}
	var allowed, refused bool
	for _, r := range auditRecords(t, d) {
		if r.Method != "code.execute" || r.By != audit.ByEgress || r.Ref == 0 {
			continue
		}
		switch {
		case r.Decision == audit.Allow && strings.Contains(r.Reason, "→ "+host+":"+port) && !strings.Contains(r.Reason, "down 0 B"):
			allowed = true
		case r.Decision == audit.Deny && strings.Contains(r.Reason, "example.com:443") && strings.Contains(r.Reason, "no allow rule"):
			refused = true
		}
	}
	if !allowed || !refused {
		t.Errorf("audit: allowed connection recorded %v, refused one %v", allowed, refused)
	}
}

// TestExecAsksTheOwner: in ask mode a connection to a host no rule lists
// waits in `carapace approvals` until the owner answers with `carapace
// approve`; then it goes through (here to an address a rule names).
func TestExecAsksTheOwner(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("commands get network only on Linux (docs/network.md)")
	}
	if _, err := os.Stat("/usr/bin/curl"); err != nil {
		t.Skip("no /usr/bin/curl")
	}
	registry := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "package %s", r.URL.Path)
	}))
	defer registry.Close()
	_, port, _ := net.SplitHostPort(registry.Listener.Addr().String())
	d := startDevWith(t, "services:\n  code:\n    enabled: true\n    project_roots: [~/Projects]\n    network: {allow: [\"127.0.0.1:"+port+"\"], ask: true}\n", "", nil, nil)
	proj := filepath.Join(d.home, "Projects", "demo")
	curl := exec.Command(binPath, "exec", "--cwd", proj, "--", "curl", "-sSk", "--max-time", "120", "https://localhost:"+port+"/asked")
	curl.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket, "PATH=/usr/bin:/bin"}
	var o, e strings.Builder
	curl.Stdout, curl.Stderr = &o, &e
	if err := curl.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	for i := 0; i < 600 && id == ""; i++ { // the request reaches the queue from another process
		out, _, _ := d.cli("approvals", "--json")
		var res struct {
			Pending []struct {
				ID      string `json:"id"`
				Command string `json:"command"`
			} `json:"pending"`
		}
		if json.Unmarshal([]byte(out), &res) == nil {
			for _, p := range res.Pending {
				if p.Command == "network: connect to localhost:"+port {
					id = p.ID
				}
			}
		}
		if id == "" {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if id == "" {
		curl.Process.Kill()
		curl.Wait()
		t.Fatalf("no network request in carapace approvals; curl: %q %q\nstack:\n%s", o.String(), e.String(), d.stderrText())
	}
	if out, errOut, code := d.cli("approve", id); code != 0 {
		t.Fatalf("carapace approve %s: %d %q %q", id, code, out, errOut)
	}
	curl.Wait()
	if o.String() != "package /asked" {
		t.Errorf("curl after the owner's approval: %q %q", o.String(), e.String())
	}
}

// TestNetworkGrantsThroughTheStack: in ask mode the owner approves a
// host for an agent's token with `carapace approve ID --for 10m`; the
// same token's next connection there goes through unasked; `carapace
// grants` lists the host (id n…, the token, the directory) and `carapace
// grants revoke` ends it, so the next connection asks again.
func TestNetworkGrantsThroughTheStack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("commands get network only on Linux (docs/network.md)")
	}
	if _, err := os.Stat("/usr/bin/curl"); err != nil {
		t.Skip("no /usr/bin/curl")
	}
	registry := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "package %s", r.URL.Path)
	}))
	defer registry.Close()
	_, port, _ := net.SplitHostPort(registry.Listener.Addr().String())
	d := startDevWith(t, "services:\n  code:\n    enabled: true\n    project_roots: [~/Projects]\n    network: {allow: [\"127.0.0.1:"+port+"\"], ask: true}\n", "", nil, nil)
	proj := filepath.Join(d.home, "Projects", "demo")
	tok, errOut, code := d.cli("token", "issue", "--aud", "code", "--scope", "POST:~/Projects/*", "--ttl", "10m", "--name", "claude")
	if code != 0 {
		t.Fatal(errOut)
	}
	tok = strings.TrimSpace(tok)
	target := "localhost:" + port
	curl := func(path string) chan cliResult {
		ch := make(chan cliResult, 1)
		go func() {
			o, e, c := d.cli("exec", "--token", tok, "--cwd", proj, "--", "curl", "-sSk", "--max-time", "120", "https://"+target+path)
			ch <- cliResult{o, e, c}
		}()
		return ch
	}
	res := curl("/first")
	id := d.waitPending(t, "network: connect to "+target)
	if out, errOut, code := d.cli("approve", id, "--for", "10m"); code != 0 {
		t.Fatalf("approve --for: %d %q %q", code, out, errOut)
	}
	if r := <-res; r.out != "package /first" {
		t.Fatalf("first curl: %+v", r)
	}
	if r := <-curl("/again"); r.out != "package /again" {
		t.Fatalf("remembered host: %+v\nstack:\n%s", r, d.stderrText())
	}
	l := d.grants(t)
	if len(l.Network) != 1 || l.Network[0].ID != "n"+id || l.Network[0].Target != target || l.Network[0].Dir != proj || l.Network[0].Uses != 1 {
		t.Fatalf("network grants %+v", l.Network)
	}
	if out, _, _ := d.cli("grants"); !strings.Contains(out, "n"+id) || !strings.Contains(out, "network (token)") ||
		!strings.Contains(out, target+" with token "+l.Network[0].JTI) || !strings.Contains(out, "claude") {
		t.Errorf("grants table %q", out)
	}
	if _, errOut, code := d.cli("grants", "revoke", "n"+id); code != 0 || !strings.Contains(errOut, "revoked network grant n"+id) {
		t.Fatalf("revoke: %d %q", code, errOut)
	}
	if l := d.grants(t); len(l.Network) != 0 {
		t.Fatalf("after revoke: %+v", l.Network)
	}
	res = curl("/after")
	id2 := d.waitPending(t, "network: connect to "+target)
	d.cli("deny", id2)
	if r := <-res; r.out == "package /after" {
		t.Fatalf("after revoke the host went through: %+v", r)
	}
}
