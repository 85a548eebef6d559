package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestExecCannotPlantCodeForOwnerTools runs, through the dev stack and
// a code token for ~/Projects (cwd ~/Projects, the folder holding the
// repositories), commands that try to leave code the owner's own tools
// would run later as the owner: git hooks and config of a repository
// that is not the one at cwd, a repository whose git directory lies
// elsewhere (gitdir:), direnv and editor files, and a new repository
// whose config names a program (core.fsmonitor runs at `git status`).
// Writes to what exists must fail; what a command creates must be moved
// aside before the owner's git sees it. As the current user and, as
// root, as a created ordinary user.
func TestExecCannotPlantCodeForOwnerTools(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	t.Run("current user", func(t *testing.T) { plantCorpus(t, nil) })
	t.Run("ordinary user", func(t *testing.T) { plantCorpus(t, testUser(t)) })
}

func plantCorpus(t *testing.T, cred *syscall.Credential) {
	var projects string
	prep := func(home string) {
		projects = filepath.Join(home, "Projects")
		gitAs(t, nil, home, "init", "-q", filepath.Join(projects, "proj1"))
		gitAs(t, nil, home, "init", "-q", "--separate-git-dir", filepath.Join(projects, "proj2.git"), filepath.Join(projects, "proj2"))
		gitAs(t, nil, home, "init", "-q", filepath.Join(projects, "proj5"))
		gitAs(t, nil, home, "init", "-q", filepath.Join(projects, "proj3"))
		gitAs(t, nil, home, "-C", filepath.Join(projects, "proj3"), "config", "core.hooksPath", "tools/hooks")
		gitAs(t, nil, home, "init", "-q", filepath.Join(projects, "proj4"))
		gitAs(t, nil, home, "-C", filepath.Join(projects, "proj4"), "config", "core.hooksPath", "hooks-to-come")
		writeFiles(t, projects, map[string]string{
			"proj3/tools/hooks/pre-commit": "#!/bin/sh\nexit 0\n",
			"proj1/.git/hooks/pre-commit":  "#!/bin/sh\nexit 0\n",
			"proj1/.envrc":                 "export A=1\n",
			"proj1/.vscode/tasks.json":     "{}\n",
			"proj2.git/hooks/pre-commit":   "#!/bin/sh\nexit 0\n",
		})
	}
	d := startDevWith(t, "services:\n  code: {enabled: true, project_roots: [~/Projects]}\n", "", cred, prep)
	pwned := filepath.Join(d.home, "PWNED")
	run := func(script string) (string, int) {
		t.Helper()
		out, errOut, code := d.cliAs(cred, "exec", "--cwd", projects, "--", "/bin/sh", "-c", script)
		return out + errOut, code
	}
	snapshot := func() map[string]string {
		m := map[string]string{}
		for _, f := range []string{"proj1/.git/hooks/pre-commit", "proj1/.git/config", "proj1/.envrc", "proj1/.vscode/tasks.json",
			"proj2/.git", "proj2.git/config", "proj2.git/hooks/pre-commit", "proj3/tools/hooks/pre-commit"} {
			b, err := os.ReadFile(filepath.Join(projects, f))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			m[f] = string(b)
		}
		return m
	}
	before := snapshot()
	for _, attack := range []string{
		"echo 'touch " + pwned + "' >> proj1/.git/hooks/pre-commit",
		"git config -f proj1/.git/config core.fsmonitor 'touch " + pwned + "'",
		"printf '[core]\\n\\tfsmonitor = touch " + pwned + "\\n' > proj1/.git/config",
		"rm -rf proj1/.git/hooks && mkdir proj1/.git/hooks && echo x > proj1/.git/hooks/pre-commit",
		"mv proj1/.git/config proj1/.git/config.old",
		"echo 'touch " + pwned + "' >> proj2.git/hooks/pre-commit",
		"git config -f proj2.git/config core.fsmonitor 'touch " + pwned + "'",
		"echo 'gitdir: /tmp/elsewhere' > proj2/.git",
		"echo 'touch " + pwned + "' >> proj3/tools/hooks/pre-commit",
		"echo 'touch " + pwned + "' >> proj1/.envrc",
		"echo '{\"tasks\":[]}' > proj1/.vscode/tasks.json",
	} {
		if out, code := run(attack); code == 0 {
			t.Errorf("%q succeeded:\n%s", attack, out)
		}
	}
	if after := snapshot(); !mapsEqual(before, after) {
		t.Errorf("executed files changed:\nbefore %q\nafter  %q", before, after)
	}

	// What a command creates: a nested repository with core.fsmonitor, a
	// repository's missing parts, new direnv and agent files.
	out, code := run("git init -q proj1/sub/new && git -C proj1/sub/new config core.fsmonitor 'touch " + pwned + "'" +
		" && mkdir -p proj1/.claude && echo '{}' > proj1/.claude/settings.json && echo x > proj2/.envrc" +
		" && mkdir proj4/hooks-to-come && echo 'touch " + pwned + "' > proj4/hooks-to-come/pre-commit")
	if code != 0 {
		t.Fatalf("creating files: %d\n%s", code, out)
	}
	// A repository swapped whole: its .git moved aside (mount points
	// inside a directory do not stop renaming the directory) and a new
	// one made in its place.
	out5, code := run("mv proj5/.git proj5/.git-old && git init -q proj5 && git -C proj5 config core.fsmonitor 'touch " + pwned + "'")
	if code != 0 {
		t.Fatalf("swapping proj5/.git: %d\n%s", code, out5)
	}
	if _, err := os.Lstat(filepath.Join(projects, "proj5", ".git")); err == nil {
		t.Error("the swapped-in proj5/.git was left in place")
	}
	owner := exec.Command("git", "-C", filepath.Join(projects, "proj5"), "status")
	owner.Env = []string{"HOME=" + d.home, "PATH=/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM=1"}
	if cred != nil {
		owner.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	owner.Run() // no repository there any more: an error, and nothing run
	for _, gone := range []string{"proj1/sub/new/.git", "proj1/.claude", "proj2/.envrc", "proj4/hooks-to-come"} {
		if _, err := os.Lstat(filepath.Join(projects, gone)); err == nil {
			t.Errorf("%s was left in place", gone)
		}
		if !strings.Contains(out, "quarantined "+filepath.Join(projects, gone)+".carapace-quarantine-") {
			t.Errorf("the result does not name %s as quarantined:\n%s", gone, out)
		}
	}
	// The owner's git, run where the command made its repository.
	gitAs(t, cred, d.home, "-C", filepath.Join(projects, "proj1", "sub", "new"), "status", "--short")
	gitAs(t, cred, d.home, "-C", filepath.Join(projects, "proj1"), "status", "--short")
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("the owner's git ran a program a sandboxed command planted")
	}
}

// cliAs is cli run as cred (nil: the current user).
func (d *devStack) cliAs(cred *syscall.Credential, args ...string) (stdout, stderr string, code int) {
	if cred == nil {
		return d.cli(args...)
	}
	cmd := exec.Command(binPath, args...)
	cmd.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		d.t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

// gitAs runs git as cred (nil: the current user) with HOME home; a
// failure is the test's.
func gitAs(t *testing.T, cred *syscall.Credential, home string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM=1"}
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
