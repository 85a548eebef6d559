package launchd

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"howett.net/plist"
)

// TestGeneratedUpToDate regenerates the plists into a temporary directory
// and compares them byte for byte with the checked-in files.
func TestGeneratedUpToDate(t *testing.T) {
	tmp := t.TempDir()
	if err := WriteAll(tmp); err != nil {
		t.Fatal(err)
	}
	for _, svc := range Services() {
		rel := filepath.Join(filepath.Base(Dir(svc)), FileName(svc))
		want, err := os.ReadFile(filepath.Join(tmp, rel))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(rel)
		if err != nil {
			t.Fatalf("%v (run go generate ./launchd)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./launchd", rel)
		}
	}
	// No stray plists for services that no longer exist.
	files, _ := filepath.Glob("Launch*/*.plist")
	if len(files) != len(Services()) {
		t.Errorf("found %d plists %v, want %d", len(files), files, len(Services()))
	}
}

// TestParseBack decodes each checked-in plist generically, as launchd
// would, and checks the keys that decide how the job runs.
func TestParseBack(t *testing.T) {
	for _, svc := range Services() {
		t.Run(svc, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(filepath.Base(Dir(svc)), FileName(svc)))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			format, err := plist.Unmarshal(b, &m)
			if err != nil {
				t.Fatal(err)
			}
			if format != plist.XMLFormat {
				t.Errorf("format %d, want XML", format)
			}
			checkJob(t, svc, m)
		})
	}
}

func checkJob(t *testing.T, svc string, m map[string]any) {
	t.Helper()
	label := "com.gimme.local." + svc
	if m["Label"] != label {
		t.Errorf("Label = %v, want %s", m["Label"], label)
	}
	if m["BundleProgram"] != "Contents/MacOS/carapace" {
		t.Errorf("BundleProgram = %v", m["BundleProgram"])
	}
	args, _ := m["ProgramArguments"].([]any)
	want := []any{"/Applications/Carapace.app/Contents/MacOS/carapace", "serve", svc, "--mach-service", label}
	if !reflect.DeepEqual(args, want) {
		t.Errorf("ProgramArguments = %v, want %v", args, want)
	}
	if !reflect.DeepEqual(m["MachServices"], map[string]any{label: true}) {
		t.Errorf("MachServices = %v", m["MachServices"])
	}
	for _, k := range []string{"RunAtLoad", "KeepAlive", "Program", "Sockets"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s is set; jobs must start on demand through their Mach service", k)
		}
	}
	if m["ProcessType"] != "Adaptive" || m["ThrottleInterval"] != uint64(10) {
		t.Errorf("ProcessType = %v, ThrottleInterval = %#v", m["ProcessType"], m["ThrottleInterval"])
	}
	if IsAgent(svc) {
		if _, ok := m["UserName"]; ok {
			t.Error("an agent must not set UserName: it runs as the owner")
		}
		if m["LimitLoadToSessionType"] != "Aqua" {
			t.Errorf("LimitLoadToSessionType = %v, want Aqua", m["LimitLoadToSessionType"])
		}
		return
	}
	if m["UserName"] != "_gimme_"+svc || m["GroupName"] != "_gimme" {
		t.Errorf("UserName/GroupName = %v/%v", m["UserName"], m["GroupName"])
	}
	if _, ok := m["LimitLoadToSessionType"]; ok {
		t.Error("a daemon must not set LimitLoadToSessionType")
	}
}

func TestBootstrapJob(t *testing.T) {
	b, err := Render("file", Options{Bundle: "/opt/Carapace.app", Bootstrap: true})
	if err != nil {
		t.Fatal(err)
	}
	var j Job
	if _, err := plist.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if j.BundleProgram != "" {
		t.Errorf("a bootstrapped plist has BundleProgram %q; launchctl ignores it", j.BundleProgram)
	}
	if j.ProgramArguments[0] != "/opt/Carapace.app/Contents/MacOS/carapace" {
		t.Errorf("argv[0] = %q", j.ProgramArguments[0])
	}
	if !reflect.DeepEqual(j.AssociatedBundleIdentifiers, []string{BundleID}) {
		t.Errorf("AssociatedBundleIdentifiers = %v", j.AssociatedBundleIdentifiers)
	}
}

func TestNewJobErrors(t *testing.T) {
	for _, c := range []struct {
		svc string
		o   Options
		msg string
	}{
		{"files", Options{}, "unknown service"},
		{"", Options{}, "unknown service"},
		{"file", Options{Bundle: "Carapace.app"}, "not absolute"},
	} {
		_, err := NewJob(c.svc, c.o)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("NewJob(%q, %+v) = %v, want error containing %q", c.svc, c.o, err, c.msg)
		}
	}
}
