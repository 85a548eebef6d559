package units

// Egress is the code service's network proxy as a unit of its own
// (docs/network.md): the one Carapace unit with the network, and nothing
// else. It is not in Services: no router backend, no `serve`, no owner
// drop-in; the installer runs it with the code service.
var Egress = Service{
	Name:        "egress",
	User:        "_gimme_egress",
	Description: "Carapace egress proxy (the network of sandboxed commands)",
	// The system services' 1.5 (it scores 1.2), though the network
	// (PrivateNetwork=no, AF_INET/AF_INET6, no IP filter) would allow
	// up to 2.0.
	Target: 1.5,
}

// EgressPeer is the one user the egress proxy serves: the code service's.
// The socket's group admits only it, and the proxy checks each peer's uid
// (SO_PEERCRED) again.
const EgressPeer = "_gimme_code"

// EgressSections returns the egress proxy's service unit. The proxy
// confines itself further (core/egress.Confine: no file opened, no exec,
// no Unix socket made); the unit gives it no writable path, no
// namespace, no capability, and exec of the carapace binary only (for
// the re-exec that spreads Landlock to every thread on older kernels).
func EgressSections() []Section {
	s := Egress
	svc := kv(
		"Type", "simple",
		"ExecStart", Binary+" egress-proxy --peer-user "+EgressPeer,
		"Restart", "on-failure",
		"RestartSec", "1s",
	)
	svc = append(svc, identity(s)...)
	svc = append(svc, base()...)
	svc = append(svc, kv(
		"ProtectSystem", "strict",
		"ProtectHome", "yes",
		"ProtectProc", "invisible",
		"ProcSubset", "pid",
		"RemoveIPC", "yes",
		"PrivateMounts", "yes",
		"RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6",
		"SystemCallFilter", "~@privileged @resources",
		"MemoryDenyWriteExecute", "yes",
		"NoExecPaths", "/",
		"ExecPaths", Binary,
	)...)
	return []Section{
		{Name: "Unit", Directives: kv(
			"Description", s.Description,
			"Documentation", "https://github.com/gimme-tools/carapace/blob/main/docs/network.md",
			"Requires", s.SocketUnit(),
			"After", s.SocketUnit(),
		)},
		{Name: "Service", Directives: svc},
		{Name: "Install", Directives: kv("WantedBy", "multi-user.target", "Also", s.SocketUnit())},
	}
}

// EgressSocketSections returns the egress proxy's socket unit: a
// SOCK_SEQPACKET socket only the code service's group may connect to.
func EgressSocketSections() []Section {
	s := Egress
	return []Section{
		{Name: "Unit", Directives: kv("Description", s.Description+", socket")},
		{Name: "Socket", Directives: kv(
			"ListenSequentialPacket", s.Socket(),
			"FileDescriptorName", s.Name,
			"SocketUser", "root",
			"SocketGroup", EgressPeer,
			"SocketMode", "0660",
			"DirectoryMode", "0755",
			"RemoveOnStop", "yes",
		)},
		{Name: "Install", Directives: kv("WantedBy", "sockets.target")},
	}
}
