//go:build linux || darwin || freebsd || netbsd || openbsd

package file

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
)

// TestWritesToExecutedPathsRefused: with the whole home an allowed
// read-write folder, a write token must not change what the owner's
// tools run — an existing executable hook, a .git file's gitdir:, shell
// start-up and editor files, Carapace's own ~/.config/gimme — by any
// write-like method (write in every mode, mkdir, move to or from, move
// of a folder holding them, delete), while reads of them still work.
func TestWritesToExecutedPathsRefused(t *testing.T) {
	home := t.TempDir()
	files := map[string]string{
		"proj/.git/hooks/pre-commit": "#!/bin/sh\nexit 0\n",
		"proj/.git/HEAD":             "ref: refs/heads/main\n",
		"proj/.envrc":                "export A=1\n",
		"proj/.vscode/tasks.json":    "{}\n",
		"proj/a.txt":                 "a\n",
		".bashrc":                    "# rc\n",
		".config/gimme/local.yaml":   "services: {}\n",
		"stage/.git/config":          "[core]\n\tfsmonitor = touch /tmp/PWNED\n",
		"stage/hooks/post-checkout":  "#!/bin/sh\n",
		"plain/readme.txt":           "r\n",
		"proj2/src.txt":              "s\n",
	}
	for name, text := range files {
		p := filepath.Join(home, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(text), 0o755))
	}
	s, err := New(Config{Home: home, Folders: []Folder{{Path: "~"}}}, service.AllowAll)
	must(t, err)
	defer s.Close()
	m := s.Methods()
	call := func(method string, params map[string]any) error {
		b, _ := json.Marshal(params)
		_, err := m[method](context.Background(), &service.Call{Method: method, Params: b})
		return err
	}
	h := func(rel string) string { return filepath.Join(home, rel) }
	for _, a := range []struct {
		method string
		params map[string]any
	}{
		{"file.write", p("path", h("proj/.git/hooks/pre-commit"), "content", "touch /tmp/PWNED", "mode", "overwrite")},
		{"file.write", p("path", h("proj/.git/hooks/pre-commit"), "content", "touch /tmp/PWNED", "mode", "append")},
		{"file.write", p("path", h("proj/.git/hooks/post-checkout"), "content", "x", "mode", "create")},
		{"file.write", p("path", h("proj2/.git"), "content", "gitdir: ../stage/.git\n", "mode", "create")},
		{"file.write", p("path", h("proj/.envrc"), "content", "x", "mode", "overwrite")},
		{"file.write", p("path", h("proj/.vscode/tasks.json"), "content", "x", "mode", "overwrite")},
		{"file.write", p("path", h("proj/.mcp.json"), "content", "{}", "mode", "create")},
		{"file.write", p("path", h("proj/.claude/settings.json"), "content", "{}", "mode", "create")},
		{"file.write", p("path", h(".bashrc"), "content", "x", "mode", "append")},
		{"file.write", p("path", h(".config/gimme/local.yaml"), "content", "services: {file: {paths: [/]}}", "mode", "overwrite")},
		{"file.mkdir", p("path", h("proj2/.git/hooks"), "parents", true)},
		{"file.mkdir", p("path", h("proj/.claude"))},
		{"file.move", p("from", h("proj/a.txt"), "to", h("proj/.git/hooks/post-checkout"))},
		{"file.move", p("from", h("plain"), "to", h("proj2/.git"))},
		{"file.move", p("from", h("stage"), "to", h("proj3"))},
		{"file.move", p("from", h("proj/.git/hooks"), "to", h("proj/hooks-old"))},
		{"file.move", p("from", h("proj/a.txt"), "to", h(".config/gimme/local.yaml"), "replace", true)},
		{"file.move", p("from", h(".config"), "to", h("config-old"))},
		{"file.delete", p("path", h("proj/.git/hooks/pre-commit"))},
		{"file.delete", p("path", h(".config"), "recursive", true)},
	} {
		err := call(a.method, a.params)
		if errs.KindOf(err) != errs.Forbidden {
			t.Errorf("%s %v: %v, want forbidden", a.method, a.params, err)
		}
	}
	for name, text := range files {
		got, err := os.ReadFile(h(name))
		if err != nil || string(got) != text {
			t.Errorf("%s changed: %q %v", name, got, err)
		}
	}
	if st, err := os.Stat(h("proj/.git/hooks/pre-commit")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("hook: %v %v", st, err)
	}
	for _, gone := range []string{"proj2/.git", "proj/.mcp.json", "proj/.claude", "proj3", "config-old"} {
		if _, err := os.Lstat(h(gone)); err == nil {
			t.Errorf("%s was made", gone)
		}
	}
	for _, rd := range []string{"proj/.git/hooks/pre-commit", "proj/.envrc", ".bashrc", ".config/gimme/local.yaml", "proj/.vscode/tasks.json"} {
		if err := call("file.read", p("path", h(rd))); err != nil {
			t.Errorf("read %s: %v", rd, err)
		}
	}
	// Ordinary files beside them are still written.
	if err := call("file.write", p("path", h("proj/b.txt"), "content", "b", "mode", "create")); err != nil {
		t.Errorf("write proj/b.txt: %v", err)
	}
}
