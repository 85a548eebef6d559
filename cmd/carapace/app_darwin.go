package main

import (
	"os/exec"
	"strings"

	"github.com/gimme-tools/carapace/core/service/app"
	"github.com/gimme-tools/carapace/xpcbridge/macapp"
)

// On macOS the app service acts on apps by bundle id: found with
// LaunchServices (through osascript, which asks it: `id of app "Name"`),
// opened, activated and quit through NSWorkspace / Apple Events
// (xpcbridge/macapp, built with -tags macsdk). Verified only on a Mac.
func init() {
	app.Native = &app.NativeApps{
		Find:     findMacApp,
		Open:     openMacApp,
		Activate: macapp.ActivateApp,
		Quit:     macapp.QuitApp,
	}
}

// findMacApp maps a name ("Visual Studio Code") or a bundle id
// ("com.microsoft.VSCode") to the installed app's bundle id.
func findMacApp(name string) (id, display string, ok bool) {
	if strings.ContainsAny(name, "\"\\\n") {
		return "", "", false // never let a name reach the script's syntax
	}
	out, err := exec.Command("/usr/bin/osascript", "-e", `id of application "`+name+`"`).Output()
	if err != nil {
		return "", "", false
	}
	id = strings.TrimSpace(string(out))
	return id, name, id != ""
}

// openMacApp opens files in the app (`open -b ID FILES…`), or launches it.
func openMacApp(id string, files []string) error {
	if len(files) == 0 {
		return macapp.OpenApp(id)
	}
	args := append([]string{"-b", id}, files...) // files are clean absolute paths: never an option
	return exec.Command("/usr/bin/open", args...).Run()
}
