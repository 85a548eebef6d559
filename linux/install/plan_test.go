package install

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/linux/units"
)

// facts returns an install for owner "ada" (uid 1000) with the default
// owner config, every folder existing, and the services in supported.
func facts(t *testing.T, supported ...string) *Facts {
	t.Helper()
	cfg := config.DefaultOwner()
	cfg.Services.File.Paths = []config.Folder{{Path: "/home/ada/Documents"}, {Path: "/home/ada/Ref", ReadOnly: true}}
	cfg.Services.Code.ProjectRoots = []string{"/home/ada/Projects"}
	sup := map[string]bool{"router": true}
	for _, s := range supported {
		sup[s] = true
	}
	return &Facts{
		Owner:           Account{Name: "ada", UID: "1000", GID: "1000", Home: "/home/ada"},
		OwnerConfigPath: "/home/ada/.config/gimme/local.yaml",
		Config:          cfg, Supported: sup,
		ServiceUIDs: map[string]int{"_gimme_file": 990, "_gimme_code": 991},
		Exists:      func(p string) bool { return !strings.Contains(p, "missing") },
	}
}

func runs(p Plan) []string {
	var out []string
	for _, s := range p {
		if s.Op == "run" {
			out = append(out, strings.Join(s.Argv, " "))
		}
	}
	return out
}

func writes(p Plan) map[string]Step {
	out := map[string]Step{}
	for _, s := range p {
		if s.Op == "write" {
			out[s.Path] = s
		}
	}
	return out
}

func TestInstallGrantsExactlyTheFolders(t *testing.T) {
	p := InstallPlan(facts(t, "file", "code"))
	r := runs(p)
	for _, want := range []string{
		"setfacl -R -m u:_gimme_file:rwX,d:u:_gimme_file:rwX,d:u:ada:rwX /home/ada/Documents",
		"setfacl -R -m u:_gimme_file:rX,d:u:_gimme_file:rX /home/ada/Ref",
		"setfacl -R -m u:_gimme_code:rwX,d:u:_gimme_code:rwX,d:u:ada:rwX /home/ada/Projects",
		"gpasswd -a ada carapace-clients",
		"systemctl enable --now carapace-file.socket",
		"systemctl restart carapace-code.service",
		"systemctl enable --now carapace-egress.socket",
		"systemctl restart carapace-egress.service",
	} {
		if !slices.Contains(r, want) {
			t.Errorf("install plan lacks %q", want)
		}
	}
	for _, c := range r {
		if strings.HasPrefix(c, "setfacl") && strings.Count(c, "/home/ada") != 1 {
			t.Errorf("a grant touches more than one folder: %q", c)
		}
	}
	w := writes(p)
	drop := string(w[units.DropInPath("file")].Data)
	if !strings.Contains(drop, "BindPaths=-/home/ada/Documents\n") || !strings.Contains(drop, "BindReadOnlyPaths=-/home/ada/Ref\n") {
		t.Errorf("file drop-in:\n%s", drop)
	}
	if s := w[units.OwnerSnapshot]; s.Mode != 0o600 || !strings.Contains(string(s.Data), "defaults") {
		t.Errorf("owner snapshot: mode %o, data %q; want 0600 and the defaults", s.Mode, s.Data)
	}
}

// TestEgressGoesWithCode: the egress proxy's units run exactly when the
// code service does.
func TestEgressGoesWithCode(t *testing.T) {
	f := facts(t, "file")
	f.Config.Services.Code.Enabled = false
	r := strings.Join(runs(InstallPlan(f)), "\n")
	if strings.Contains(r, "enable --now carapace-egress.socket") {
		t.Errorf("egress enabled without the code service:\n%s", r)
	}
	var tries []string
	for _, s := range InstallPlan(f) {
		tries = append(tries, strings.Join(s.Argv, " "))
	}
	if !slices.Contains(tries, "systemctl disable --now carapace-egress.socket carapace-egress.service") {
		t.Errorf("egress not disabled without the code service: %v", tries)
	}
}

func TestInstallSkipsWhatTheBuildLacks(t *testing.T) {
	p := InstallPlan(facts(t, "code"))
	r := runs(p)
	if !slices.Contains(r, "systemctl disable --now carapace-file.socket carapace-file.service") {
		t.Errorf("file is not in the build but is not disabled: %v", r)
	}
	for _, c := range r {
		if strings.Contains(c, "_gimme_file") {
			t.Errorf("granted a folder to a service the build lacks: %q", c)
		}
	}
	if _, ok := writes(p)[units.DropInPath("file")]; ok {
		t.Error("wrote a file drop-in for a service the build lacks")
	}
}

func TestInstallSkipsMissingFolders(t *testing.T) {
	f := facts(t, "file", "code")
	f.Config.Services.File.Paths = append(f.Config.Services.File.Paths, config.Folder{Path: "/home/ada/missing"})
	for _, c := range runs(InstallPlan(f)) {
		if strings.Contains(c, "missing") {
			t.Errorf("plan touches a folder that does not exist: %q", c)
		}
	}
}

func TestReinstallRevokesDroppedFolders(t *testing.T) {
	f := facts(t, "file", "code")
	old := Grant{Path: "/home/ada/Old", User: "_gimme_file", Owner: "ada"}
	f.Previous = &Record{Owner: f.Owner, Grants: append(f.grants(), old)}
	r := runs(InstallPlan(f))
	if !slices.Contains(r, "setfacl -R -x u:_gimme_file,d:u:_gimme_file,d:u:ada /home/ada/Old") {
		t.Errorf("dropped folder not revoked: %v", r)
	}
	if slices.Contains(r, "setfacl -R -x u:_gimme_file,d:u:_gimme_file,d:u:ada /home/ada/Documents") {
		t.Error("a folder still configured was revoked")
	}
}

func TestUninstallTakesBackEverything(t *testing.T) {
	f := facts(t, "file", "code", "shell")
	f.Config.Services.Shell.Enabled = true
	f.Previous = &Record{Owner: f.Owner, Grants: f.grants(), Units: []string{"carapace-shell@1000.socket", "carapace-shell@1000.service"}}
	for _, purge := range []bool{false, true} {
		p := UninstallPlan(f, purge)
		removed := map[string]bool{}
		for _, s := range p {
			if s.Op == "remove" {
				removed[s.Path] = true
			}
		}
		for _, file := range append(units.BaseFiles(), File(units.InstallRecord), File(units.RuntimeDir)) {
			if !removed[file.Path] {
				t.Errorf("purge=%v: %s is left behind", purge, file.Path)
			}
		}
		if removed[units.ConfigDir] != purge || removed[units.StateDir] != purge {
			t.Errorf("purge=%v: config removed %v, state removed %v", purge, removed[units.ConfigDir], removed[units.StateDir])
		}
		r := strings.Join(runs(p), "\n")
		for _, want := range []string{"carapace-shell@1000.service", "carapace-egress.socket carapace-egress.service", "userdel _gimme_egress", "userdel _gimme_router", "groupdel carapace-clients", "groupdel _gimme\n",
			"setfacl -R -x u:_gimme_code,d:u:_gimme_code,d:u:ada /home/ada/Projects"} {
			if !strings.Contains(r+"\n", want) {
				t.Errorf("purge=%v: uninstall lacks %q", purge, want)
			}
		}
	}
}

// File is a units.File with only a path, for the list above.
func File(p string) units.File { return units.File{Path: p} }

func TestDryRunPrintsEveryStep(t *testing.T) {
	p := InstallPlan(facts(t, "file", "code"))
	var b bytes.Buffer
	p.Print(&b, true)
	lines := strings.Count(b.String(), "\n")
	if lines <= len(p) || !strings.Contains(b.String(), "    | [Service]") {
		t.Errorf("dry run printed %d lines for %d steps, without file content", lines, len(p))
	}
}

// TestRunWritesIdempotently carries out a plan of writes twice in a
// temporary directory: the second run leaves the files alone.
func TestRunWritesIdempotently(t *testing.T) {
	dir := t.TempDir()
	p := Plan{write(filepath.Join(dir, "a/b.conf"), 0o640, []byte("x\n"), "test")}
	var log bytes.Buffer
	if err := p.Run(&log); err != nil {
		t.Fatal(err)
	}
	fi1, _ := os.Stat(filepath.Join(dir, "a/b.conf"))
	if err := p.Run(&log); err != nil {
		t.Fatal(err)
	}
	fi2, _ := os.Stat(filepath.Join(dir, "a/b.conf"))
	if fi1.Mode().Perm() != 0o640 || !fi1.ModTime().Equal(fi2.ModTime()) || !os.SameFile(fi1, fi2) {
		t.Errorf("second run rewrote the file (mode %v)", fi1.Mode())
	}
}
