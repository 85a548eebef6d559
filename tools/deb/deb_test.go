package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/linux/units"
)

// TestPackage builds a .deb from stand-in binaries and has dpkg-deb list
// it: every base file from linux/units and both binaries are in it.
func TestPackage(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "stand-in")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	path, err := build(options{carapace: bin, sandbox: bin, installer: bin, out: dir, version: "1.2.3", arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("dpkg-deb", "-c", path).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v\n%s", err, out)
	}
	want := []string{units.Binary, SandboxBinary, units.InstallerBinary}
	for _, f := range units.BaseFiles() {
		want = append(want, f.Path)
	}
	for _, w := range want {
		if !strings.Contains(string(out), "."+w+"\n") {
			t.Errorf("package lacks %s", w)
		}
	}
	info, _ := exec.Command("dpkg-deb", "-I", path).CombinedOutput()
	for _, s := range []string{"postinst", "prerm", "postrm", "Depends: systemd (>= 247), acl, passwd"} {
		if !strings.Contains(string(info), s) {
			t.Errorf("control lacks %q:\n%s", s, info)
		}
	}
}

// TestScripts runs shellcheck on the maintainer scripts.
func TestScripts(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck not installed (make deps)")
	}
	for name, body := range map[string]string{"postinst": postinst, "prerm": prerm, "postrm": postrm} {
		cmd := exec.Command("shellcheck", "-s", "sh", "-")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
}
