package units

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/service"
)

// writeRoot writes files under a fresh directory, as an installed root.
func writeRoot(t *testing.T, files []File) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Content, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var exposureRe = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

// exposure runs `systemd-analyze security --offline` on unit inside root
// with the threshold set to target, and returns the score.
func exposure(t *testing.T, root, unit string, target float64) (float64, error) {
	t.Helper()
	cmd := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager",
		"--root="+root, "--threshold="+strconv.Itoa(int(target*10)), unit)
	out, err := cmd.CombinedOutput()
	if os.Getenv("EXPOSURE_DUMP") != "" {
		t.Logf("%s", out)
	}
	m := exposureRe.FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security %s printed no score:\n%s", unit, out)
	}
	score, perr := strconv.ParseFloat(string(m[1]), 64)
	if perr != nil {
		t.Fatal(perr)
	}
	return score, err
}

func needAnalyze(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed; the e2e test scores the units on a booted systemd")
	}
}

// TestExposure holds every unit to its target, bare and with the widest
// owner drop-ins (folders and roots), the egress proxy's unit included.
// The code unit is held to 1.5 with hosts allowed too: it never has the
// network (the egress unit has it), only internet sockets for its
// commands' own loopback.
func TestExposure(t *testing.T) {
	needAnalyze(t)
	wide := Owner{Name: "o", UID: "1000",
		Folders: []Folder{{Path: "/home/o/Documents"}, {Path: "/home/o/Ref", ReadOnly: true}},
		Roots:   []string{"/home/o/Projects"}, CodeNetwork: true}
	for _, variant := range []struct {
		name  string
		files []File
	}{{"base", BaseFiles()}, {"owner", append(BaseFiles(), DropIns(wide)...)}} {
		root := writeRoot(t, variant.files)
		for _, s := range append(Services, Egress) {
			unit, _ := s.Instance("1000")
			target := s.Target
			score, err := exposure(t, root, unit, target)
			t.Logf("%s %s: exposure %.1f (target %.1f)", variant.name, unit, score, target)
			if err != nil || score > target {
				t.Errorf("%s %s: exposure %.1f above the target %.1f (%v)", variant.name, unit, score, target, err)
			}
		}
	}
}

// TestSysusers checks that systemd-sysusers accepts the file and would
// create exactly the users and groups DESIGN.md names.
func TestSysusers(t *testing.T) {
	if _, err := exec.LookPath("systemd-sysusers"); err != nil {
		t.Skip("systemd-sysusers is not installed")
	}
	root := writeRoot(t, []File{{Path: "/etc/passwd", Mode: 0o644, Content: []byte("root:x:0:0::/root:/bin/sh\n")},
		{Path: "/etc/group", Mode: 0o644, Content: []byte("root:x:0:\n")}})
	cfg := filepath.Join(t.TempDir(), "carapace.conf")
	if err := os.WriteFile(cfg, Sysusers(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-sysusers", "--root="+root, cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	group, _ := os.ReadFile(filepath.Join(root, "etc/group"))
	for _, u := range []string{"_gimme_router", "_gimme_file", "_gimme_code", "_gimme_egress"} {
		line := findLine(string(passwd), u+":")
		if line == "" || !strings.HasSuffix(line, ":/:/usr/sbin/nologin") {
			t.Errorf("passwd entry for %s = %q, want a system user with home / and nologin", u, line)
		}
	}
	if g := findLine(string(group), InternalGroup+":"); !strings.HasSuffix(g, ":_gimme_router") {
		t.Errorf("group %s = %q, want only _gimme_router in it", InternalGroup, g)
	}
	if g := findLine(string(group), ClientsGroup+":"); g == "" || !strings.HasSuffix(g, ":") {
		t.Errorf("group %s = %q, want it empty until the installer adds the owner", ClientsGroup, g)
	}
}

func findLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestSockets checks who may connect to each socket: the router's by the
// clients group, the services' only by the internal group.
func TestSockets(t *testing.T) {
	for _, s := range Services {
		sec := SocketSections(s)
		want := InternalGroup
		if s.Name == "router" {
			want = ClientsGroup
		}
		if g := Get(sec, "Socket", "SocketGroup"); len(g) != 1 || g[0] != want {
			t.Errorf("%s: SocketGroup = %v, want %s", s.Name, g, want)
		}
		if m := Get(sec, "Socket", "SocketMode"); len(m) != 1 || m[0] != "0660" {
			t.Errorf("%s: SocketMode = %v, want 0660", s.Name, m)
		}
		want = "/run/gimme/" + s.Name + "/" + s.Name + ".sock"
		if s.Name == "router" {
			want = "/run/gimme/router.sock"
		}
		if l := Get(sec, "Socket", "ListenStream"); len(l) != 1 || l[0] != want {
			t.Errorf("%s: ListenStream = %v", s.Name, l)
		}
	}
}

// TestExecRights checks that only the code service and the owner's
// services may execute programs other than carapace itself.
func TestExecRights(t *testing.T) {
	for _, s := range Services {
		sec := ServiceSections(s)
		noExec := Get(sec, "Service", "NoExecPaths")
		mayExec := s.Name == "code" || s.Template()
		if mayExec == (len(noExec) > 0) {
			t.Errorf("%s: NoExecPaths = %v; exec allowed should be %v", s.Name, noExec, mayExec)
		}
		filters := strings.Join(Get(sec, "Service", "SystemCallFilter"), " ")
		for _, c := range strings.Fields(landlockCalls) {
			if !strings.Contains(filters, c) {
				t.Errorf("%s: SystemCallFilter lacks %s", s.Name, c)
			}
		}
	}
}

func TestQuote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"-/home/o/Documents", "-/home/o/Documents"},
		{"-/home/o/My Code", `"-/home/o/My Code"`},
		{"-/home/o/a:b", `-/home/o/a\:b`},
		{"-/home/o/100%", "-/home/o/100%%"},
		{`-/home/o/a"b\c`, `-/home/o/a\"b\\c`},
	} {
		if got := quote(c.in); got != c.want {
			t.Errorf("quote(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestDropInsParse has systemd itself read the drop-ins: a folder with a
// blank, a colon and a percent sign must reach BindPaths= intact.
func TestDropInsParse(t *testing.T) {
	needAnalyze(t)
	odd := "/home/o/My Files: 100%"
	root := writeRoot(t, append(BaseFiles(), DropIns(Owner{Folders: []Folder{{Path: odd}}})...))
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--root="+root, "carapace-file.service").CombinedOutput()
	if err != nil && !exposureRe.Match(out) {
		t.Fatalf("systemd-analyze: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "Failed to parse") || strings.Contains(string(out), "Invalid") {
		t.Errorf("systemd could not parse the drop-in for %q:\n%s", odd, out)
	}
}

// TestServicesMatchRegistry: a unit for the router and for every service
// in service.Registry, and a template unit (run as the owner) exactly for
// the services that act as the owner.
func TestServicesMatchRegistry(t *testing.T) {
	if len(Services) != 1+len(service.Registry) || Services[0].Name != "router" {
		t.Fatalf("units %v, registry %v", Services, service.Names())
	}
	for _, s := range service.Registry {
		u, ok := Lookup(s.Name)
		if !ok {
			t.Errorf("no unit for the %s service", s.Name)
			continue
		}
		if u.Template() != s.AsOwner {
			t.Errorf("%s: template unit %v, acts as the owner %v", s.Name, u.Template(), s.AsOwner)
		}
	}
}

// TestEgressUnit: the egress proxy's socket admits only the code
// service's group, and its unit has the network but no write, no exec
// but carapace, and names the peer the proxy checks.
func TestEgressUnit(t *testing.T) {
	sock := EgressSocketSections()
	if g := Get(sock, "Socket", "SocketGroup"); len(g) != 1 || g[0] != "_gimme_code" {
		t.Errorf("SocketGroup = %v, want _gimme_code", g)
	}
	if m := Get(sock, "Socket", "SocketMode"); len(m) != 1 || m[0] != "0660" {
		t.Errorf("SocketMode = %v, want 0660", m)
	}
	if l := Get(sock, "Socket", "ListenSequentialPacket"); len(l) != 1 || l[0] != "/run/gimme/egress/egress.sock" {
		t.Errorf("ListenSequentialPacket = %v", l)
	}
	svc := EgressSections()
	for key, want := range map[string]string{
		"ExecStart":               Binary + " egress-proxy --peer-user _gimme_code",
		"ProtectSystem":           "strict",
		"PrivateTmp":              "yes",
		"NoExecPaths":             "/",
		"ExecPaths":               Binary,
		"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
		"RestrictNamespaces":      "yes",
		"User":                    "_gimme_egress",
	} {
		if got := Get(svc, "Service", key); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", key, got, want)
		}
	}
	for _, key := range []string{"StateDirectory", "ReadWritePaths", "LoadCredential", "PrivateNetwork"} {
		if got := Get(svc, "Service", key); len(got) != 0 {
			t.Errorf("%s = %v, want none", key, got)
		}
	}
	code, _ := Lookup("code")
	for _, d := range DropIns(Owner{Roots: []string{"/home/o/p"}, CodeNetwork: true}) {
		if strings.Contains(string(d.Content), "PrivateNetwork") {
			t.Errorf("%s turns the network on:\n%s", d.Path, d.Content)
		}
	}
	if got := Get(ServiceSections(code), "Service", "PrivateNetwork"); len(got) != 1 || got[0] != "yes" {
		t.Errorf("code unit PrivateNetwork = %v, want yes", got)
	}
}

// TestCodeStateDirectory: the code service, and it alone besides the
// router, gets a state directory of its own, 0700, for the credential
// routes' secrets the owner hands it (docs/secrets.md).
func TestCodeStateDirectory(t *testing.T) {
	for _, s := range Services {
		secs := ServiceSections(s)
		dir, mode := Get(secs, "Service", "StateDirectory"), Get(secs, "Service", "StateDirectoryMode")
		switch s.Name {
		case "code":
			if fmt.Sprint(dir, mode) != "[carapace-code] [0700]" {
				t.Errorf("code: StateDirectory %v, mode %v", dir, mode)
			}
		case "router":
		default:
			if len(dir) != 0 {
				t.Errorf("%s: StateDirectory %v", s.Name, dir)
			}
		}
	}
}

// TestManagedUnits: the path unit watches the managed policy and starts
// the restart unit, which restarts every service but the router (and the
// egress proxy, and the owner's instances by pattern); both ship.
func TestManagedUnits(t *testing.T) {
	if got := Get(ManagedPathSections(), "Path", "PathChanged"); len(got) != 1 || got[0] != ManagedPolicy {
		t.Errorf("PathChanged = %v", got)
	}
	if got := Get(ManagedPathSections(), "Path", "Unit"); len(got) != 1 || got[0] != ManagedRestartUnit {
		t.Errorf("Unit = %v", got)
	}
	exec := Get(ManagedRestartSections(), "Service", "ExecStart")
	if len(exec) != 1 || !strings.HasPrefix(exec[0], "/usr/bin/systemctl try-restart ") {
		t.Fatalf("ExecStart = %v", exec)
	}
	for _, u := range []string{"carapace-file.service", "carapace-code.service", "carapace-shell@*.service", "carapace-app@*.service", "carapace-egress.service"} {
		if !strings.Contains(exec[0], " "+u) {
			t.Errorf("ExecStart does not restart %s: %s", u, exec[0])
		}
	}
	if strings.Contains(exec[0], "router") {
		t.Errorf("ExecStart restarts the router: %s", exec[0])
	}
	shipped := map[string]bool{}
	for _, f := range BaseFiles() {
		shipped[filepath.Base(f.Path)] = true
	}
	if !shipped[ManagedPathUnit] || !shipped[ManagedRestartUnit] {
		t.Errorf("BaseFiles lacks the managed units: %v", shipped)
	}
}

// TestRouterCollectorDropIn: a syslog collector lets the router reach its
// addresses and nothing else new; without one the router gets no drop-in.
func TestRouterCollectorDropIn(t *testing.T) {
	for _, f := range DropIns(Owner{Name: "ada", UID: "1000"}) {
		if strings.Contains(f.Path, "router") {
			t.Fatalf("a router drop-in without a collector: %s", f.Path)
		}
	}
	o := Owner{Name: "ada", UID: "1000", AuditCollector: []netip.Addr{netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::7")}}
	var router string
	for _, f := range DropIns(o) {
		if f.Path == DropInPath("router") {
			router = string(f.Content)
		}
	}
	for _, want := range []string{"IPAddressAllow=192.0.2.7 2001:db8::7", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"} {
		if !strings.Contains(router, want) {
			t.Errorf("router drop-in lacks %q:\n%s", want, router)
		}
	}
}
