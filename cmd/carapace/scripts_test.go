package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bare runs the CLI with no stack: HOME is an empty directory and the
// socket names nothing.
func bare(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(binPath, args...)
	cmd.Env = []string{"HOME=" + home, "GIMME_SOCKET=" + filepath.Join(home, "none.sock"), "PATH=/usr/bin:/bin", "XDG_RUNTIME_DIR=" + home}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestJSONErrors: with --json an error is JSON too, on stderr, with its
// code, reason, hint and exit code; stdout stays empty.
func TestJSONErrors(t *testing.T) {
	for _, args := range [][]string{
		{"status", "--json"},
		{"file", "read", "/etc/hostname", "--json"},
		{"--json", "token", "issue", "--aud", "file"},
		{"ping", "--json", "--no-such-flag"},
	} {
		out, errOut, code := bare(t, args...)
		var e struct {
			Error struct {
				Message, Reason, Hint string
				Code, Exit            int
			}
		}
		if err := json.Unmarshal([]byte(errOut), &e); err != nil || e.Error.Message == "" || e.Error.Reason == "" || e.Error.Exit != code {
			t.Errorf("%v: exit %d, stderr not a JSON error (%v):\n%s", args, code, err, errOut)
		}
		if out != "" {
			t.Errorf("%v: stdout %q", args, out)
		}
		if e.Error.Reason == "router_down" && (e.Error.Code != -32007 || e.Error.Hint == "") {
			t.Errorf("%v: %+v", args, e.Error)
		}
	}
}

// TestScriptsSeeTheTruth: doctor --json exits as doctor does; config
// check fails on a named file that is not there; audit tail says where it
// looked.
func TestScriptsSeeTheTruth(t *testing.T) {
	_, _, code := bare(t, "doctor")
	_, _, jcode := bare(t, "doctor", "--json")
	if code == 0 || jcode != code {
		t.Errorf("doctor exits %d, doctor --json %d (no router: both should fail alike)", code, jcode)
	}
	for _, flag := range []string{"--config", "--owner-config"} {
		if _, errOut, code := bare(t, "config", "check", flag, "/no/such/file.yaml"); code != exitUsage || !strings.Contains(errOut, flag+" /no/such/file.yaml") {
			t.Errorf("config check %s of a missing file: exit %d %s", flag, code, errOut)
		}
	}
	_, errOut, code := bare(t, "audit", "tail", "--state-dir", "/no/such/state")
	if code == 0 || !strings.Contains(errOut, "looked in /no/such/state/audit") {
		t.Errorf("audit tail: exit %d %s", code, errOut)
	}
}
