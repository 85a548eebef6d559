package managed

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"gopkg.in/yaml.v3"
	"howett.net/plist"

	"github.com/gimme-tools/carapace/core/service"
)

// Domain is the managed preferences domain on macOS: an MDM configuration
// profile with a payload of this type makes macOS write the payload's keys
// to ManagedPrefsPath.
const Domain = "tools.gimme.carapace"

// ManagedPrefsPath is where macOS puts the computer-wide managed
// preferences of Domain (root-owned; written by the MDM agent).
const ManagedPrefsPath = "/Library/Managed Preferences/" + Domain + ".plist"

// Sources returns where the machine's policy is looked for, first found
// wins.
func Sources() []string { return SourcesFor(runtime.GOOS) }

// SourcesFor returns the policy sources of an OS: on macOS the managed
// preferences before /etc/gimme/managed.yaml, elsewhere the file only.
func SourcesFor(goos string) []string {
	if goos == "darwin" {
		return []string{ManagedPrefsPath, DefaultPath}
	}
	return []string{DefaultPath}
}

// decodePlist reads the managed preferences plist: the same keys as
// managed.yaml, checked by the same rules. Payload* keys (which a profile
// carries around them) are ignored; a plist has no lines to name.
func decodePlist(pol *Policy, p string, data []byte) {
	var m map[string]any
	if _, err := plist.Unmarshal(data, &m); err != nil {
		pol.breakAll(service.Names(), &Error{File: p, Err: err})
		return
	}
	for k := range m {
		if strings.HasPrefix(k, "Payload") {
			delete(m, k)
		}
	}
	y, err := yaml.Marshal(m)
	if err != nil {
		pol.breakAll(service.Names(), &Error{File: p, Err: err})
		return
	}
	decodeYAML(pol, p, y, true)
}

// Profile returns a macOS configuration profile (.mobileconfig) that
// installs pol as the managed preferences of Domain, for an MDM to push.
// Its identifiers and UUIDs are derived from the policy: generating it
// again from the same managed.yaml gives the same profile.
func Profile(pol *Policy, org string) ([]byte, error) {
	if errs := pol.Errs(); len(errs) > 0 {
		return nil, errs[0]
	}
	payload := pol.asMap()
	body, err := plist.Marshal(payload, plist.XMLFormat)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	payload["PayloadType"] = Domain
	payload["PayloadIdentifier"] = Domain + ".managed"
	payload["PayloadUUID"] = uuidFrom(sum[:], 1)
	payload["PayloadVersion"] = 1
	payload["PayloadDisplayName"] = "Carapace managed policy"
	profile := map[string]any{
		"PayloadContent":           []any{payload},
		"PayloadType":              "Configuration",
		"PayloadIdentifier":        Domain + ".profile",
		"PayloadUUID":              uuidFrom(sum[:], 2),
		"PayloadVersion":           1,
		"PayloadScope":             "System",
		"PayloadDisplayName":       "Carapace managed policy",
		"PayloadDescription":       "What Carapace lets AI agents do on this Mac; owners cannot widen it.",
		"PayloadRemovalDisallowed": true,
	}
	if org != "" {
		profile["PayloadOrganization"] = org
	}
	return plist.MarshalIndent(profile, plist.XMLFormat, "\t")
}

// ParseProfile reads back the policy of a profile made by Profile (or by
// hand: the first payload of type Domain), checked as Load checks a file.
func ParseProfile(name string, data []byte) (*Policy, error) {
	var profile struct {
		Content []map[string]any `plist:"PayloadContent"`
	}
	if _, err := plist.Unmarshal(data, &profile); err != nil {
		return nil, &Error{File: name, Err: err}
	}
	for _, pl := range profile.Content {
		if pl["PayloadType"] != Domain {
			continue
		}
		body, err := plist.Marshal(pl, plist.XMLFormat)
		if err != nil {
			return nil, err
		}
		pol := &Policy{Source: name}
		decodePlist(pol, name, body)
		if errs := pol.Errs(); len(errs) > 0 {
			return nil, errs[0]
		}
		return pol, nil
	}
	return nil, &Error{File: name, Err: errors.New("no payload of type " + Domain)}
}

// uuidFrom formats a name-based UUID (version 8, RFC 9562) from a hash.
func uuidFrom(sum []byte, n byte) string {
	var u [16]byte
	copy(u[:], sum)
	u[15] ^= n
	u[6] = u[6]&0x0f | 0x80
	u[8] = u[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]))
}

// asMap returns the policy as its keys: a list that is set, even empty,
// is kept (an empty list allows none; a missing one has no limit).
func (p *Policy) asMap() map[string]any {
	m := map[string]any{}
	for k, v := range map[string][]string{
		"services": p.Services, "folders": p.Folders, "project_roots": p.ProjectRoots,
		"deny_read": p.DenyRead, "deny_write": p.DenyWrite, "agents": p.Agents,
	} {
		if v != nil {
			m[k] = v
		}
	}
	net := map[string]any{}
	if p.Network.Allow != nil {
		net["allow"] = p.Network.Allow
	}
	if p.Network.Deny != nil {
		net["deny"] = p.Network.Deny
	}
	if len(net) > 0 {
		m["network"] = net
	}
	if p.Shell.RequireHuman {
		m["shell"] = map[string]any{"require_human": true}
	}
	if p.Tokens.MaxTTL != "" {
		m["tokens"] = map[string]any{"max_ttl": p.Tokens.MaxTTL}
	}
	if p.Audit.ExportRequired {
		m["audit"] = map[string]any{"export_required": true}
	}
	return m
}
