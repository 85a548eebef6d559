package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/managed"
)

// startManaged starts a dev stack under a managed policy (written to its
// own root-only directory, pointed at by $CARAPACE_MANAGED).
func startManaged(t *testing.T, policy, ownerYAML string) (*devStack, string) {
	t.Helper()
	if _, err := os.Lstat("/etc/gimme/managed.yaml"); err == nil {
		t.Skip("this machine has a managed policy of its own, which an override never replaces")
	}
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "managed.yaml")
	if err := os.WriteFile(path, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	devExtraEnv = []string{"CARAPACE_MANAGED=" + path}
	defer func() { devExtraEnv = nil }()
	return startDev(t, ownerYAML, nil), path
}

// replace rewrites the policy as config management does: a new file
// renamed over the old.
func replace(t *testing.T, path, policy string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

type servicesAnswer struct {
	Result struct {
		Services []struct {
			Name    string `json:"name"`
			Enabled bool   `json:"enabled"`
			Error   string `json:"error"`
		} `json:"services"`
	} `json:"result"`
}

func services(t *testing.T, d *devStack) map[string]string {
	var a servicesAnswer
	line := raw(t, d.socket, `{"jsonrpc":"2.0","id":1,"method":"services"}`)
	if err := json.Unmarshal([]byte(line), &a); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	out := map[string]string{}
	for _, s := range a.Result.Services {
		st := "off"
		if s.Enabled {
			st = "on"
		}
		out[s.Name] = st + " " + s.Error
	}
	return out
}

// A local.yaml and flags asking for more than the managed policy get what
// the policy allows: no shell service, no folder outside the managed
// ones, no token longer than its max_ttl, no agent it does not name.
func TestManagedPolicyWinsOverOwnerFileAndFlags(t *testing.T) {
	d, _ := startManaged(t, "services: [file, code]\nfolders: [\"~/Docs\"]\ntokens: {max_ttl: 1h}\nagents: [codex]\n",
		"services:\n  file: {enabled: true, paths: [~/Docs, ~/Other]}\n  code: {enabled: true}\n  shell: {enabled: true}\n")
	os.MkdirAll(filepath.Join(d.home, "Other"), 0o755)
	os.WriteFile(filepath.Join(d.home, "Docs", "a.txt"), []byte("hello"), 0o644)
	if s := services(t, d); !strings.HasPrefix(s["shell"], "off") || !strings.HasPrefix(s["file"], "on") {
		t.Fatalf("services %v", s)
	}
	if _, errOut, code := d.cli("token", "issue", "--aud", "shell", "--scope", "POST:/*", "--ttl", "10m", "--name", "codex"); code == 0 {
		t.Fatal("minted a shell token the policy forbids")
	} else {
		t.Logf("shell: %s", errOut)
	}
	if _, errOut, code := d.cli("token", "issue", "--aud", "file", "--scope", "GET:~/Other/*", "--ttl", "10m", "--name", "codex"); code == 0 {
		t.Fatal("minted a token for a folder outside the managed ones")
	} else {
		t.Logf("folder: %s", errOut)
	}
	if _, errOut, code := d.cli("token", "issue", "--aud", "file", "--scope", "GET:~/Docs/*", "--ttl", "10h", "--name", "codex"); code == 0 || !strings.Contains(errOut, "bad_ttl") || !strings.Contains(errOut, "managed policy") {
		t.Fatalf("--ttl 10h widened the managed max_ttl of 1h: %d %s", code, errOut)
	}
	if _, errOut, code := d.cli("token", "issue", "--aud", "file", "--scope", "GET:~/Docs/*", "--ttl", "10m", "--name", "cursor"); code == 0 || !strings.Contains(errOut, "managed_agent") {
		t.Fatalf("minted for an agent the policy does not name: %d %s", code, errOut)
	}
	doc := filepath.Join(d.home, "Docs", "a.txt")
	codex := mintAs(t, d, "file", "GET:~/Docs/*", "codex")
	if out, errOut, code := d.cli("call", "--token", codex, "file.read", `{"path":"`+doc+`"}`); code != 0 || !strings.Contains(out, "hello") {
		t.Fatalf("codex reading ~/Docs: %d %s %s", code, out, errOut)
	}
}

func mintAs(t *testing.T, d *devStack, aud, scope, name string) string {
	t.Helper()
	tok, errOut, code := d.cli("token", "issue", "--aud", aud, "--scope", scope, "--ttl", "30m", "--name", name)
	if code != 0 {
		t.Fatalf("token issue %s %s: %s", aud, scope, errOut)
	}
	return strings.TrimSpace(tok)
}

// A token issued under one policy fails at its next call once the policy
// no longer allows it: on `config reload`, and on the file's change alone.
func TestManagedPolicyChangeBindsIssuedTokens(t *testing.T) {
	d, path := startManaged(t, "services: [file, code]\n",
		"services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: true}\n")
	doc := filepath.Join(d.home, "Docs", "a.txt")
	os.WriteFile(doc, []byte("hello"), 0o644)
	tok := mintAs(t, d, "file", "GET:~/Docs/*", "codex")
	read := func() (string, int) {
		_, errOut, code := d.cli("call", "--token", tok, "file.read", `{"path":"`+doc+`"}`)
		return errOut, code
	}
	if errOut, code := read(); code != 0 {
		t.Fatalf("before: %s", errOut)
	}
	replace(t, path, "services: [code]\n")
	if _, errOut, code := d.cli("config", "reload"); code != 0 {
		t.Fatalf("config reload: %s", errOut)
	}
	if errOut, code := read(); code == 0 || !strings.Contains(errOut, "managed") {
		t.Fatalf("after reload: %d %s", code, errOut)
	}
	// Back, then away again without a reload: the router sees the file.
	replace(t, path, "services: [file, code]\n")
	d.cli("config", "reload")
	// A change restarts the services (TestManagedChangeReachesServices):
	// the file service may be coming back.
	for end := time.Now().Add(60 * time.Second); ; {
		errOut, code := read()
		if code == 0 {
			break
		}
		if !strings.Contains(errOut, "service_down") || time.Now().After(end) {
			t.Fatalf("allowed again: %s", errOut)
		}
		time.Sleep(200 * time.Millisecond)
	}
	replace(t, path, "services: [file]\nfolders: [\"~/Elsewhere\"]\n")
	deadline := time.Now().Add(30 * time.Second)
	for {
		errOut, code := read()
		if code != 0 && strings.Contains(errOut, "managed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the changed file did not take within 30s: %d %s", code, errOut)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// An invalid managed entry stops the services it governs, with the file,
// the line and the key, and never falls back to the owner's file; the
// others keep running.
func TestInvalidManagedEntryStopsItsService(t *testing.T) {
	d, path := startManaged(t, "services: [file, code]\nnetwork:\n  allow: [\"not a host\"]\n",
		"services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: true, network: {allow: [\"*\"]}}\n")
	s := services(t, d)
	if !strings.HasPrefix(s["code"], "off") || !strings.Contains(s["code"], path+":3: network.allow") {
		t.Fatalf("code: %q", s["code"])
	}
	if !strings.HasPrefix(s["file"], "on") {
		t.Fatalf("file: %q", s["file"])
	}
	_, errOut, code := d.cli("exec", "--", "true")
	if code == 0 || !strings.Contains(errOut, "network.allow") {
		t.Fatalf("exec under an invalid policy: %d %s", code, errOut)
	}
	// serve code itself refuses to start.
	cmd := exec.Command(binPath, "serve", "code", "--socket", filepath.Join(t.TempDir(), "c.sock"))
	cmd.Env = []string{"HOME=" + d.home, "CARAPACE_MANAGED=" + path, "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), path+":3: network.allow") {
		t.Fatalf("serve code: %v %s", err, out)
	}
}

// config check says which layer set each value.
func TestConfigCheckShowsLayers(t *testing.T) {
	if _, err := os.Lstat("/etc/gimme/managed.yaml"); err == nil {
		t.Skip("this machine has a managed policy of its own")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	pol := filepath.Join(dir, "managed.yaml")
	os.WriteFile(pol, []byte("services: [file]\ntokens: {max_ttl: 2h}\nshell: {require_human: true}\n"), 0o644)
	home := filepath.Join(dir, "home")
	os.MkdirAll(filepath.Join(home, ".config", "gimme"), 0o755)
	os.WriteFile(filepath.Join(home, ".config", "gimme", "local.yaml"), []byte("services:\n  file: {enabled: true, paths: [~/Docs]}\n  shell: {enabled: true}\n"), 0o644)
	sys := filepath.Join(dir, "carapace.yaml")
	os.WriteFile(sys, []byte("tokens: {max_ttl: 24h}\nrate_limits: {per_uid: 50}\n"), 0o644)
	cmd := exec.Command(binPath, "config", "check", "--json", "--config", sys, "--state-dir", filepath.Join(dir, "state"))
	cmd.Env = []string{"HOME=" + home, "CARAPACE_MANAGED=" + pol, "PATH=/usr/bin:/bin"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	var got struct {
		Sources []struct{ Key, Value, Layer string } `json:"sources"`
		Managed struct {
			Source string `json:"source"`
			Shell  struct {
				RequireHuman bool `json:"require_human"`
			} `json:"shell"`
		} `json:"managed"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	layers := map[string]string{}
	for _, s := range got.Sources {
		layers[s.Key] = s.Layer + " " + s.Value
	}
	for key, want := range map[string]string{
		"services.shell.enabled": "managed false", "services.file.enabled": "owner true",
		"tokens.max_ttl": "managed 2h0m0s", "state_dir": "flag", "rate_limits.per_uid": "system 50",
		"services.code.enabled": "managed false", "shell.require_human": "managed true", "limits.max_batch": "default",
	} {
		if !strings.HasPrefix(layers[key], want) {
			t.Errorf("%s: %q, want %q", key, layers[key], want)
		}
	}
	if got.Managed.Source != pol || !got.Managed.Shell.RequireHuman {
		t.Errorf("managed block: %+v", got.Managed)
	}
}

// carapace policy profile turns a managed.yaml into a .mobileconfig whose
// payload reads back as the same policy.
func TestPolicyProfileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "managed.yaml")
	body := "services: [file, code]\nfolders: [\"~/Work/*\"]\nnetwork: {allow: [\"*.corp.example\"]}\nshell: {require_human: true}\ntokens: {max_ttl: 8h}\nagents: []\n"
	os.WriteFile(in, []byte(body), 0o644)
	out := filepath.Join(dir, "carapace.mobileconfig")
	if b, err := exec.Command(binPath, "policy", "profile", "--managed", in, "--out", out, "--org", "Example").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, b)
	}
	prof, _ := os.ReadFile(out)
	back, err := managed.ParseProfile(out, prof)
	if err != nil {
		t.Fatal(err)
	}
	want := managed.Parse(in, []byte(body))
	back.Source = want.Source
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("got %+v\nwant %+v", back, want)
	}
	os.WriteFile(in, []byte("tokens: {max_ttl: soon}\n"), 0o644)
	b, err := exec.Command(binPath, "policy", "profile", "--managed", in, "--out", out).CombinedOutput()
	if err == nil || !strings.Contains(string(b), in+":1: tokens.max_ttl") {
		t.Fatalf("an invalid policy: %v %s", err, b)
	}
}

// doctor fails its managed policy check on an invalid policy, naming the
// entry.
func TestDoctorManagedPolicyCheck(t *testing.T) {
	if _, err := os.Lstat("/etc/gimme/managed.yaml"); err == nil {
		t.Skip("this machine has a managed policy of its own")
	}
	dir := t.TempDir()
	pol := filepath.Join(dir, "managed.yaml")
	os.WriteFile(pol, []byte("services: [file]\nagents: [\"\"]\n"), 0o644)
	cmd := exec.Command(binPath, "doctor", "--json", "--socket", filepath.Join(dir, "none.sock"))
	cmd.Env = []string{"HOME=" + dir, "CARAPACE_MANAGED=" + pol, "PATH=/usr/bin:/bin"}
	out, _ := cmd.Output()
	var checks []check
	if err := json.Unmarshal(out, &checks); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, c := range checks {
		if c.Name == "managed policy" {
			if c.OK || !strings.Contains(c.Detail, pol+":2: agents") || c.Fix == "" {
				t.Fatalf("%+v", c)
			}
			return
		}
	}
	t.Fatalf("no managed policy check: %s", out)
}

// What a changed policy sets inside a service takes effect without a
// restart by hand: the dev stack restarts its services when the file
// changes, and a deny_read glob added to the policy masks a project file
// from the next command.
func TestManagedChangeReachesServices(t *testing.T) {
	d, path := startManaged(t, "services: [file, code]\n",
		"services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: true, project_roots: [~/Projects]}\n")
	proj := filepath.Join(d.home, "Projects", "demo")
	if err := os.MkdirAll(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, "notes.secret"), []byte("SEKRIT-42"), 0o644); err != nil {
		t.Fatal(err)
	}
	cat := func() (string, string, int) { return d.cli("exec", "--cwd", proj, "--", "cat", "notes.secret") }
	if out, errOut, code := cat(); code != 0 || !strings.Contains(out, "SEKRIT-42") {
		t.Fatalf("before: %d %q %q", code, out, errOut)
	}
	replace(t, path, "services: [file, code]\ndeny_read: [\"*.secret\"]\n")
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, errOut, code := cat()
		// Masked, the file reads empty (or is refused); a service still
		// coming back is neither.
		if !strings.Contains(out, "SEKRIT-42") && (code == 0 || strings.Contains(errOut, "Permission denied")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the policy's deny_read did not reach the code service within 60s: %d %q %q\nstack:\n%s", code, out, errOut, d.stderrText())
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.Contains(d.stderrText(), "managed policy changed: restarting services") {
		t.Errorf("the stack did not say it restarted its services:\n%s", d.stderrText())
	}
}
