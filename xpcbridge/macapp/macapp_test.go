package macapp

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestStatusText(t *testing.T) {
	if s := RequiresApproval.String(); !strings.Contains(s, "Login Items") {
		t.Errorf("RequiresApproval.String() = %q; it must say where to approve", s)
	}
	if s := Status(9).String(); s != "status 9" {
		t.Errorf("Status(9).String() = %q", s)
	}
}

// TestWrappersMatchShim checks that every function macapp.h declares is
// defined in macapp.m and called from a darwin Go file: the Objective-C
// file is compiled only on a Mac, so a mismatch would otherwise surface
// there first.
func TestWrappersMatchShim(t *testing.T) {
	h, m := read(t, "macapp.h"), read(t, "macapp.m")
	g := read(t, "macapp_darwin.go") + read(t, "notify_darwin.go")
	decls := regexp.MustCompile(`(?m)^\w+ (gmac_\w+)\(`).FindAllStringSubmatch(h, -1)
	if len(decls) != 10 {
		t.Fatalf("macapp.h declares %d functions, want 10", len(decls))
	}
	for _, d := range decls {
		if !regexp.MustCompile(`(?m)^\w+ ` + d[1] + `\([^;]*\{`).MatchString(m) {
			t.Errorf("%s is declared but not defined in macapp.m", d[1])
		}
		if !strings.Contains(g, "C."+d[1]+"(") {
			t.Errorf("%s has no Go wrapper", d[1])
		}
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
