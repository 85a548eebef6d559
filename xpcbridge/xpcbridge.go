// Package xpcbridge carries Carapace's newline-delimited JSON-RPC over XPC,
// so the router, the services and the CLI use the same stream code on macOS
// as on Linux.
//
// Listen checks in as a launchd Mach service and returns a net.Listener
// whose connections are XPC peers that satisfied a code-signing requirement;
// Dial connects the CLI to a privileged daemon and pins the daemon's own
// signature. Each line written to a connection becomes one XPC message (a
// dictionary whose "p" key holds the line, without its newline, as
// xpc_data); each message received becomes one line to Read.
//
// Peers are validated by xpc_connection_set_peer_code_signing_requirement,
// set on every peer before it is resumed, so XPC checks every message
// against the requirement. A peer is never looked up by PID: a PID can be
// reused between the message and the check. The effective uid and gid XPC
// reports feed peer.Creds, as SO_PEERCRED does on Linux.
//
// The bridge needs cgo and darwin. Elsewhere Listen and Dial return an error
// wrapping errors.ErrUnsupported.
package xpcbridge

import (
	"fmt"
	"regexp"
)

// TeamID is the Apple Developer Team ID Carapace is signed with, set at
// build time:
//
//	go build -ldflags "-X github.com/gimme-tools/carapace/xpcbridge.TeamID=ABCDE12345"
//
// Without it Requirement returns "" and Listen and Dial refuse to run.
var TeamID string

// SigningID is the code-signing identifier of the carapace executable (the
// bundle identifier), which Dial pins.
const SigningID = "com.gimme.carapace"

// MaxMessage is the largest payload accepted in one XPC message, in bytes.
// The JSON-RPC layer enforces its own, smaller limit; this one only bounds
// what a peer can make the bridge copy.
const MaxMessage = 16 << 20

var (
	teamIDPattern  = regexp.MustCompile(`^[A-Z0-9]{10}$`)
	servicePattern = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
)

// Requirement returns the code-signing requirement (TN3127 grammar) a
// client must satisfy to reach service: signed through Apple's CA by
// teamID, holding the capability entitlement com.gimme.capability.<service>,
// and not debuggable (no get-task-allow, which would let another process
// inject code under this signature). It returns "" if teamID is not a Team
// ID or service is not a plain lower-case name.
func Requirement(teamID, service string) string {
	if !teamIDPattern.MatchString(teamID) || !servicePattern.MatchString(service) {
		return ""
	}
	return fmt.Sprintf(`anchor apple generic and certificate leaf[subject.OU] = "%s"`+
		` and entitlement["com.gimme.capability.%s"] exists`+
		` and !entitlement["com.apple.security.get-task-allow"] exists`, teamID, service)
}

// ServerRequirement returns the requirement a client pins a daemon to: the
// carapace executable signed through Apple's CA by teamID. It returns "" if
// teamID is not a Team ID.
func ServerRequirement(teamID string) string {
	if !teamIDPattern.MatchString(teamID) {
		return ""
	}
	return fmt.Sprintf(`anchor apple generic and identifier "%s" and certificate leaf[subject.OU] = "%s"`, SigningID, teamID)
}

// addr is the net.Addr of an XPC endpoint: network "xpc", the Mach service
// name as the address.
type addr string

func (a addr) Network() string { return "xpc" }
func (a addr) String() string  { return string(a) }

func checkArgs(op, machService, requirement string) error {
	if machService == "" {
		return fmt.Errorf("xpcbridge: %s: empty Mach service name", op)
	}
	if requirement == "" {
		return fmt.Errorf("xpcbridge: %s %s: empty code-signing requirement (hint: build with -ldflags \"-X github.com/gimme-tools/carapace/xpcbridge.TeamID=<your Team ID>\")", op, machService)
	}
	return nil
}
