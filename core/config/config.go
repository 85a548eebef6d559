// Package config reads Carapace's two configuration files:
//
//   - the system file (/etc/gimme/carapace.yaml, or --config): who the
//     owner is, where sockets and state live, limits, token issuers, the
//     audit log, the WebSocket entry and the relay;
//   - the owner file (~/.config/gimme/local.yaml), exactly the WebSpec
//     shape: which services are enabled and what each may touch.
//
// Both are optional and default to safe values. Unknown keys and bad
// values are errors that name the file, the line and the key. Above
// both, core/managed applies the fleet's managed policy, which narrows
// what they say and never widens it.
package config

import (
	"time"

	"github.com/gimme-tools/carapace/core/policy"
	"github.com/gimme-tools/carapace/core/redact"
)

// System is the system configuration.
type System struct {
	// Owner is the user the stack serves: a user name or a numeric uid.
	// Empty means the user running the router (dev mode).
	Owner string `yaml:"owner"`
	// RuntimeDir holds the sockets (default /run/gimme; in dev the
	// runtime dir flag).
	RuntimeDir string `yaml:"runtime_dir"`
	// StateDir holds the device key, the revocation list and the audit
	// log (default /var/lib/carapace; in dev <runtime dir>/state).
	StateDir string    `yaml:"state_dir"`
	Limits   Limits    `yaml:"limits"`
	Issuers  []Issuer  `yaml:"issuers"`
	Tokens   Tokens    `yaml:"tokens"`
	Audit    Audit     `yaml:"audit"`
	Rate     RateLimit `yaml:"rate_limits"`
	WS       WebSocket `yaml:"websocket"`
	Relay    Relay     `yaml:"relay"`
	// Services caps what the owner file may allow its services.
	Services SystemServices `yaml:"services"`
}

// SystemServices is the system file's cap on the owner's services.
type SystemServices struct {
	Code SystemCode `yaml:"code"`
}

// SystemCode caps the code service.
type SystemCode struct {
	// Network, when set, caps the owner's services.code.network: a
	// command reaches a host only when the owner's rules and these both
	// allow it, and a deny here wins over any allow there. Unset: no cap;
	// allow: [] means no network for commands, whatever the owner lists.
	//
	//	services:
	//	  code:
	//	    network: {allow: ["*.npmjs.org", "pypi.org", "*.pythonhosted.org"], deny: [...]}
	Network *NetworkRules `yaml:"network"`
}

// Limits bounds what one client can make the router do.
type Limits struct {
	MaxMessage   Size     `yaml:"max_message_bytes"`
	MaxConns     int      `yaml:"max_connections"`
	MaxInFlight  int      `yaml:"max_in_flight"`
	MaxBatch     int      `yaml:"max_batch"`
	IdleTimeout  Duration `yaml:"idle_timeout"`
	WriteTimeout Duration `yaml:"write_timeout"`
}

// Issuer is a token issuer trusted besides this device.
type Issuer struct {
	Issuer   string `yaml:"issuer"`
	JWKSFile string `yaml:"jwks_file"`
}

// Tokens configures owner-minted tokens.
type Tokens struct {
	MaxTTL Duration `yaml:"max_ttl"`
}

// Audit configures the audit log.
type Audit struct {
	Path    string `yaml:"path"`
	MaxSize Size   `yaml:"max_size"`
	// Fsync is "always" or "batch".
	Fsync string `yaml:"fsync"`
	// Disabled turns the audit log off (benchmarks only).
	Disabled bool `yaml:"disabled"`
	// Export sends every record to the system's log pipeline as well,
	// after it is in the file (docs/fleet.md).
	Export AuditExport `yaml:"export"`
}

// AuditExport says where audit records go besides the file.
type AuditExport struct {
	// Journald: the systemd journal (default: on where journald runs).
	Journald *bool `yaml:"journald"`
	// OSLog: the macOS unified log, subsystem tools.gimme.carapace
	// (default: on on macOS).
	OSLog *bool `yaml:"oslog"`
	// Syslog is a collector reached over TCP with TLS (RFC 5424/5425).
	Syslog Syslog `yaml:"syslog"`
}

// Syslog configures the syslog collector.
type Syslog struct {
	Address    string `yaml:"address"`     // host:port (6514 is syslog over TLS)
	CAFile     string `yaml:"ca_file"`     // PEM roots for the collector; default the system's
	ServerName string `yaml:"server_name"` // the name its certificate must hold; default the address's host
	CertFile   string `yaml:"cert_file"`   // a client certificate, when the collector asks for one
	KeyFile    string `yaml:"key_file"`
}

// RateLimit sets request and connection rates.
type RateLimit struct {
	PerUID         float64 `yaml:"per_uid"`          // requests per second per peer uid
	PerSubject     float64 `yaml:"per_subject"`      // requests per second per token subject
	Burst          int     `yaml:"burst"`            // burst for both
	ConnsPerSecond float64 `yaml:"conns_per_second"` // new connections per second
}

// WebSocket configures the 127.0.0.1:7001 entry.
type WebSocket struct {
	Listen         string   `yaml:"listen"`
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AllowNonLoopback must be set to listen on anything but loopback.
	AllowNonLoopback bool `yaml:"i_understand_this_exposes_carapace_to_the_network"`
}

// Relay configures the outbound tunnel.
type Relay struct {
	URL string `yaml:"url"`
}

// Owner is the owner configuration (~/.config/gimme/local.yaml).
type Owner struct {
	Services Services `yaml:"services"`
	Redact   Redact   `yaml:"redact"`
}

// Redact configures the redaction of secrets in what agents read (file
// contents, command output, approval texts): gitleaks' rules always, plus
// the owner's own patterns. Redaction is on for every agent token; a
// folder or project opts out with redact: false.
type Redact struct {
	Patterns []redact.Pattern `yaml:"patterns"`
}

// Services is the per-service part of the owner file.
type Services struct {
	File  FileService  `yaml:"file"`
	Code  CodeService  `yaml:"code"`
	Shell ShellService `yaml:"shell"`
	App   AppService   `yaml:"app"`
}

// FileService configures the file service.
type FileService struct {
	Enabled bool     `yaml:"enabled"`
	Paths   []Folder `yaml:"paths"`
	// Deny are globs of names never read nor written (secrets);
	// DenyWrite of names read but never changed (things your tools
	// run). Both add to the file service's built-in lists.
	Deny      []string `yaml:"deny"`
	DenyWrite []string `yaml:"deny_write"`
	MaxWrite  Size     `yaml:"max_write_bytes"`
}

// Folder is an allowed folder: a plain path string in the WebSpec shape,
// or {path: ~/Reference, mode: ro, deny: [...], deny_write: [...]}.
type Folder struct {
	Path      string   `yaml:"path"`
	ReadOnly  bool     `yaml:"-"`
	Mode      string   `yaml:"mode"`
	Deny      []string `yaml:"deny"`
	DenyWrite []string `yaml:"deny_write"`
	// Redact: false lets agents read this folder's secrets unredacted.
	Redact *bool `yaml:"redact"`
}

// NoRedact reports whether the owner turned redaction off (redact: false).
func (f Folder) NoRedact() bool { return f.Redact != nil && !*f.Redact }

// CodeService configures the code service.
type CodeService struct {
	Enabled      bool         `yaml:"enabled"`
	ProjectRoots []string     `yaml:"project_roots"`
	Network      Network      `yaml:"network"`
	Timeout      Duration     `yaml:"timeout"`
	MaxTimeout   Duration     `yaml:"max_timeout"`
	MaxOutput    Size         `yaml:"max_output_bytes"`
	Limits       CodeLimits   `yaml:"limits"`
	Policy       []PolicyRule `yaml:"policy"`
	// Sandbox is "on" (the default) or "off": off runs commands unconfined
	// on platforms without a sandbox. It never weakens an available one.
	Sandbox string `yaml:"sandbox"`
	// WarmHelpers is how many sandbox helpers wait, started, for the next
	// commands (0: the default, 2; -1: none, each command starts its own).
	WarmHelpers int `yaml:"warm_helpers"`
	// DenyRead are globs of names commands may not read inside a project
	// (secrets), added to the code service's defaults; the file service
	// refuses them too.
	DenyRead []string `yaml:"deny_read"`
	// Projects are settings for single projects (directories inside the
	// project roots).
	Projects []Project `yaml:"projects"`
}

// Project holds the settings of one project directory.
type Project struct {
	Path string `yaml:"path"`
	// Redact: false leaves this project's command output unredacted.
	Redact *bool `yaml:"redact"`
	// DenyRead adds globs for commands run in this project.
	DenyRead []string `yaml:"deny_read"`
}

// NoRedact reports whether the owner turned redaction off (redact: false).
func (p Project) NoRedact() bool { return p.Redact != nil && !*p.Redact }

// Network is which hosts sandboxed commands may reach, through
// Carapace's proxy (core/egress, docs/network.md):
//
//	network:
//	  allow: ["packages.example.org", "*.files.example.net", "api.github.com:443"]
//	  deny: ["uploads.files.example.net"]
//	  projects:
//	    ~/Projects/webapp: {allow: ["127.0.0.1:8443"]}
//	  routes:
//	    github: {upstream: "https://api.github.com", header: "Authorization: Bearer {secret}"}
//
// The top-level lists apply to every project, a project's lists to
// commands in it or below; deny wins. No allow rule: no network, but for
// the routes. Routes are credential routes (core/egress.Route,
// docs/secrets.md): a command asks the proxy for /<name>/… and the
// request goes to the upstream with the stored secret in the header.
type Network struct {
	Allow    []string                `yaml:"allow"`
	Deny     []string                `yaml:"deny"`
	Projects map[string]NetworkRules `yaml:"projects"`
	Routes   map[string]Route        `yaml:"routes"`
	// Ask holds a connection to a host no allow rule covers until the
	// owner decides (`carapace approvals`); a time-out is a deny. Deny
	// rules, the system cap, a token's claim and private addresses are
	// never asked about.
	Ask bool `yaml:"ask"`
}

// Route is one credential route. Secret names the stored secret
// (`carapace secret set NAME`); empty, the route's own name.
type Route struct {
	Upstream string `yaml:"upstream"`
	Header   string `yaml:"header"`
	Secret   string `yaml:"secret"`
}

// SecretName is the stored secret route name uses.
func (r Route) SecretName(name string) string {
	if r.Secret != "" {
		return r.Secret
	}
	return name
}

// NetworkRules are one project's allow and deny lists.
type NetworkRules struct {
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
}

// CodeLimits are rlimits for sandboxed commands (0: the default).
type CodeLimits struct {
	Processes int      `yaml:"processes"`
	OpenFiles int      `yaml:"open_files"`
	FileSize  Size     `yaml:"file_size"`
	CPU       Duration `yaml:"cpu"`
	Memory    Size     `yaml:"memory"`
}

// PolicyRule is one command-policy rule (core/policy's YAML shape).
type PolicyRule = policy.RuleConfig

// ShellService configures the shell service.
type ShellService struct {
	Enabled         bool         `yaml:"enabled"`
	ApprovalTimeout Duration     `yaml:"approval_timeout"`
	Policy          []PolicyRule `yaml:"policy"`
	// Reviewer is the owner's command asked about each request no grant
	// covers (an absolute path; it reads the request as JSON on stdin),
	// ReviewerArgs its arguments, ReviewerTimeout how long it may take
	// (default 10s). A reviewer that fails means: ask the owner.
	Reviewer        string   `yaml:"reviewer"`
	ReviewerArgs    []string `yaml:"reviewer_args"`
	ReviewerTimeout Duration `yaml:"reviewer_timeout"`
}

// AppService configures the app service.
type AppService struct {
	Enabled     bool     `yaml:"enabled"`
	AllowedApps []string `yaml:"allowed_apps"`
}

// Duration is a time.Duration written as "90s", "5m", "1h".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalText writes d as the configuration does ("10m0s"), so printed
// settings read back as they were written.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Size is a byte count written as 1048576, "512KiB", "1MiB", "2GiB".
type Size int64
