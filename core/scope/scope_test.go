package scope

import (
	"strings"
	"testing"
)

const (
	home = "/home/ann"
	file = "file.local.gimme.tools"
	code = "code.local.gimme.tools"
)

var parseTests = []struct {
	in   string
	want string // canonical form; "" means Parse must fail
}{
	{"GET:~/Documents/*", "GET:file.local.gimme.tools/home/ann/Documents/*"},
	{"GET:~", "GET:file.local.gimme.tools/home/ann"},
	{"GET:~/", "GET:file.local.gimme.tools/home/ann"},
	{"PUT:/tmp/x/./y//z", "PUT:file.local.gimme.tools/tmp/x/y/z"},
	{"GET:file.local.gimme.tools/*", "GET:file.local.gimme.tools/*"},
	{"GET:file.local.gimme.tools/~/Documents/*", ""},
	{"GET:/~", ""},
	{"POST:code.local.gimme.tools/home/ann/Projects/*", "POST:code.local.gimme.tools/home/ann/Projects/*"},
	{"POST:app.local.gimme.tools/Visual Studio Code", "POST:app.local.gimme.tools/Visual Studio Code"},
	{"DELETE:/home/*/tmp/*.log", "DELETE:file.local.gimme.tools/home/*/tmp/*.log"},
	{"GET:/", "GET:file.local.gimme.tools/"},
	{"GET:/*", "GET:file.local.gimme.tools/*"},
	{"GET:/a/*/", "GET:file.local.gimme.tools/a/*"},
	{"get:~/x", ""},
	{"PATCH:~/x", ""},
	{"GET", ""},
	{"GET:", ""},
	{"GET:~/Documents/../.ssh", ""},
	{"GET:/..", ""},
	{"GET:..", ""},
	{"GET:~root/x", ""},
	{"GET:relative/path", ""},
	{"GET:File.local.gimme.tools/x", ""},
	{"GET:file.local.gimme.tools", ""},
	{"GET:bad_host/x", ""},
	{"GET:~/a/**", ""},
	{"GET:/a\x00b", ""},
	{"GET:/a\nb", ""},
	{"GET:" + strings.Repeat("/a", MaxEntryLen), ""},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		e, err := Parse(tt.in, file, home)
		if tt.want == "" {
			if err == nil {
				t.Errorf("Parse(%q) = %q, want an error", tt.in, e)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// The canonical form parses to itself.
		e2, err := Parse(e.String(), "", "")
		if err != nil || e2.String() != e.String() {
			t.Errorf("reparse %q = %q, %v", e.String(), e2.String(), err)
		}
	}
}

func TestParseNeedsHostAndHome(t *testing.T) {
	if _, err := Parse("GET:/x", "", home); err == nil {
		t.Error("short form with no implied host parsed")
	}
	for _, h := range []string{"", "relative", "/home/ann/"} {
		if _, err := Parse("GET:~/x", file, h); err == nil {
			t.Errorf("~ with home %q parsed", h)
		}
	}
}

var matchTests = []struct {
	pattern string
	verb    string
	host    string
	path    string
	want    bool
}{
	{"GET:~/Documents/*", "GET", file, "/home/ann/Documents", true},
	{"GET:~/Documents/*", "GET", file, "/home/ann/Documents/a.txt", true},
	{"GET:~/Documents/*", "GET", file, "/home/ann/Documents/a/b/c", true},
	{"GET:~/Documents/*", "GET", file, "/home/ann/Documents/./a//b/", true},
	{"GET:~/Documents/*", "GET", file, "/home/ann/Documents-old", false},
	{"GET:~/Documents/*", "GET", file, "/home/ann/Documents-old/a", false},
	{"GET:~/Documents/*", "GET", file, "/home/ann", false},
	{"GET:~/Documents/*", "GET", file, "/home/ann/Documents/../.ssh/id_ed25519", false},
	{"GET:~/Documents/*", "GET", file, "/home/ann/Documents/a/..", false},
	{"GET:~/Documents/*", "GET", file, "home/ann/Documents/a", false},
	{"GET:~/Documents/*", "GET", file, "", false},
	{"GET:~/Documents/*", "PUT", file, "/home/ann/Documents/a", false},
	{"GET:~/Documents/*", "GET", code, "/home/ann/Documents/a", false},
	{"GET:~/Documents/*", "GET", file, "/home/ann/Documents/a\x00", false},
	{"GET:~/Documents/a.txt", "GET", file, "/home/ann/Documents/a.txt", true},
	{"GET:~/Documents/a.txt", "GET", file, "/home/ann/Documents/a.txt/b", false},
	{"GET:~/Documents/*.txt", "GET", file, "/home/ann/Documents/a.txt", true},
	{"GET:~/Documents/*.txt", "GET", file, "/home/ann/Documents/.txt", true},
	{"GET:~/Documents/*.txt", "GET", file, "/home/ann/Documents/d/a.txt", false},
	{"GET:~/Documents/*.txt", "GET", file, "/home/ann/Documents/a.txt.bak", false},
	{"GET:/home/*/Documents/*", "GET", file, "/home/bob/Documents/x", true},
	{"GET:/home/*/Documents/*", "GET", file, "/home/bob/x/Documents/x", false},
	{"GET:/home/a*b*c/x", "GET", file, "/home/abc/x", true},
	{"GET:/home/a*b*c/x", "GET", file, "/home/aXbYbZc/x", true},
	{"GET:/home/a*b*c/x", "GET", file, "/home/acb/x", false},
	{"GET:/home/a*b*c/x", "GET", file, "/home/abcb/x", false},
	{"GET:/*", "GET", file, "/", true},
	{"GET:/*", "GET", file, "/etc/shadow", true},
	{"GET:/", "GET", file, "/", true},
	{"GET:/", "GET", file, "/etc", false},
	{"POST:app.local.gimme.tools/Terminal", "POST", "app.local.gimme.tools", "/Terminal", true},
	{"POST:app.local.gimme.tools/Terminal", "POST", "app.local.gimme.tools", "/Terminal Evil", false},
}

func TestAllows(t *testing.T) {
	for _, tt := range matchTests {
		e, err := Parse(tt.pattern, file, home)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.pattern, err)
		}
		if got := (Set{e}).Allows(tt.verb, tt.host, tt.path); got != tt.want {
			t.Errorf("%s allows %s %s %q = %v, want %v", tt.pattern, tt.verb, tt.host, tt.path, got, tt.want)
		}
	}
}

func TestSetAllowsAny(t *testing.T) {
	s, err := ParseSet([]string{"GET:~/Documents/*", "PUT:~/Downloads/*"}, file, home)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Allows("PUT", file, "/home/ann/Downloads/x") || !s.Allows("GET", file, "/home/ann/Documents/y") {
		t.Error("set refuses what one entry allows")
	}
	if s.Allows("PUT", file, "/home/ann/Documents/y") {
		t.Error("set allows PUT in a GET-only folder")
	}
	if (Set{}).Allows("GET", file, "/") {
		t.Error("empty set allows")
	}
}

var withinTests = []struct {
	req, allowed []string
	want         bool
}{
	{[]string{"GET:~/Documents/*"}, []string{"GET:~/Documents/*"}, true},
	{[]string{"GET:~/Documents/a/*"}, []string{"GET:~/Documents/*"}, true},
	{[]string{"GET:~/Documents"}, []string{"GET:~/Documents/*"}, true},
	{[]string{"GET:~/Documents/x.txt"}, []string{"GET:~/Documents/*"}, true},
	{[]string{"GET:~/Documents/*.txt"}, []string{"GET:~/Documents/*"}, true},
	{[]string{"GET:~/*"}, []string{"GET:~/Documents/*"}, false},
	{[]string{"GET:/*"}, []string{"GET:~/Documents/*"}, false},
	{[]string{"GET:~/Documents-old/*"}, []string{"GET:~/Documents/*"}, false},
	{[]string{"GET:~/*/x"}, []string{"GET:~/Documents/*"}, false},
	{[]string{"PUT:~/Documents/*"}, []string{"GET:~/Documents/*"}, false},
	{[]string{"GET:code.local.gimme.tools/home/ann/Documents/*"}, []string{"GET:~/Documents/*"}, false},
	{[]string{"GET:~/Documents/*"}, []string{"GET:~/Documents"}, false},
	{[]string{"GET:~/a*/x"}, []string{"GET:~/*/x"}, true},
	{[]string{"GET:~/ab*/x"}, []string{"GET:~/a*/x"}, true},
	{[]string{"GET:~/a*/x"}, []string{"GET:~/ab*/x"}, false},
	{[]string{"GET:~/*a"}, []string{"GET:~/a*"}, false},
	{[]string{"GET:~/Documents/*", "GET:~/Downloads/x"}, []string{"GET:~/Documents/*", "GET:~/Downloads/*"}, true},
	{[]string{"GET:~/Documents/*", "GET:~/Desktop/x"}, []string{"GET:~/Documents/*", "GET:~/Downloads/*"}, false},
	{nil, nil, true},
}

func TestWithin(t *testing.T) {
	for _, tt := range withinTests {
		req, err := ParseSet(tt.req, file, home)
		if err != nil {
			t.Fatal(err)
		}
		allowed, err := ParseSet(tt.allowed, file, home)
		if err != nil {
			t.Fatal(err)
		}
		if got := req.Within(allowed); got != tt.want {
			t.Errorf("%v within %v = %v, want %v", tt.req, tt.allowed, got, tt.want)
		}
	}
}

func TestSubtrees(t *testing.T) {
	s, err := Subtrees(file, []string{GET, PUT}, []string{"~/Documents", "/srv/data/"}, home)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET:file.local.gimme.tools/home/ann/Documents/*",
		"PUT:file.local.gimme.tools/home/ann/Documents/*",
		"GET:file.local.gimme.tools/srv/data/*",
		"PUT:file.local.gimme.tools/srv/data/*",
	}
	if got := strings.Join(s.Strings(), " "); got != strings.Join(want, " ") {
		t.Errorf("Subtrees = %v, want %v", s.Strings(), want)
	}
	if _, err := Subtrees(file, []string{GET}, []string{"~/a/../b"}, home); err == nil {
		t.Error("Subtrees accepted a .. folder")
	}
}
