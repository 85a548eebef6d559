// Package bundle describes Carapace.app: its Info.plist, the entitlements
// each executable is signed with, and the layout of the bundle.
//
// bundle/Info.plist and bundle/entitlements/*.plist are generated from the
// values here by `go generate ./bundle`; a test regenerates and compares
// them, so what is signed cannot drift from what the code expects.
package bundle

//go:generate go run ./gen -dir .

import (
	"github.com/gimme-tools/carapace/launchd"
)

// Version is the default bundle version written into the checked-in
// Info.plist. Assemble may override it for a release.
const Version = "0.1.0"

// Info holds the Info.plist keys Carapace uses.
type Info struct {
	CFBundleIdentifier            string `plist:"CFBundleIdentifier"`
	CFBundleExecutable            string `plist:"CFBundleExecutable"`
	CFBundleName                  string `plist:"CFBundleName"`
	CFBundleDisplayName           string `plist:"CFBundleDisplayName"`
	CFBundlePackageType           string `plist:"CFBundlePackageType"`
	CFBundleInfoDictionaryVersion string `plist:"CFBundleInfoDictionaryVersion"`
	CFBundleShortVersionString    string `plist:"CFBundleShortVersionString"`
	CFBundleVersion               string `plist:"CFBundleVersion"`
	LSMinimumSystemVersion        string `plist:"LSMinimumSystemVersion"`
	// LSUIElement makes the app a menu-bar agent: no Dock icon, no menu bar
	// of its own.
	LSUIElement bool `plist:"LSUIElement"`
	// NSAppleEventsUsageDescription is the sentence macOS shows when the app
	// service first sends Apple Events to another app.
	NSAppleEventsUsageDescription string `plist:"NSAppleEventsUsageDescription"`
}

// NewInfo returns the Info.plist for version (Version if empty).
func NewInfo(version string) Info {
	if version == "" {
		version = Version
	}
	return Info{
		CFBundleIdentifier:            launchd.BundleID,
		CFBundleExecutable:            "carapace",
		CFBundleName:                  "Carapace",
		CFBundleDisplayName:           "Carapace",
		CFBundlePackageType:           "APPL",
		CFBundleInfoDictionaryVersion: "6.0",
		CFBundleShortVersionString:    version,
		CFBundleVersion:               version,
		LSMinimumSystemVersion:        "13.0",
		LSUIElement:                   true,
		NSAppleEventsUsageDescription: "Carapace opens, activates and quits the apps you allowed in " +
			"~/.config/gimme/local.yaml when an agent you authorised asks it to.",
	}
}

// Capability is the entitlement a client must hold to reach svc's Mach
// service: "com.gimme.capability.file". The XPC bridge's peer requirement
// checks for it.
func Capability(svc string) string { return "com.gimme.capability." + svc }

// Entitlements maps each executable in Contents/MacOS to the entitlements
// it is signed with. There is one executable today: carapace is the CLI, the
// menu-bar app and every service. It holds:
//   - com.gimme.capability.router, so the CLI and the app may reach the router;
//   - com.gimme.capability.<svc> for file, code, shell and app, so the router
//     may reach each service;
//   - com.apple.security.automation.apple-events, which the hardened runtime
//     requires before the app service may send Apple Events.
//
// It holds no hardened-runtime exception (JIT, unsigned memory, library
// validation, dyld variables) and no get-task-allow: Go code needs none, and
// each would let other code run with this signature.
func Entitlements() map[string]map[string]any {
	e := map[string]any{"com.apple.security.automation.apple-events": true}
	for _, svc := range launchd.Services() {
		e[Capability(svc)] = true
	}
	return map[string]map[string]any{"carapace": e}
}

// Forbidden lists entitlements a release must never carry.
var Forbidden = []string{
	"com.apple.security.get-task-allow",
	"com.apple.security.cs.allow-jit",
	"com.apple.security.cs.allow-unsigned-executable-memory",
	"com.apple.security.cs.allow-dyld-environment-variables",
	"com.apple.security.cs.disable-library-validation",
	"com.apple.security.cs.disable-executable-page-protection",
	"com.apple.security.cs.debugger",
}
