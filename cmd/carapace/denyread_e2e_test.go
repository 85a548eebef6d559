package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCommandsCannotReadProjectSecrets: through the dev stack, a command
// in a project reads neither its .env nor a nested .env.local nor an AWS
// credentials folder (masked by the kernel in the command's mount
// namespace), nor one inside node_modules, nor secrets made or renamed into place after the code
// service indexed the project, while the rest of the project reads as
// ever; and a secret a
// command prints reaches an agent's token as a placeholder. As the
// current user and, as root, as a created ordinary user.
func TestCommandsCannotReadProjectSecrets(t *testing.T) {
	t.Run("current user", func(t *testing.T) { denyReadCorpus(t, nil) })
	t.Run("ordinary user", func(t *testing.T) { denyReadCorpus(t, testUser(t)) })
}

func denyReadCorpus(t *testing.T, cred *syscall.Credential) {
	secret := "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
	var app string
	d := startDevWith(t, "services:\n  code: {enabled: true, project_roots: [~/Projects]}\n", "", cred, func(home string) {
		app = filepath.Join(home, "Projects", "app")
		writeFiles(t, app, map[string]string{
			".env":                    "SECRET-env\n",
			"config/.env.local":       "SECRET-local\n",
			".aws/credentials":        "SECRET-aws\n",
			"plain.txt":               "PLAIN\n",
			"node_modules/pkg/.npmrc": "SECRET-npmrc\n",
			"scripts/print-it.sh":     "echo token=" + secret + "\n",
		})
	})
	out, errOut, code := d.cliAs(cred, "exec", "--cwd", app, "--", "/bin/sh", "-c", "cat .env config/.env.local .aws/credentials node_modules/pkg/.npmrc plain.txt 2>&1; echo END")
	if all := out + errOut; code != 0 || strings.Contains(all, "SECRET") || !strings.Contains(all, "PLAIN") || !strings.Contains(all, "END") {
		t.Fatalf("exec: %d\n%s", code, all)
	}
	// The code service's index (inotify) was built by that command: what
	// changes after it — a secret made in an existing directory and in a
	// new one, a file renamed to a masked name — is masked for the next.
	writeFiles(t, app, map[string]string{
		"config/.env.production": "SECRET-late\n",
		"new/deep/id_ed25519":    "SECRET-key\n",
		"notes.txt":              "SECRET-renamed\n",
	})
	if cred != nil {
		chownTree(t, app, int(cred.Uid), int(cred.Gid))
	}
	if err := os.Rename(filepath.Join(app, "notes.txt"), filepath.Join(app, "config", ".netrc")); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = d.cliAs(cred, "exec", "--cwd", app, "--", "/bin/sh", "-c", "cat config/.env.production new/deep/id_ed25519 config/.netrc plain.txt 2>&1; echo END")
	if all := out + errOut; code != 0 || strings.Contains(all, "SECRET") || !strings.Contains(all, "PLAIN") || !strings.Contains(all, "END") {
		t.Fatalf("exec after changes: %d\n%s", code, all)
	}
	tok, errOut, code := d.cliAs(cred, "token", "issue", "--aud", "code", "--scope", "POST:~/Projects/*", "--ttl", "10m", "--name", "claude")
	if code != 0 {
		t.Fatalf("token issue: %s", errOut)
	}
	tok = strings.TrimSpace(tok)
	p, _ := json.Marshal(map[string]any{"command": "/bin/sh", "args": []string{"scripts/print-it.sh"}, "cwd": app})
	out, errOut, code = d.cliAs(cred, "call", "--token", tok, "code.execute", string(p))
	if code != 0 || strings.Contains(out, secret) || !strings.Contains(out, "REDACTED:github-pat") {
		t.Fatalf("agent's command output: %d %s %s", code, out, errOut)
	}
}
