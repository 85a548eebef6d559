package service_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/scope"
	"github.com/gimme-tools/carapace/core/service"
)

// TestRules: what each method touches, as the router checks it.
func TestRules(t *testing.T) {
	for _, tc := range []struct {
		svc, method, params string
		want                string // "VERB resource; …", "" for none, "!reason" for an error
	}{
		{"code", "code.execute", `{"command":"ls","cwd":"/home/a/Projects/x"}`, "POST /home/a/Projects/x"},
		{"code", "code.execute", `{"command":"ls"}`, "POST " + service.CodeScratch},
		{"code", "code.execute", `{"command":"ls","cwd":""}`, "POST " + service.CodeScratch},
		{"code", "code.execute", `["ls"]`, "!bad_params"},
		{"code", "code.info", ``, ""},
		{"code", "code.ping", `{}`, ""},
		{"code", "code.secret", `{}`, "!unscoped_method"},
		{"file", "file.read", `{"path":"/home/a/Documents/x"}`, "GET /home/a/Documents/x"},
		{"file", "file.list", `{"path":"/home/a/Documents"}`, "GET /home/a/Documents"},
		{"file", "file.write", `{"path":"/d/x","data":"hi"}`, "PUT /d/x"},
		{"file", "file.delete", `{"path":"/d/x"}`, "DELETE /d/x"},
		{"file", "file.move", `{"from":"/d/a","to":"/e/b"}`, "DELETE /d/a; PUT /e/b"},
		{"file", "file.search", `{"path":"/d","query":"x"}`, "GET /d"},
		{"file", "file.copy", `{"from":"/d/a","to":"/e/b"}`, "!unscoped_method"}, // the file service serves no file.copy
		{"file", "file.append", `{"path":"/d/x"}`, "!unscoped_method"},
		{"file", "file.remove", `{"path":"/d/x"}`, "!unscoped_method"},
		{"file", "file.rename", `{"from":"/d/a","to":"/e/b"}`, "!unscoped_method"},
		{"file", "file.ping", `{}`, ""},
		{"file", "file.info", `{}`, "!unscoped_method"},
		{"file", "file.move", `{"from":"/d/a"}`, "!missing_param"},
		{"file", "file.read", `{}`, "!missing_param"},
		{"file", "file.chmod", `{"path":"/d"}`, "!unscoped_method"},
		{"app", "app.activate", `{"app":"Terminal"}`, "POST /Terminal"},
		{"app", "app.activate", `{"app":"../x"}`, "!missing_param"},
		{"app", "app.list", `{}`, ""},
		{"shell", "shell.execute", `{"command":"ls","cwd":"/home/a"}`, "POST /home/a"},
		{"shell", "shell.execute", `{"command":"ls"}`, "POST ~"},
		{"shell", "shell.approvals.list", `{}`, "!unscoped_method"}, // the owner's, through the router's approvals.list
		{"shell", "shell.approvals.decide", `{"id":"x","decision":"allow"}`, "!unscoped_method"},
	} {
		acc, err := service.Lookup(tc.svc).Resources(tc.method, json.RawMessage(tc.params))
		var got string
		if err != nil {
			got = "!" + string(errs.ReasonOf(err))
		} else {
			var parts []string
			for _, a := range acc {
				parts = append(parts, a.Verb+" "+a.Resource)
			}
			got = strings.Join(parts, "; ")
		}
		if got != tc.want {
			t.Errorf("%s %s: got %q, want %q", tc.method, tc.params, got, tc.want)
		}
	}
}

// TestRegistry: names, audiences and methods are each the service's own.
func TestRegistry(t *testing.T) {
	names, auds := map[string]bool{}, map[string]bool{}
	for _, s := range service.Registry {
		if names[s.Name] || auds[s.Audience] {
			t.Errorf("%s: name or audience %q twice", s.Name, s.Audience)
		}
		names[s.Name], auds[s.Audience] = true, true
		if s.Audience != s.Name+".local.gimme.tools" {
			t.Errorf("%s: audience %q", s.Name, s.Audience)
		}
		for _, m := range s.Methods() {
			if !strings.HasPrefix(m, s.Name+".") {
				t.Errorf("%s: method %q lacks the service's prefix", s.Name, m)
			}
		}
		if service.Lookup(s.Name) != s {
			t.Errorf("Lookup(%q) is not its entry", s.Name)
		}
	}
}

// FuzzResources: the resource functions decode untrusted params. They
// never panic, name only real verbs, and a call they accept names what
// the service itself will read from the same params.
func FuzzResources(f *testing.F) {
	for _, s := range []struct{ method, params string }{
		{"code.execute", `{"command":"ls","cwd":"/home/a/Projects/x"}`},
		{"code.execute", `{"command":"ls"}`},
		{"code.execute", `{"cwd":"/a","CWD":"/b"}`},
		{"file.move", `{"from":"/d/a","to":"/e/b"}`},
		{"file.read", `{"path":"/d/x"}`},
		{"app.activate", `{"app":"Terminal"}`},
		{"shell.execute", `{"cwd":"/h"}`},
		{"code.info", `null`},
		{"file.read", `[1,2]`},
	} {
		f.Add(s.method, []byte(s.params))
	}
	verbs := map[string]bool{scope.GET: true, scope.PUT: true, scope.DELETE: true, scope.POST: true}
	f.Fuzz(func(t *testing.T, method string, params []byte) {
		for _, s := range service.Registry {
			svc := s.Name
			acc, err := s.Resources(method, json.RawMessage(params))
			if err != nil {
				continue
			}
			for _, a := range acc {
				if !verbs[a.Verb] || a.Resource == "" {
					t.Fatalf("%s %s %q: %+v", svc, method, params, a)
				}
			}
			if method == "code.execute" && svc == "code" {
				var p struct{ Cwd string }
				json.Unmarshal(params, &p)
				if len(acc) != 1 || (p.Cwd != "" && acc[0].Resource != p.Cwd) {
					t.Fatalf("code.execute %q: %+v, service reads cwd %q", params, acc, p.Cwd)
				}
			}
		}
	})
}

// TestPathRuleReadsWhatTheServiceReads: the router authorises the path
// the rule reads (its fast reading, jsonrpc.LooseString, or
// encoding/json), and the service acts on the path its strict decoder
// reads; for params built to tell them apart — names in other cases,
// repeated, escaped, a null after a string — both must read the same.
func TestPathRuleReadsWhatTheServiceReads(t *testing.T) {
	rule := service.Path(scope.GET)
	for _, params := range []string{
		`{"path":"/allowed/a","PATH":"/etc/shadow"}`,
		`{"PATH":"/etc/shadow","path":"/allowed/a"}`,
		`{"path":"/allowed/a","Path":null}`,
		`{"pa\u0074h":"/etc/shadow"}`,
		`{"path":"/allowed/a","pa\u0074h":"/etc/shadow"}`,
		`{"path":"/allowed/\u0061"}`,
		"{\"path\":\"/allowed/a\",\"pa\u017fh\":\"/etc/shadow\"}", // ſ: not ASCII, left to encoding/json
	} {
		acc, err := rule("file.read", json.RawMessage(params))
		var p struct {
			Path string `json:"path"`
		}
		if serr := service.Decode(json.RawMessage(params), &p); serr != nil {
			continue // the service refuses the call: it acts on nothing
		}
		if err != nil {
			t.Errorf("%s: the rule refused (%v) what the service reads as %q", params, err, p.Path)
			continue
		}
		if acc[0].Resource != p.Path {
			t.Errorf("%s: the router authorises %q, the service acts on %q", params, acc[0].Resource, p.Path)
		}
	}
}

// TestRuleParamsReadAsTheServiceReads extends
// TestPathRuleReadsWhatTheServiceReads to every rule-bearing param (path,
// cwd, from and to, app) and to the classes a hand-written reader could
// get wrong: names in other cases, escaped or folded by Unicode (the
// Kelvin sign and the long s, which encoding/json folds onto k and s),
// duplicates, null, escapes and invalid UTF-8 or NUL in the value,
// numbers, objects and arrays where a string belongs, JSON's four kinds
// of space. For every params text the service accepts, the router must
// authorise exactly what the service reads; where the router refuses,
// the call goes no further.
func TestRuleParamsReadAsTheServiceReads(t *testing.T) {
	type params struct {
		Path string `json:"path"`
		Cwd  string `json:"cwd"`
		From string `json:"from"`
		To   string `json:"to"`
		App  string `json:"app"`
	}
	values := []string{`"/allowed/a"`, `"/etc/shadow"`, `null`, `"\/etc\/sh\u0061dow"`, `"/allowed/\u0000x"`,
		"\"/allowed/\xff\"", `1e999`, `{"path":"/etc"}`, `["/etc"]`, `""`, `"Terminal"`, `true`}
	names := map[string][]string{
		"path":  {`"path"`, `"PATH"`, `"Path"`, `"pa\u0074h"`, `"p\u0041th"`, "\"pa\u0074h\"", `"path "`, `"path\u0000"`},
		"cwd":   {`"cwd"`, `"CWD"`, `"c\u0077d"`, `"Cwd"`},
		"from":  {`"from"`, `"FROM"`, `"fr\u006fm"`},
		"to":    {`"to"`, `"TO"`, `"t\u006f"`},
		"app":   {`"app"`, `"APP"`, `"\u0061pp"`},
		"other": {"\"\u212aey\"", "\"pa\u017fs\"", `"paths"`, `"ask"`, "\"\u017fhell\""},
	}
	cases := []struct {
		method string
		want   func(p params) []service.Access
		names  []string
	}{
		{"file.read", func(p params) []service.Access { return []service.Access{{Verb: scope.GET, Resource: p.Path}} }, []string{"path", "other"}},
		{"code.execute", func(p params) []service.Access {
			if p.Cwd == "" {
				p.Cwd = service.CodeScratch
			}
			return []service.Access{{Verb: scope.POST, Resource: p.Cwd}}
		}, []string{"cwd", "path", "other"}},
		{"file.move", func(p params) []service.Access {
			return []service.Access{{Verb: scope.DELETE, Resource: p.From}, {Verb: scope.PUT, Resource: p.To}}
		}, []string{"from", "to", "other"}},
		{"app.activate", func(p params) []service.Access { return []service.Access{{Verb: scope.POST, Resource: "/" + p.App}} }, []string{"app", "other"}},
	}
	spaces := []string{"", " ", "\t", "\n", "\r\n "}
	rnd := uint64(1)
	next := func(n int) int { rnd = rnd*6364136223846793005 + 1442695040888963407; return int(rnd>>33) % n }
	for _, c := range cases {
		var spec *service.Spec
		for i := range service.Registry {
			if strings.HasPrefix(c.method, service.Registry[i].Name+".") {
				spec = service.Registry[i]
			}
		}
		for range 4000 {
			var b strings.Builder
			b.WriteString("{" + spaces[next(len(spaces))])
			for i := range 1 + next(4) {
				if i > 0 {
					b.WriteString("," + spaces[next(len(spaces))])
				}
				ns := names[c.names[next(len(c.names))]]
				b.WriteString(ns[next(len(ns))] + spaces[next(len(spaces))] + ":" + values[next(len(values))])
			}
			b.WriteString(spaces[next(len(spaces))] + "}")
			in := b.String()
			if !json.Valid([]byte(in)) {
				continue // the router's parser refuses the line
			}
			var p params
			if err := service.Decode(json.RawMessage(in), &p); err != nil {
				continue // the service refuses the call: it acts on nothing
			}
			acc, err := spec.Resources(c.method, json.RawMessage(in))
			if err != nil {
				continue // the router refuses it
			}
			want := c.want(p)
			if len(acc) != len(want) {
				t.Fatalf("%s %s: the router authorises %+v, the service acts on %+v", c.method, in, acc, want)
			}
			for i := range acc {
				if acc[i] != want[i] {
					t.Errorf("%s %s: the router authorises %+v, the service acts on %+v", c.method, in, acc, want)
				}
			}
		}
	}
}
