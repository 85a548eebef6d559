package xpcbridge

import (
	"errors"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// requirementShape is the basic shape of a TN3127 requirement as
// Requirement builds it: clauses joined by "and", each an anchor, a
// certificate field match, an identifier or a (possibly negated)
// entitlement existence test, with every string quoted.
var (
	clause = `(anchor apple generic` +
		`|certificate leaf\[subject\.OU\] = "[A-Z0-9]{10}"` +
		`|identifier "[A-Za-z0-9.\-]+"` +
		`|!?entitlement\["[A-Za-z0-9.\-]+"\] exists)`
	requirementShape = regexp.MustCompile(`^` + clause + `( and ` + clause + `)*$`)
)

func TestRequirement(t *testing.T) {
	for _, svc := range []string{"router", "file", "code", "shell", "app"} {
		r := Requirement("ABCDE12345", svc)
		if !requirementShape.MatchString(r) {
			t.Errorf("Requirement(%s) = %q does not have the TN3127 shape", svc, r)
		}
		for _, want := range []string{
			`anchor apple generic`,
			`certificate leaf[subject.OU] = "ABCDE12345"`,
			`entitlement["com.gimme.capability.` + svc + `"] exists`,
			`!entitlement["com.apple.security.get-task-allow"] exists`,
		} {
			if !strings.Contains(r, want) {
				t.Errorf("Requirement(%s) = %q lacks %q", svc, r, want)
			}
		}
		if !strings.HasPrefix(r, "anchor apple generic and ") {
			t.Errorf("Requirement(%s) must start with the Apple anchor: %q", svc, r)
		}
	}
	s := ServerRequirement("ABCDE12345")
	if !requirementShape.MatchString(s) || !strings.Contains(s, `identifier "com.gimme.carapace"`) {
		t.Errorf("ServerRequirement = %q", s)
	}
}

func TestRequirementRejectsBadInput(t *testing.T) {
	for _, c := range []struct{ team, svc string }{
		{"", "file"},
		{"abcde12345", "file"}, // Team IDs are upper case
		{"ABCDE1234", "file"},  // nine characters
		{"ABCDE12345\"", "file"},
		{"ABCDE12345", ""},
		{"ABCDE12345", `file"] exists or entitlement["x`}, // injection
		{"ABCDE12345", "File"},
	} {
		if r := Requirement(c.team, c.svc); r != "" {
			t.Errorf("Requirement(%q, %q) = %q, want \"\"", c.team, c.svc, r)
		}
	}
	if r := ServerRequirement(`X" or anchor apple`); r != "" {
		t.Errorf("ServerRequirement accepted a bad Team ID: %q", r)
	}
}

func TestEmptyArgumentsRefused(t *testing.T) {
	if _, err := Listen("com.gimme.local.file", ""); err == nil || !strings.Contains(err.Error(), "TeamID") {
		t.Errorf("Listen without a requirement: %v", err)
	}
	if _, err := Dial("", "anchor apple"); err == nil {
		t.Error("Dial without a service name succeeded")
	}
}

func TestStubsUnsupported(t *testing.T) {
	if runtime.GOOS == "darwin" {
		t.Skip("on darwin the real bridge is built")
	}
	req := Requirement("ABCDE12345", "file")
	if _, err := Listen("com.gimme.local.file", req); !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "hint") {
		t.Errorf("Listen on %s: %v", runtime.GOOS, err)
	}
	if _, err := Dial("com.gimme.local.router", ServerRequirement("ABCDE12345")); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Dial on %s: %v", runtime.GOOS, err)
	}
}
