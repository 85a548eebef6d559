package sandbox

import (
	"reflect"
	"strings"
	"testing"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	s := ForProject("/home/a/proj", "/tmp/carapace-1").WithDefaults()
	s.Network = true
	got, err := Decode(s.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip changed the spec:\n got %+v\nwant %+v", got, s)
	}
	if strings.ContainsAny(s.Encode(), " \t\n'\"$;&|") {
		t.Fatal("encoded spec is not one shell-safe word")
	}
}

func TestForProjectProtectsGit(t *testing.T) {
	s := ForProject("/p", "/t")
	want := []string{"/p/.git/hooks", "/p/.git/config"}
	if !reflect.DeepEqual(s.Protected, want) {
		t.Fatalf("Protected = %v, want %v", s.Protected, want)
	}
	if s.Network {
		t.Fatal("network on by default")
	}
	if s.Home != "/t" || s.TmpDir != "/t" {
		t.Fatalf("home %q tmp %q, want both /t", s.Home, s.TmpDir)
	}
}

func TestDecodeRejects(t *testing.T) {
	enc := func(js string) string { return b64(js) }
	cases := map[string]string{
		"not base64":     "!!!",
		"not json":       enc("nope"),
		"unknown field":  enc(`{"limits":{},"extra":1}`),
		"relative path":  enc(`{"read_write":["proj"],"limits":{}}`),
		"unclean path":   enc(`{"read_only":["/a/../b"],"limits":{}}`),
		"root writable":  enc(`{"read_write":["/"],"limits":{}}`),
		"nul in path":    enc(`{"read_exec":["/a\u0000b"],"limits":{}}`),
		"empty path":     enc(`{"protected":[""],"limits":{}}`),
		"trailing value": enc(`{"limits":{}} {}`),
		"relative home":  enc(`{"home":"h","limits":{}}`),
		"huge":           strings.Repeat("A", maxEncoded+1),
	}
	for name, word := range cases {
		if _, err := Decode(word); err == nil {
			t.Errorf("%s: Decode accepted it", name)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	s := Spec{TmpDir: "/t", Limits: Limits{Procs: 10, FileSize: -1}}.WithDefaults()
	want := DefaultLimits
	want.Procs, want.FileSize = 10, -1
	if s.Limits != want {
		t.Fatalf("limits %+v, want %+v", s.Limits, want)
	}
	if s.Home != "/t" {
		t.Fatalf("home %q, want the tmpdir", s.Home)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(ForProject("/p", "/t").Encode())
	f.Add(b64(`{"read_write":["/"],"limits":{}}`))
	f.Add(b64(`{"limits":{"procs":-1}}`))
	f.Add("")
	f.Fuzz(func(t *testing.T, word string) {
		s, err := Decode(word)
		if err != nil {
			return
		}
		// Whatever Decode accepts must validate and survive a round trip.
		if err := s.Validate(); err != nil {
			t.Fatalf("Decode accepted an invalid spec: %v", err)
		}
		again, err := Decode(s.Encode())
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}
