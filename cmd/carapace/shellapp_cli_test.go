package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestShellCLI: `carapace shell -- CMD` says on stderr that it waits for
// the owner, runs once approved, and passes the exit code through.
func TestShellCLI(t *testing.T) {
	d := startDev(t, "services:\n  shell: {enabled: true, approval_timeout: 2m}\n", nil)
	work := filepath.Join(d.home, "Projects", "demo")
	cmd := exec.Command(binPath, "shell", "--cwd", work, "--", "sh", "-c", "echo from-shell; exit 3")
	cmd.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket, "PATH=/usr/bin:/bin"}
	var out bytes.Buffer
	errOut := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = &out, errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	id := d.waitPending(t, "'sh' '-c' 'echo from-shell; exit 3'")
	if !strings.Contains(errOut.String(), "waiting for the owner's approval…") {
		t.Errorf("no waiting line on stderr: %q", errOut.String())
	}
	if _, e, code := d.cli("approve", id); code != 0 {
		t.Fatalf("approve: %d %s", code, e)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 3 || out.String() != "from-shell\n" {
		t.Fatalf("shell: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

// TestAppCLI: `carapace app list` and `carapace app open` for the owner,
// without a token of their own.
func TestAppCLI(t *testing.T) {
	d := startDev(t, "services:\n  app: {enabled: true, allowed_apps: [Recorder]}\n", nil)
	apps := filepath.Join(d.home, ".local", "share", "applications")
	os.MkdirAll(apps, 0o755)
	rec := filepath.Join(d.home, "recorder.sh")
	os.WriteFile(rec, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > \""+d.home+"/ran.tmp\" && mv \""+d.home+"/ran.tmp\" \""+d.home+"/ran\"\n"), 0o755)
	os.WriteFile(filepath.Join(apps, "recorder.desktop"), []byte("[Desktop Entry]\nType=Application\nName=Recorder\nExec="+rec+" %F\n"), 0o644)
	out, errOut, code := d.cli("app", "list")
	if code != 0 || !strings.Contains(out, "Recorder") || !strings.Contains(out, "recorder.desktop") {
		t.Fatalf("app list: %d %s %s", code, out, errOut)
	}
	if out, errOut, code := d.cli("app", "open", "Recorder"); code != 0 || !strings.Contains(out, "opened Recorder") {
		t.Fatalf("app open: %d %s %s\n%s", code, out, errOut, d.stderr)
	}
	waitFile(t, filepath.Join(d.home, "ran"))
	if _, errOut, code := d.cli("app", "open", "Other"); code == 0 {
		t.Fatalf("opened an app not allowed: %s", errOut)
	}
}
