package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peterbourgon/ff/v3/ffcli"
	"gopkg.in/yaml.v3"
)

// readsConfig are the commands that read the owner file themselves:
// each must take --config and --owner-config, to read the files the stack
// was started with.
var readsConfig = []string{
	"status", "doctor", "exec", "app list", "file mkdir", "file read", "file write",
	"config check", "policy check", "audit tail", "audit verify", "token inspect", "dev", "serve",
}

// TestStackFlags walks the command tree: every command that finds the
// stack (--socket) finds it by --runtime-dir too, every command that
// reads the owner file takes both files' flags.
func TestStackFlags(t *testing.T) {
	found := map[string]*ffcli.Command{}
	var walk func(c *ffcli.Command, path []string)
	walk = func(c *ffcli.Command, path []string) {
		name := strings.Join(path, " ")
		found[name] = c
		has := func(f string) bool { return c.FlagSet != nil && c.FlagSet.Lookup(f) != nil }
		if has("socket") && !has("runtime-dir") {
			t.Errorf("carapace %s takes --socket but not --runtime-dir", name)
		}
		if has("owner-config") != has("config") {
			t.Errorf("carapace %s takes one of --config and --owner-config", name)
		}
		for _, s := range c.Subcommands {
			walk(s, append(append([]string{}, path...), s.Name))
		}
	}
	walk(rootCommand(), nil)
	for _, name := range readsConfig {
		c := found[name]
		if c == nil {
			t.Errorf("no command %q", name)
			continue
		}
		c.FlagSet.VisitAll(func(*flag.Flag) {})
		if c.FlagSet.Lookup("owner-config") == nil {
			t.Errorf("carapace %s reads the owner file but takes no --owner-config", name)
		}
	}
}

// cliAlone runs the CLI against nothing but its flags: no $GIMME_SOCKET
// that finds the stack, an empty $XDG_RUNTIME_DIR.
func (d *devStack) cliAlone(args ...string) (stdout, stderr string, code int) {
	d.t.Helper()
	cmd := exec.Command(binPath, args...)
	empty := d.t.TempDir()
	cmd.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + filepath.Join(empty, "none.sock"), "XDG_RUNTIME_DIR=" + empty, "PATH=/usr/bin:/bin"}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		d.t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestCommandsFollowTheStacksFlags: status and doctor read the owner file
// --owner-config names (its missing folders), and refuse one that is not
// there; status, doctor and config check find a dev stack by its
// --runtime-dir, and config check shows the runtime and state directories
// that stack uses.
func TestCommandsFollowTheStacksFlags(t *testing.T) {
	d := startDev(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n", nil)
	other := filepath.Join(d.home, "other.yaml")
	os.WriteFile(other, []byte("services:\n  file: {enabled: true, paths: [~/Elsewhere]}\n"), 0o644)
	const want = "~/Elsewhere (services.file.paths) does not exist yet"
	if out, _, code := d.cli("status"); code != 0 || strings.Contains(out, "Elsewhere") {
		t.Errorf("status without --owner-config: %d %s", code, out)
	}
	if out, errOut, code := d.cli("status", "--owner-config", other); code != 0 || !strings.Contains(out, want) {
		t.Errorf("status --owner-config: %d %s %s", code, out, errOut)
	}
	if out, _, _ := d.cli("doctor", "--owner-config", other); !strings.Contains(out, want) {
		t.Errorf("doctor --owner-config:\n%s", out)
	}
	out, _, _ := d.cli("doctor", "--json", "--owner-config", other)
	var checks []check
	if err := json.Unmarshal([]byte(out), &checks); err != nil || !strings.Contains(out, want) {
		t.Errorf("doctor --json --owner-config: %v\n%s", err, out)
	}
	for _, cmd := range [][]string{{"status"}, {"doctor"}} {
		if _, errOut, code := d.cli(append(cmd, "--owner-config", "/no/such/file.yaml")...); code != exitUsage || !strings.Contains(errOut, "--owner-config /no/such/file.yaml") {
			t.Errorf("%s --owner-config of a missing file: %d %s", cmd[0], code, errOut)
		}
	}

	if out, errOut, code := d.cliAlone("status", "--runtime-dir", d.dir); code != 0 || !strings.Contains(out, "file") || !strings.Contains(out, "up") {
		t.Errorf("status --runtime-dir: %d %s %s", code, out, errOut)
	}
	if out, _, _ := d.cliAlone("doctor", "--runtime-dir", d.dir); !strings.Contains(out, "ok   router answers") || !strings.Contains(out, "a dev stack") {
		t.Errorf("doctor --runtime-dir:\n%s", out)
	}
	out, errOut, code := d.cliAlone("config", "check", "--runtime-dir", d.dir)
	var eff struct {
		StateDir string `yaml:"state_dir"`
		System   struct {
			RuntimeDir string `yaml:"runtime_dir"`
			StateDir   string `yaml:"state_dir"`
		} `yaml:"system"`
	}
	if err := yaml.Unmarshal([]byte(out), &eff); code != 0 || err != nil {
		t.Fatalf("config check --runtime-dir: %d %v %s %s", code, err, out, errOut)
	}
	state := filepath.Join(d.dir, "state")
	if eff.StateDir != state || eff.System.StateDir != state || eff.System.RuntimeDir != d.dir {
		t.Errorf("config check --runtime-dir %s: state_dir %q, system.state_dir %q, system.runtime_dir %q", d.dir, eff.StateDir, eff.System.StateDir, eff.System.RuntimeDir)
	}
	if _, errOut, code := d.cliAlone("status", "--runtime-dir", d.dir, "--socket", "/elsewhere/router.sock"); code != exitUsage || !strings.Contains(errOut, "is not in --runtime-dir") {
		t.Errorf("status with --socket and --runtime-dir apart: %d %s", code, errOut)
	}
}
