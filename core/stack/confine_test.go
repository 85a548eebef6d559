package stack

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/sandbox"
	"github.com/gimme-tools/carapace/core/service"
)

// withoutSandbox makes this process a platform with no sandbox at all
// (as macOS is for services, and any OS without Landlock and seccomp is
// for commands) until the test ends.
func withoutSandbox(t *testing.T) {
	confine, wrap := sandbox.ConfineSelf, sandbox.Wrap
	sandbox.ConfineSelf, sandbox.Wrap = nil, nil
	t.Cleanup(func() { sandbox.ConfineSelf, sandbox.Wrap = confine, wrap })
}

// TestUnconfinedSaysWhy: every case in which a service runs without the
// OS's confinement has a reason; a confined one has none.
func TestUnconfinedSaysWhy(t *testing.T) {
	var on, off config.Owner
	off.Services.Code.Sandbox = "off"
	if why := Unconfined("app", &on); why == "" {
		t.Error("the app service, never confined, is not reported")
	}
	confine := sandbox.ConfineSelf
	sandbox.ConfineSelf = func(sandbox.Profile) error { return nil }
	if why := Unconfined("file", &on); why != "" {
		t.Errorf("file with a service sandbox: %q", why)
	}
	if why := Unconfined("code", &off); why == "" && sandbox.Wrap == nil {
		t.Error("code with sandbox: off and no command sandbox is not reported")
	}
	sandbox.ConfineSelf = confine
	withoutSandbox(t)
	for _, n := range service.Names() {
		if why := Unconfined(n, &on); why == "" {
			t.Errorf("%s on a platform without a sandbox is not reported", n)
		}
	}
}

// TestUnconfinedServiceReported: a code service that cannot confine
// itself or its commands says so in code.info, and the router's view of
// it (Backends, which `services` reports to status and doctor) carries
// the same reason.
func TestUnconfinedServiceReported(t *testing.T) {
	withoutSandbox(t)
	st := &Settings{System: &config.System{}, Owner: &config.Owner{}, RuntimeDir: t.TempDir(), Dev: true}
	st.Owner.Services.Code.Enabled = true
	st.Owner.Services.Code.Sandbox = "off"
	why := Unconfined("code", st.Owner)
	svc, err := NewService("code", st, t.TempDir(), func(*service.Call, string, string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := svc.(io.Closer); ok {
		defer c.Close()
	}
	res, err := svc.Methods()["code.info"](context.Background(), &service.Call{Method: "code.info"})
	if err != nil {
		t.Fatal(err)
	}
	info := res.(map[string]any)
	if info["confined"] != false || info["unconfined"] != why || !strings.Contains(why, "services.code.sandbox") {
		t.Errorf("code.info = %v, want confined false and unconfined %q", info, why)
	}
	for _, b := range st.Backends() {
		if b.Name == "code" && b.Unconfined != why {
			t.Errorf("the router's backend for code: unconfined %q, want %q", b.Unconfined, why)
		}
		if !b.Enabled && b.Unconfined != "" {
			t.Errorf("disabled %s reported unconfined", b.Name)
		}
	}
}
