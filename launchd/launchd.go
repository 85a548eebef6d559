// Package launchd describes Carapace's launchd jobs as Go values and renders
// them as launchd.plist(5) property lists.
//
// The plists under this directory are generated from these values by
// `go generate ./launchd` and a test regenerates them and compares them byte
// for byte, so the files shipped in the bundle cannot drift from the code.
//
// router, file and code are LaunchDaemons in the system domain, each running
// as its own role account; shell and app are LaunchAgents, because they act
// as the owner in the owner's GUI session (TCC consent and Apple Events are
// per user). Every job is started on demand by launchd when a client looks up
// its Mach service; none sets RunAtLoad or KeepAlive.
package launchd

//go:generate go run ./gen -dir .

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"howett.net/plist"

	"github.com/gimme-tools/carapace/core/service"
)

// Names shared by the bundle, the plists and the XPC bridge.
const (
	// BundleID is the app bundle's CFBundleIdentifier and the code-signing
	// identifier of the carapace executable.
	BundleID = "com.gimme.carapace"
	// BundleProgram is the executable's path relative to the bundle root,
	// as SMAppService expects it.
	BundleProgram = "Contents/MacOS/carapace"
	// DefaultBundle is where the app is installed by default.
	DefaultBundle = "/Applications/Carapace.app"
	// Group is the role group every daemon runs in.
	Group = "_gimme"
	// ThrottleInterval is the minimum number of seconds between two starts
	// of a job (launchd's own default, written out so it is visible).
	ThrottleInterval = 10
)

// Daemons are the services launchd runs in the system domain: the router
// and each service in service.Registry that does not act as the owner.
var Daemons = append([]string{"router"}, services(false)...)

// Agents are the services launchd runs in the owner's GUI session: each
// service in service.Registry that acts as the owner.
var Agents = services(true)

func services(asOwner bool) []string {
	var out []string
	for _, s := range service.Registry {
		if s.AsOwner == asOwner {
			out = append(out, s.Name)
		}
	}
	return out
}

// Label returns the launchd label of a service, which is also its Mach
// service name: "com.gimme.local.file".
func Label(svc string) string { return "com.gimme.local." + svc }

// User returns the role account a daemon runs as: "_gimme_file".
func User(svc string) string { return "_gimme_" + svc }

// IsAgent reports whether svc runs as a LaunchAgent.
func IsAgent(svc string) bool {
	for _, a := range Agents {
		if a == svc {
			return true
		}
	}
	return false
}

// Job holds the launchd.plist(5) keys Carapace uses. Field order is
// irrelevant: the XML encoder sorts dictionary keys.
type Job struct {
	Label string `plist:"Label"`
	// BundleProgram is only honoured for plists registered through
	// SMAppService; a plist bootstrapped with launchctl leaves it empty and
	// launchd runs ProgramArguments[0], an absolute path.
	BundleProgram          string          `plist:"BundleProgram,omitempty"`
	ProgramArguments       []string        `plist:"ProgramArguments"`
	MachServices           map[string]bool `plist:"MachServices"`
	UserName               string          `plist:"UserName,omitempty"`
	GroupName              string          `plist:"GroupName,omitempty"`
	LimitLoadToSessionType string          `plist:"LimitLoadToSessionType,omitempty"`
	ProcessType            string          `plist:"ProcessType"`
	ThrottleInterval       int             `plist:"ThrottleInterval"`
	// AssociatedBundleIdentifiers ties a plist installed outside the bundle
	// (the CLI-only install) to the app in Login Items settings.
	AssociatedBundleIdentifiers []string `plist:"AssociatedBundleIdentifiers,omitempty"`
}

// Options say where the executable is and how the plist will be loaded.
type Options struct {
	// Bundle is the absolute path of Carapace.app; DefaultBundle if empty.
	Bundle string
	// Bootstrap marks a plist loaded with `launchctl bootstrap` from
	// /Library/Launch{Daemons,Agents} rather than registered by SMAppService:
	// it has no BundleProgram and names the bundle it belongs to.
	Bootstrap bool
}

// NewJob returns the job for svc, one of Daemons or Agents.
func NewJob(svc string, o Options) (Job, error) {
	if !IsAgent(svc) && !isDaemon(svc) {
		return Job{}, fmt.Errorf("launchd: unknown service %q (want one of %s)", svc, strings.Join(Services(), ", "))
	}
	bundle := o.Bundle
	if bundle == "" {
		bundle = DefaultBundle
	}
	if !path.IsAbs(bundle) {
		return Job{}, fmt.Errorf("launchd: bundle path %q is not absolute", bundle)
	}
	j := Job{
		Label:            Label(svc),
		BundleProgram:    BundleProgram,
		ProgramArguments: []string{path.Join(bundle, BundleProgram), "serve", svc, "--mach-service", Label(svc)},
		MachServices:     map[string]bool{Label(svc): true},
		// Adaptive: launchd raises the job's priority while an XPC client
		// waits on it and lowers it when idle.
		ProcessType:      "Adaptive",
		ThrottleInterval: ThrottleInterval,
	}
	if IsAgent(svc) {
		j.LimitLoadToSessionType = "Aqua" // the owner's GUI login session only
	} else {
		j.UserName, j.GroupName = User(svc), Group
	}
	if o.Bootstrap {
		j.BundleProgram = ""
		j.AssociatedBundleIdentifiers = []string{BundleID}
	}
	return j, nil
}

func isDaemon(svc string) bool {
	for _, d := range Daemons {
		if d == svc {
			return true
		}
	}
	return false
}

// Marshal renders v as an XML property list with tab indentation and a
// trailing newline, the form checked into the repository.
func Marshal(v any) ([]byte, error) {
	b, err := plist.MarshalIndent(v, plist.XMLFormat, "\t")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// FileName returns the plist's file name: "com.gimme.local.file.plist".
func FileName(svc string) string { return Label(svc) + ".plist" }

// Dir returns the bundle-relative directory a service's plist belongs in:
// "Contents/Library/LaunchDaemons" or "Contents/Library/LaunchAgents".
func Dir(svc string) string {
	if IsAgent(svc) {
		return "Contents/Library/LaunchAgents"
	}
	return "Contents/Library/LaunchDaemons"
}

// Render returns the plist bytes for svc.
func Render(svc string, o Options) ([]byte, error) {
	j, err := NewJob(svc, o)
	if err != nil {
		return nil, err
	}
	return Marshal(j)
}

// Services returns every service, daemons first.
func Services() []string { return append(append([]string{}, Daemons...), Agents...) }

// WriteAll writes every service's plist, as SMAppService registers it,
// under dir: dir/LaunchDaemons/<label>.plist and dir/LaunchAgents/<label>.plist.
func WriteAll(dir string) error {
	for _, svc := range Services() {
		b, err := Render(svc, Options{})
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.Base(Dir(svc)), FileName(svc))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
