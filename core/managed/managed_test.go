package managed

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"howett.net/plist"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/scope"
	"github.com/gimme-tools/carapace/core/service"
)

const full = `services: [file, code, app]
folders: ["~/Documents", "~/Work/*"]
project_roots: ["~/Projects/*"]
deny_read: ["*.pem", "secrets/"]
deny_write: [Makefile]
network:
  allow: ["*.corp.example", "proxy.golang.org"]
  deny: ["paste.corp.example"]
shell: {require_human: true}
tokens: {max_ttl: 8h}
agents: [claude-code, codex]
audit: {export_required: true}
`

// write puts a policy file in a fresh directory, mode 0644.
func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "managed.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadReadsEveryKey(t *testing.T) {
	p := Load(write(t, full), true)
	if errs := p.Errs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	want := &Policy{
		Source: p.Source, Services: []string{"file", "code", "app"},
		Folders: []string{"~/Documents", "~/Work/*"}, ProjectRoots: []string{"~/Projects/*"},
		DenyRead: []string{"*.pem", "secrets/"}, DenyWrite: []string{"Makefile"},
		Network: Network{Allow: []string{"*.corp.example", "proxy.golang.org"}, Deny: []string{"paste.corp.example"}},
		Shell:   Shell{RequireHuman: true}, Tokens: Tokens{MaxTTL: "8h"},
		Agents: []string{"claude-code", "codex"}, Audit: Audit{ExportRequired: true},
		maxTTL: 8 * time.Hour,
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got  %+v\nwant %+v", p, want)
	}
	if p.MaxTTL() != 8*time.Hour {
		t.Fatal(p.MaxTTL())
	}
}

// An invalid entry stops the services it governs, with the file, the
// line and the key, and only those; never "no limit".
func TestInvalidEntryStopsItsServices(t *testing.T) {
	for _, tc := range []struct {
		name, body, key string
		line            int
		stopped         []string
	}{
		{"bad host", "folders: [~/Documents]\nnetwork:\n  allow: [\"bad host\"]\n", "network.allow", 3, []string{"code"}},
		{"bad folder", "folders: [Documents]\n", "folders", 1, []string{"file"}},
		{"bad glob", "deny_read: [\"[\"]\n", "deny_read", 1, []string{"file", "code"}},
		{"bad ttl", "tokens: {max_ttl: forever}\n", "tokens.max_ttl", 1, service.Names()},
		{"unknown service", "services: [file, mail]\n", "services", 1, service.Names()},
		{"empty list key", "services:\n", "services", 1, service.Names()},
		{"null sub key", "shell: {require_human: }\n", "shell.require_human", 1, []string{"shell"}},
		{"not a bool", "shell: {require_human: maybe}\n", "shell.require_human", 1, []string{"shell"}},
		{"unknown key", "servics: [file]\n", "servics", 1, service.Names()},
		{"unknown sub key", "tokens: {ttl: 1h}\n", "tokens.ttl", 1, service.Names()},
		{"syntax", "folders: [~/a\n", "", 0, service.Names()},
		{"not a mapping", "- file\n", "", 1, service.Names()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, tc.body)
			p := Load(path, true)
			for _, svc := range service.Names() {
				err := p.Err(svc)
				if stop := slices.Contains(tc.stopped, svc); stop != (err != nil) {
					t.Fatalf("%s: stopped=%v, want %v (err %v)", svc, err != nil, stop, err)
				}
				if err == nil {
					continue
				}
				var me *Error
				if !errors.As(err, &me) || me.File != path || me.Key != tc.key || (tc.line != 0 && me.Line != tc.line) {
					t.Fatalf("%s: error %q (%+v), want key %q at line %d", svc, err, me, tc.key, tc.line)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Fatal("not ErrInvalid")
				}
			}
		})
	}
}

func TestEmptyListAllowsNone(t *testing.T) {
	p := Load(write(t, "services: []\nagents: []\n"), true)
	if len(p.Errs()) > 0 || p.Services == nil || p.Allows("file") {
		t.Fatalf("services: [] must allow none: %+v %v", p, p.Errs())
	}
	if p.AgentAllowed("codex", false) || !p.AgentAllowed("", true) {
		t.Fatal("agents: [] must allow only the owner's own tokens")
	}
	if q := Load(write(t, ""), true); len(q.Errs()) > 0 || !q.Allows("shell") {
		t.Fatal("an empty file has no limits")
	}
}

// The file must be one only root (or, for an override, the user running
// Carapace) can write or replace.
func TestUntrustedFileStopsEverything(t *testing.T) {
	check := func(t *testing.T, p *Policy, want string) {
		t.Helper()
		for _, svc := range service.Names() {
			if err := p.Err(svc); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("%s: %v, want an error with %q", svc, p.Err(svc), want)
			}
		}
	}
	t.Run("group writable", func(t *testing.T) {
		path := write(t, full)
		os.Chmod(path, 0o664)
		check(t, Load(path, true), "writable by group or others")
	})
	t.Run("symlink", func(t *testing.T) {
		path := write(t, full)
		link := filepath.Join(filepath.Dir(path), "link.yaml")
		os.Symlink(path, link)
		check(t, Load(link, true), "symbolic link")
	})
	t.Run("parent writable by others", func(t *testing.T) {
		path := write(t, full)
		os.Chmod(filepath.Dir(path), 0o777)
		check(t, Load(path, true), "writable by group or others")
	})
	t.Run("not root's", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to give the file to another user")
		}
		path := write(t, full)
		os.Chown(path, 65534, 65534)
		check(t, Load(path, true), "not root")
	})
	t.Run("the user's own, not an override", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("as root the file is root's")
		}
		check(t, Load(write(t, full), false), "not root")
	})
}

func TestMissingFileIsNoPolicy(t *testing.T) {
	p := Load(filepath.Join(t.TempDir(), "none.yaml"), true)
	if p.Source != "" || len(p.Errs()) > 0 || !p.Allows("shell") {
		t.Fatalf("%+v", p)
	}
}

// An override (--managed, $CARAPACE_MANAGED) never replaces the machine's
// policy: a flag can only ask for less.
func TestOverrideNeverReplacesMachinePolicy(t *testing.T) {
	machine := write(t, "services: [file]\n")
	other := write(t, "")
	p, over, warn := locate([]string{machine}, other)
	if p != machine || over || warn == "" {
		t.Fatalf("locate = %q %v %q", p, over, warn)
	}
	absent := filepath.Join(t.TempDir(), "absent.yaml")
	if p, over, _ := locate([]string{absent}, other); p != other || !over {
		t.Fatalf("without a machine policy the override applies: %q %v", p, over)
	}
	if got := SourcesFor("darwin"); got[0] != ManagedPrefsPath {
		t.Fatal(got)
	}
	if got := SourcesFor("linux"); !reflect.DeepEqual(got, []string{DefaultPath}) {
		t.Fatal(got)
	}
}

func owner() (*config.Owner, *config.System) {
	o := &config.Owner{Services: config.Services{
		File:  config.FileService{Enabled: true, Paths: []config.Folder{{Path: "/home/a/Documents"}, {Path: "/home/a/Work/x"}, {Path: "/home/a"}}},
		Code:  config.CodeService{Enabled: true, ProjectRoots: []string{"/home/a/Projects/p", "/home/a/Projects", "/srv"}, Network: config.Network{Allow: []string{"*"}}},
		Shell: config.ShellService{Enabled: true},
		App:   config.AppService{Enabled: true},
	}}
	return o, &config.System{Tokens: config.Tokens{MaxTTL: config.Duration(24 * time.Hour)}}
}

// A local.yaml asking for more than the policy (the shell, folders outside
// it, the whole network, day-long tokens) gets what the policy allows.
func TestApplyNarrowsAWiderOwnerFile(t *testing.T) {
	p := Load(write(t, full), true)
	o, sys := owner()
	ch := p.Apply(o, sys, "/home/a")
	s := o.Services
	if s.Shell.Enabled || !s.File.Enabled || !s.Code.Enabled || !s.App.Enabled {
		t.Fatalf("services: %+v", s)
	}
	var folders []string
	for _, f := range s.File.Paths {
		folders = append(folders, f.Path)
	}
	if !reflect.DeepEqual(folders, []string{"/home/a/Documents", "/home/a/Work/x"}) {
		t.Fatalf("folders %v", folders)
	}
	if !reflect.DeepEqual(s.Code.ProjectRoots, []string{"/home/a/Projects/p"}) {
		t.Fatalf("roots %v", s.Code.ProjectRoots)
	}
	if !reflect.DeepEqual(s.Code.Network.Allow, []string{"*.corp.example", "proxy.golang.org"}) || !slices.Contains(s.Code.Network.Deny, "paste.corp.example") {
		t.Fatalf("network %+v", s.Code.Network)
	}
	if !slices.Contains(s.File.Deny, "*.pem") || !slices.Contains(s.Code.DenyRead, "secrets/") || !slices.Contains(s.File.DenyWrite, "Makefile") {
		t.Fatalf("deny lists %+v", s)
	}
	if sys.Tokens.MaxTTL.D() != 8*time.Hour {
		t.Fatal(sys.Tokens.MaxTTL)
	}
	if len(ch) == 0 {
		t.Fatal("no changes noted")
	}
}

// A policy wider than the owner file changes nothing in it.
func TestApplyNeverWidens(t *testing.T) {
	p := Load(write(t, "folders: [/]\nproject_roots: [/]\nnetwork: {allow: [\"*\"]}\ntokens: {max_ttl: 48h}\n"), true)
	o, sys := owner()
	o.Services.Shell.Enabled = false
	o.Services.Code.Network.Allow = []string{"api.github.com:443"}
	sys.Tokens.MaxTTL = config.Duration(time.Hour)
	want, _ := owner()
	want.Services.Shell.Enabled = false
	want.Services.Code.Network.Allow = []string{"api.github.com:443"}
	p.Apply(o, sys, "/home/a")
	if !reflect.DeepEqual(o, want) || sys.Tokens.MaxTTL.D() != time.Hour {
		t.Fatalf("widened: %+v, ttl %v", o, sys.Tokens.MaxTTL)
	}
}

// Every service has an enabled switch Apply can turn off.
func TestApplyKnowsEveryService(t *testing.T) {
	var s config.Services
	for _, n := range service.Names() {
		if enabled(&s, n) == nil {
			t.Errorf("no enabled switch for %s", n)
		}
	}
}

func TestIntersect(t *testing.T) {
	for _, tc := range []struct {
		own, managed, want []string
	}{
		{[]string{"*"}, []string{"a.example", "*.corp"}, []string{"a.example", "*.corp"}},
		{[]string{"*.corp"}, []string{"git.corp:443"}, []string{"git.corp:443"}},
		{[]string{"git.corp"}, []string{"*.corp"}, []string{"git.corp"}},
		{[]string{"corp"}, []string{"*.corp"}, []string{}},
		{[]string{"git.corp:*"}, []string{"git.corp"}, []string{"git.corp"}},
		{[]string{"git.corp:22"}, []string{"git.corp"}, []string{}},
		{[]string{"127.0.0.1:8443"}, []string{"*:*"}, []string{"127.0.0.1:8443"}},
		{[]string{"127.0.0.1:8443"}, []string{"*"}, []string{}}, // "*" is ports 443 and 80
		{[]string{"127.0.0.1:8443"}, []string{"*.corp"}, []string{}},
		{[]string{"evil.example"}, []string{}, []string{}},
	} {
		if got := intersect(tc.own, tc.managed); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("intersect(%v, %v) = %v, want %v", tc.own, tc.managed, got, tc.want)
		}
	}
}

func TestInside(t *testing.T) {
	pats := []string{"~/Documents", "~/Work/*"}
	for p, want := range map[string]bool{
		"/home/a/Documents": true, "/home/a/Documents/x/y": true, "/home/a/Work/x": true,
		"/home/a/Work/x/y": true, "/home/a/Work": false, "/home/a": false, "/home/a/Documents2": false,
		"/home/b/Documents": false, "/": false,
	} {
		if got := Inside(p, pats, "/home/a"); got != want {
			t.Errorf("Inside(%s) = %v", p, got)
		}
	}
	if !Inside("/x", []string{"/"}, "") {
		t.Error("/ holds everything")
	}
}

// The policy binds every call as it is now: tokens issued before a change
// fail at their next call.
func TestCheck(t *testing.T) {
	p := Load(write(t, full), true)
	ok := Call{Service: "file", Method: "file.read", Agent: "codex", Lifetime: time.Hour, Home: "/home/a",
		Access: []service.Access{{Verb: scope.GET, Resource: "/home/a/Documents/a.txt"}}}
	if err := p.Check(ok); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		edit   func(*Call)
		reason errs.Reason
	}{
		"service":          {func(c *Call) { c.Service, c.Method = "shell", "shell.run" }, ReasonService},
		"agent":            {func(c *Call) { c.Agent = "cursor" }, ReasonAgent},
		"no agent, remote": {func(c *Call) { c.Agent = "" }, ReasonAgent},
		"lifetime":         {func(c *Call) { c.Lifetime = 9 * time.Hour }, ReasonLifetime},
		"folder":           {func(c *Call) { c.Access[0].Resource = "/home/a/Music/a.mp3" }, ReasonPath},
		"deny read":        {func(c *Call) { c.Access[0].Resource = "/home/a/Documents/k.pem" }, ReasonPath},
		"deny read dir":    {func(c *Call) { c.Access[0].Resource = "/home/a/Documents/secrets/x" }, ReasonPath},
		"deny write":       {func(c *Call) { c.Access[0] = service.Access{Verb: scope.PUT, Resource: "/home/a/Documents/Makefile"} }, ReasonPath},
		"project root": {func(c *Call) {
			c.Service, c.Method, c.Access = "code", "code.execute", []service.Access{{Verb: scope.POST, Resource: "/home/a/Code/x"}}
		}, ReasonPath},
	} {
		c := ok
		c.Access = slices.Clone(ok.Access)
		tc.edit(&c)
		err := p.Check(c)
		if errs.ReasonOf(err) != tc.reason || errs.KindOf(err) != errs.Forbidden || errs.HintOf(err) == "" {
			t.Errorf("%s: %v (reason %q), want %s", name, err, errs.ReasonOf(err), tc.reason)
		}
	}
	if err := p.Check(Call{Service: "file", Method: "file.read", Owner: true, Home: "/home/a",
		Access: []service.Access{{Verb: scope.GET, Resource: "/home/a/Documents/a"}}}); err != nil {
		t.Errorf("the owner's own token: %v", err)
	}
	if err := p.Check(Call{Service: "code", Method: "code.execute", Agent: "codex", Home: "/home/a",
		Access: []service.Access{{Verb: scope.POST, Resource: service.CodeScratch}}}); err != nil {
		t.Errorf("scratch: %v", err)
	}
	bad := Load(write(t, "network: {allow: [\"a b\"]}\n"), true)
	if err := bad.Check(Call{Service: "code", Method: "code.execute"}); errs.KindOf(err) != errs.Unavailable || errs.ReasonOf(err) != ReasonInvalid {
		t.Errorf("invalid policy: %v", err)
	}
}

// A change to the file reaches the watcher without a reload; Reload reads
// it at once.
func TestWatcherSeesAChange(t *testing.T) {
	path := write(t, "services: [file, code, shell, app]\n")
	w := NewWatcher(path)
	if !w.Policy().Allows("shell") {
		t.Fatal("shell should be allowed at first")
	}
	changed := make(chan *Policy, 4)
	w.OnChange = func(p *Policy) { changed <- p }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx, 20*time.Millisecond)
	// Replace the file as config management does: a new file renamed over.
	tmp := path + ".new"
	os.WriteFile(tmp, []byte("services: [file]\n"), 0o644)
	os.Rename(tmp, path)
	select {
	case p := <-changed:
		if p.Allows("shell") || w.Policy().Allows("shell") {
			t.Fatal("the new policy did not take")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no change seen in 30s")
	}
	os.WriteFile(path, []byte("services: [file, shell]\n"), 0o644)
	if !w.Reload().Allows("shell") {
		t.Fatal("Reload did not read the file")
	}
}

func TestProfileRoundTrip(t *testing.T) {
	for _, body := range []string{full, "services: []\nfolders: []\n", "tokens: {max_ttl: 30m}\n"} {
		p := Load(write(t, body), true)
		prof, err := Profile(p, "Example Corp")
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseProfile("carapace.mobileconfig", prof)
		if err != nil {
			t.Fatalf("%v\n%s", err, prof)
		}
		back.Source = p.Source
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("round trip:\n got  %+v\n want %+v\n%s", back, p, prof)
		}
		again, _ := Profile(p, "Example Corp")
		if string(again) != string(prof) {
			t.Fatal("the same policy gave two profiles")
		}
		for _, k := range []string{"<key>PayloadType</key>", "<string>" + Domain + "</string>", "<string>Configuration</string>", "<key>PayloadUUID</key>"} {
			if !strings.Contains(string(prof), k) {
				t.Fatalf("profile lacks %s", k)
			}
		}
	}
	if _, err := Profile(Load(write(t, "tokens: {max_ttl: x}\n"), true), ""); err == nil {
		t.Fatal("a profile from an invalid policy")
	}
}

// The managed preferences plist macOS writes from the profile reads as the
// same policy.
func TestManagedPreferencesPlist(t *testing.T) {
	p := Load(write(t, full), true)
	prof, _ := Profile(p, "")
	dir := t.TempDir()
	plistPath := filepath.Join(dir, Domain+".plist")
	// What macOS writes: the payload's keys, PayloadUUID & co. included.
	body := extractPayload(t, prof)
	if err := os.WriteFile(plistPath, body, 0o644); err != nil {
		t.Fatal(err)
	}
	got := Load(plistPath, true)
	got.Source = p.Source
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("got  %+v\nwant %+v", got, p)
	}
	os.WriteFile(plistPath, []byte(strings.Replace(string(body), "<key>agents</key>", "<key>agentz</key>", 1)), 0o644)
	if Load(plistPath, true).Err("file") == nil {
		t.Fatal("an unknown key in the plist must stop the services")
	}
}

func extractPayload(t *testing.T, prof []byte) []byte {
	t.Helper()
	var profile struct {
		Content []map[string]any `plist:"PayloadContent"`
	}
	if _, err := plist.Unmarshal(prof, &profile); err != nil {
		t.Fatal(err)
	}
	b, err := plist.Marshal(profile.Content[0], plist.XMLFormat)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BenchmarkCheck is the router's per-call cost of the managed policy.
func BenchmarkCheck(b *testing.B) {
	for name, body := range map[string]string{"none": "", "full": full} {
		p := Parse("managed.yaml", []byte(body))
		c := Call{Service: "file", Method: "file.read", Agent: "codex", Lifetime: time.Hour, Home: "/home/a",
			Access: []service.Access{{Verb: scope.GET, Resource: "/home/a/Documents/notes/a.txt"}}}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if err := p.Check(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
