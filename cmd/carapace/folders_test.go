package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMissingFolderReportedAndTakenIn: a configured folder that does not
// exist is named at start (stderr), by status, config check and doctor;
// once created, the file service serves it without anyone restarting
// anything.
func TestMissingFolderReportedAndTakenIn(t *testing.T) {
	d := startDev(t, "services:\n  file: {enabled: true, paths: [~/Docs, ~/Later]}\n  code: {enabled: false}\n", nil)
	const want = "~/Later (services.file.paths) does not exist yet"
	waitUntil(t, "dev names the missing folder", func() bool { return strings.Contains(d.stderrText(), want) })
	if out, _, code := d.cli("status"); code != 0 || !strings.Contains(out, want) {
		t.Errorf("status: %d %s", code, out)
	}
	if _, errOut, code := d.cli("config", "check"); code != 0 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "mkdir -p ~/Later") {
		t.Errorf("config check: %d %s", code, errOut)
	}
	if out, _, _ := d.cli("doctor"); !strings.Contains(out, "warn") || !strings.Contains(out, want) ||
		!strings.Contains(out, "a dev stack") || strings.Contains(out, "systemd is PID 1") || strings.Contains(out, "FAIL installed") {
		t.Errorf("doctor (a dev stack: no systemd checks, the folder a warning): %s", out)
	}
	later := filepath.Join(d.home, "Later")
	_, errOut, code := d.cli("file", "ls", later)
	if code == 0 || !strings.Contains(errOut, "folder_unavailable") || !strings.Contains(errOut, "without a restart") {
		t.Fatalf("ls of a missing folder: %d %s", code, errOut)
	}
	if err := os.Mkdir(later, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(later, "x.txt"), []byte("x"), 0o644)
	waitUntil(t, "the file service to take the new folder in", func() bool {
		out, _, code := d.cli("file", "ls", later)
		return code == 0 && strings.Contains(out, "x.txt")
	})
	if out, _, _ := d.cli("status"); strings.Contains(out, "missing") {
		t.Errorf("status still names a folder that exists:\n%s", out)
	}
	// If a restart is ever wanted, one command does it.
	pid := servicePID(t, d, "file")
	if _, errOut, code := d.cli("restart", "file"); code != 0 || !strings.Contains(errOut, "restarted file") {
		t.Fatalf("restart file: %d %s", code, errOut)
	}
	if servicePID(t, d, "file") == pid {
		t.Error("the file service has the same pid after restart")
	}
}

// waitUntil waits up to a minute for cond.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}
