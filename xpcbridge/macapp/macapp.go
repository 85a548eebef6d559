// Package macapp wraps the few AppKit, ApplicationServices and
// ServiceManagement calls Carapace needs on macOS: registering its launchd
// jobs with SMAppService, the Accessibility permission, and opening,
// activating and quitting apps by bundle identifier.
//
// The calls live in one Objective-C file, macapp.m, built only on a Mac
// with its SDK (`-tags macsdk`, darwin, cgo); zig's macOS headers have no
// Foundation or AppKit. Elsewhere every function returns an error wrapping
// errors.ErrUnsupported.
package macapp

import "fmt"

// Kind says which domain an SMAppService job belongs to.
type Kind int

const (
	Daemon Kind = iota // Contents/Library/LaunchDaemons, the system domain
	Agent              // Contents/Library/LaunchAgents, the user's GUI session
)

// Status is an SMAppService job's state (SMAppServiceStatus).
type Status int

const (
	NotRegistered    Status = 0 // never registered, or unregistered
	Enabled          Status = 1 // registered and allowed to run
	RequiresApproval Status = 2 // registered; the user must allow it in Login Items
	NotFound         Status = 3 // no such plist in the bundle
)

var statusText = map[Status]string{
	NotRegistered:    "not registered",
	Enabled:          "enabled",
	RequiresApproval: "requires approval in System Settings > General > Login Items",
	NotFound:         "not found in the app bundle",
}

func (s Status) String() string {
	if t, ok := statusText[s]; ok {
		return t
	}
	return fmt.Sprintf("status %d", int(s))
}

// Settings panes to send a person to, as x-apple.systempreferences URLs
// accepted by `open`.
const (
	AccessibilityPane = "x-apple.systempreferences:com.apple.preference.security?Privacy_Accessibility"
	AutomationPane    = "x-apple.systempreferences:com.apple.preference.security?Privacy_Automation"
	LoginItemsPane    = "x-apple.systempreferences:com.apple.LoginItems-Settings.extension"
)
