package units

// Where an installed Carapace keeps its pieces. The .deb ships the base
// files at these paths; the installer writes the same bytes when they are
// missing and the per-owner drop-ins beside them.
const (
	Binary          = "/usr/bin/carapace"
	InstallerBinary = "/usr/sbin/carapace-installer"
	ConfigDir       = "/etc/gimme"
	SystemConfig    = ConfigDir + "/carapace.yaml"
	// OwnerSnapshot is the owner's local.yaml as the installer last
	// applied it. Services read it through LoadCredential=, so none of
	// them needs to reach into the owner's home for its configuration,
	// and widening access always goes through root (the installer).
	OwnerSnapshot = ConfigDir + "/owner.yaml"
	// InstallRecord lists what the installer granted (ACLs, the owner's
	// group membership), so uninstall takes back exactly that.
	InstallRecord = ConfigDir + "/installed.json"
	RuntimeDir    = "/run/gimme"
	StateDir      = "/var/lib/carapace"
	// CodeStateDir is the code service's StateDirectory=, under
	// /var/lib: where it keeps the credential routes' secrets.
	CodeStateDir = "carapace-code"
	UnitDir      = "/usr/lib/systemd/system"
	DropInRoot   = "/etc/systemd/system"
	SysusersFile = "/usr/lib/sysusers.d/carapace.conf"
	TmpfilesFile = "/usr/lib/tmpfiles.d/carapace.conf"

	// ClientsGroup may connect to the router socket.
	ClientsGroup = "carapace-clients"
	// InternalGroup may connect to the service sockets: only the router
	// is in it.
	InternalGroup = "_gimme"
	// DropInName is the per-owner drop-in file in each unit's ".d" dir.
	DropInName = "50-carapace-owner.conf"
)
