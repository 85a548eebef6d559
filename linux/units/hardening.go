package units

// hardening returns s's sandbox directives. Every choice that differs
// between services is commented where it is made.
func hardening(s Service) []Directive {
	d := base()
	switch s.Name {
	case "router":
		return append(d, router()...)
	case "file":
		return append(d, fileSvc()...)
	case "code":
		// The sandbox helper protects a project's .git (hooks, config)
		// with read-only bind mounts in a user and mount namespace of its
		// own, and runs each command with network in a network namespace
		// holding only loopback (docs/network.md): those three namespace
		// types and mount(2) are let through, and the command's own
		// seccomp filter refuses them again.
		for i := range d {
			if d[i].Key == "RestrictNamespaces" {
				d[i].Value = "user mnt net"
			}
		}
		return append(d, code()...)
	}
	return append(d, owner()...)
}

// base is what every unit shares: no privileges, no devices, kernel and
// clock closed, no namespaces.
func base() []Directive {
	return kv(
		"NoNewPrivileges", "yes",
		"CapabilityBoundingSet", "",
		"AmbientCapabilities", "",
		"PrivateTmp", "yes",
		"PrivateDevices", "yes",
		"DevicePolicy", "closed",
		"ProtectKernelTunables", "yes",
		"ProtectKernelModules", "yes",
		"ProtectKernelLogs", "yes",
		"ProtectControlGroups", "yes",
		"ProtectClock", "yes",
		"ProtectHostname", "yes",
		"RestrictNamespaces", "yes",
		"RestrictRealtime", "yes",
		"RestrictSUIDSGID", "yes",
		"LockPersonality", "yes",
		"KeyringMode", "private",
		"UMask", "0077",
		"SystemCallArchitectures", "native",
		"SystemCallFilter", "@system-service "+landlockCalls,
		"SystemCallErrorNumber", "EPERM",
	)
}

// system is what the three system-user services share. PrivateUsers= is
// left off on purpose: in a user namespace SO_PEERCRED reports unmapped
// uids as 65534, and every service checks its peer's uid.
func system() []Directive {
	return kv(
		"ProtectSystem", "strict",
		"ProtectProc", "invisible",
		"ProcSubset", "pid",
		"RemoveIPC", "yes",
		"PrivateMounts", "yes",
		"IPAddressDeny", "any",
	)
}

func router() []Directive {
	d := system()
	return append(d, kv(
		"ProtectHome", "yes",
		// The router listens on 127.0.0.1:7001 for the WebSocket entry;
		// nothing else on the network.
		"IPAddressAllow", "localhost",
		"RestrictAddressFamilies", "AF_UNIX AF_INET",
		"SystemCallFilter", "~@privileged @resources",
		"MemoryDenyWriteExecute", "yes",
		"NoExecPaths", "/",
		"ExecPaths", Binary,
	)...)
}

// fileSvc sees an empty /home except the owner's configured folders,
// bind-mounted by the owner drop-in, and can execute nothing but itself.
func fileSvc() []Directive {
	d := system()
	return append(d, kv(
		"ProtectHome", "tmpfs",
		"PrivateNetwork", "yes",
		"RestrictAddressFamilies", "AF_UNIX",
		"SystemCallFilter", "~@privileged @resources",
		"MemoryDenyWriteExecute", "yes",
		"NoExecPaths", "/",
		"ExecPaths", Binary,
	)...)
}

// code runs the agent's commands, so exec stays allowed (its sandbox
// helper applies Landlock and seccomp to each command) and
// MemoryDenyWriteExecute stays off: it would break every JIT (node,
// java, pypy) the commands use. @resources stays for the commands'
// rlimits. capset is given back after ~@privileged: the sandbox helper
// clears its (already empty) capability sets, which it can only lower
// under an empty bounding set and NoNewPrivileges. It never has the
// network: its commands' connections go to the egress unit (egress.go).
func code() []Directive {
	d := system()
	return append(d, kv(
		"ProtectHome", "tmpfs",
		"PrivateNetwork", "yes",
		"RestrictAddressFamilies", "AF_UNIX",
		"SystemCallFilter", "~@privileged",
		"SystemCallFilter", "capset @mount",
		// Commands' SysV IPC objects and POSIX message queues outlive
		// them: not in the host's IPC namespace (docs/sandbox.md, "IPC").
		"PrivateIPC", "yes",
	)...)
}

// owner is the shell and app services' sandbox: they act as the owner, on
// the owner's files and network, so home, network and exec stay open;
// the system, kernel and privileges are still closed.
func owner() []Directive {
	return kv(
		"ProtectSystem", "full",
		"ProtectHome", "no",
		"RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
		"SystemCallFilter", "~@privileged",
	)
}
