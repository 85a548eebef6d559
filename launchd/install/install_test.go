package install

import (
	"strings"
	"testing"

	"howett.net/plist"
)

func lines(steps []Step) []string {
	var l []string
	for _, s := range steps {
		l = append(l, s.String())
	}
	return l
}

func index(l []string, prefix string) int {
	for i, s := range l {
		if strings.HasPrefix(s, prefix) {
			return i
		}
	}
	return -1
}

func TestInstallOrder(t *testing.T) {
	steps, err := Install(Options{OwnerUID: 501})
	if err != nil {
		t.Fatal(err)
	}
	l := lines(steps)
	order := []string{
		"dscl . -create /Groups/_gimme",
		"dscl . -create /Users/_gimme_router",
		"dscl . -create /Users/_gimme_code",
		"write /Library/LaunchDaemons/com.gimme.local.router.plist",
		"write /Library/LaunchAgents/com.gimme.local.app.plist",
		"launchctl enable system/com.gimme.local.router",
		"launchctl bootstrap system /Library/LaunchDaemons/com.gimme.local.router.plist",
		"launchctl bootstrap gui/501 /Library/LaunchAgents/com.gimme.local.shell.plist",
		"ln -sf /Applications/Carapace.app/Contents/MacOS/carapace /usr/local/bin/carapace",
	}
	last := -1
	for _, p := range order {
		i := index(l, p)
		if i <= last {
			t.Errorf("%q at %d, want after %d\n%s", p, i, last, strings.Join(l, "\n"))
		}
		last = i
	}
}

func TestInstallPlists(t *testing.T) {
	steps, err := Install(Options{OwnerUID: 501, Bundle: "/Applications/Carapace.app"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range steps {
		if s.Op != "write" {
			continue
		}
		n++
		var m map[string]any
		if _, err := plist.Unmarshal(s.Data, &m); err != nil {
			t.Fatalf("%s: %v", s.Path, err)
		}
		if _, ok := m["BundleProgram"]; ok {
			t.Errorf("%s: BundleProgram is only for SMAppService", s.Path)
		}
		args := m["ProgramArguments"].([]any)
		if args[0] != "/Applications/Carapace.app/Contents/MacOS/carapace" {
			t.Errorf("%s: argv[0] = %v", s.Path, args[0])
		}
		if s.Mode != 0o644 {
			t.Errorf("%s: mode %v", s.Path, s.Mode)
		}
	}
	if n != 5 {
		t.Errorf("%d plists written, want 5", n)
	}
}

func TestAccountIDs(t *testing.T) {
	o := Options{
		OwnerUID: 501,
		Users:    map[string]int{"root": 0, "_www": 70, "_taken": 200, "_gimme_file": 333},
		Groups:   map[string]int{"wheel": 0, "_other": 201},
	}
	steps, err := Install(o)
	if err != nil {
		t.Fatal(err)
	}
	l := strings.Join(lines(steps), "\n")
	for _, want := range []string{
		"dscl . -create /Groups/_gimme PrimaryGroupID 202", // 200, 201 taken
		"dscl . -create /Users/_gimme_router UniqueID 203",
		"dscl . -create /Users/_gimme_file UniqueID 333", // kept
		"dscl . -create /Users/_gimme_code UniqueID 204",
		"dscl . -create /Users/_gimme_code UserShell /usr/bin/false",
		"dscl . -create /Users/_gimme_code IsHidden 1",
		`dscl . -create /Users/_gimme_code Password "*"`,
		"dscl . -append /Groups/_gimme GroupMembership _gimme_router",
	} {
		if !strings.Contains(l, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
}

func TestNoFreeID(t *testing.T) {
	users := map[string]int{}
	for id := FirstID; id <= LastID; id++ {
		users["_u"+string(rune('a'+id%26))+strings.Repeat("x", id)] = id
	}
	if _, err := Install(Options{OwnerUID: 501, Users: users}); err == nil || !strings.Contains(err.Error(), "no free id") {
		t.Errorf("Install with every role id taken: %v", err)
	}
}

func TestInstallRefuses(t *testing.T) {
	if _, err := Install(Options{OwnerUID: 0}); err == nil || !strings.Contains(err.Error(), "hint") {
		t.Errorf("Install for root as owner: %v", err)
	}
	if _, err := Install(Options{OwnerUID: 501, Bundle: "Carapace.app"}); err == nil {
		t.Error("Install with a relative bundle path succeeded")
	}
}

// TestUninstallUndoesInstall checks that everything Install creates,
// Uninstall removes.
func TestUninstallUndoesInstall(t *testing.T) {
	o := Options{OwnerUID: 501}
	steps, err := Install(o)
	if err != nil {
		t.Fatal(err)
	}
	installed := Options{OwnerUID: 501,
		Users:  map[string]int{"_gimme_router": 200, "_gimme_file": 201, "_gimme_code": 202},
		Groups: map[string]int{"_gimme": 203}}
	un := lines(Uninstall(installed))
	removed := strings.Join(un, "\n")
	for _, s := range steps {
		switch {
		case s.Op == "write" || s.Op == "symlink":
			if !strings.Contains(removed, "rm -rf "+s.Path) {
				t.Errorf("Uninstall leaves %s", s.Path)
			}
		case s.Op == "run" && s.Args[0] == "launchctl" && s.Args[1] == "bootstrap":
			label := strings.TrimSuffix(s.Args[3][strings.LastIndex(s.Args[3], "/")+1:], ".plist")
			if !strings.Contains(removed, "launchctl bootout "+s.Args[2]+"/"+label) {
				t.Errorf("Uninstall does not boot out %s", label)
			}
		case s.Op == "run" && s.Args[0] == "dscl" && len(s.Args) == 4:
			if !strings.Contains(removed, "dscl . -delete "+s.Args[3]) {
				t.Errorf("Uninstall leaves the account %s", s.Args[3])
			}
		case s.Op == "run" && s.Args[0] == "mkdir":
			if !strings.Contains(removed, s.Args[len(s.Args)-1]) {
				t.Errorf("Uninstall leaves %s", s.Args[len(s.Args)-1])
			}
		}
	}
	if i, j := index(un, "launchctl bootout"), index(un, "dscl . -delete"); i > j {
		t.Error("accounts deleted before their jobs were booted out")
	}
}

func TestParseDsclList(t *testing.T) {
	m, err := ParseDsclList("_amavisd                 83\nroot                     0\n\n_gimme_file   201\n")
	if err != nil || m["_amavisd"] != 83 || m["root"] != 0 || m["_gimme_file"] != 201 || len(m) != 3 {
		t.Errorf("ParseDsclList = %v, %v", m, err)
	}
	for _, bad := range []string{"name", "name x", "a 1 2"} {
		if _, err := ParseDsclList(bad); err == nil {
			t.Errorf("ParseDsclList(%q) succeeded", bad)
		}
	}
}

func FuzzParseDsclList(f *testing.F) {
	f.Add("root 0\n_www 70\n")
	f.Add("a 1 2")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseDsclList(s)
		if err == nil && len(m) > strings.Count(s, "\n")+1 {
			t.Errorf("%d entries from %d lines", len(m), strings.Count(s, "\n")+1)
		}
	})
}
