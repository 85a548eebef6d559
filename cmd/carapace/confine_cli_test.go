package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestUnconfinedServiceShown: a service that runs without the OS's
// confinement (the app service, by design) is logged at start and shown
// by status and doctor, in text and in JSON; the confined ones are not.
func TestUnconfinedServiceShown(t *testing.T) {
	d := startDev(t, "services:\n  app: {enabled: true, allowed_apps: [Recorder]}\n  file: {enabled: true, paths: [~/Docs]}\n", nil)
	waitUntil(t, "the app service's start-up warning", func() bool {
		return strings.Contains(d.stderrText(), "service runs unconfined") && strings.Contains(d.stderrText(), "service=app")
	})
	out, errOut, code := d.cli("status", "--json")
	var res struct {
		Services []struct{ Name, Unconfined string }
	}
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil {
		t.Fatalf("status --json: %d %v %s %s", code, err, out, errOut)
	}
	for _, s := range res.Services {
		if (s.Name == "app") != (s.Unconfined != "") {
			t.Errorf("status --json: %s unconfined %q", s.Name, s.Unconfined)
		}
	}
	if out, _, _ := d.cli("status"); !strings.Contains(out, "unconfined: app: by design") {
		t.Errorf("status does not show the unconfined app service:\n%s", out)
	}
	out, _, _ = d.cli("doctor", "--json")
	var checks []check
	if err := json.Unmarshal([]byte(out), &checks); err != nil {
		t.Fatalf("doctor --json: %v %s", err, out)
	}
	found := false
	for _, c := range checks {
		if c.Name == "service app confined" {
			found = c.Warn && strings.Contains(c.Detail, "unconfined") && strings.Contains(c.Fix, "services.app.enabled: false")
		}
		if c.Name == "service file confined" {
			t.Errorf("doctor warns of the confined file service: %+v", c)
		}
	}
	if !found {
		t.Errorf("doctor --json has no warning for the app service:\n%s", out)
	}
	if out, _, _ := d.cli("doctor"); !strings.Contains(out, "warn service app confined") {
		t.Errorf("doctor:\n%s", out)
	}
}
