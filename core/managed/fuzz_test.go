package managed

import (
	"reflect"
	"testing"

	"github.com/gimme-tools/carapace/core/service"
)

// FuzzParse: no input panics, and whatever parses without error applies
// and checks without panicking; an input with errors stops some service.
func FuzzParse(f *testing.F) {
	for _, s := range []string{full, "services: []\n", "services:\n", "folders: [~/a\n", "- x\n", "tokens: {max_ttl: 1h}\n",
		"network:\n  allow: [\"*.corp\"]\n", "shell: {require_human: true}\n", "agents: [\"\"]\n", "audit: {export_required: yes}\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := Parse("managed.yaml", []byte(s))
		if len(p.Errs()) > 0 {
			stopped := false
			for _, n := range service.Names() {
				stopped = stopped || p.Err(n) != nil
			}
			if !stopped {
				t.Fatal("errors that stop nothing")
			}
			return
		}
		prof, err := Profile(p, "")
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseProfile("p.mobileconfig", prof)
		if err != nil {
			t.Fatalf("%q: the profile does not read back: %v", s, err)
		}
		back.Source = p.Source
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("%q: round trip\n got  %+v\n want %+v", s, back, p)
		}
		o, sys := owner()
		p.Apply(o, sys, "/home/a")
		p.Check(Call{Service: "file", Method: "file.read", Home: "/home/a",
			Access: []service.Access{{Verb: "GET", Resource: "/home/a/Documents/x"}}})
	})
}
