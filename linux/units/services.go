package units

import "github.com/gimme-tools/carapace/core/stack"

// Service is one Carapace process under systemd.
type Service struct {
	Name string
	// User is the system user it runs as; "" for the services that run as
	// the owner, which are template units instantiated with the owner's
	// uid (carapace-shell@1000.service).
	User        string
	Description string
	// Target is the highest exposure `systemd-analyze security` may give
	// the unit (DESIGN: 1.5 for system services, 5 for the owner's).
	Target float64
}

// Services lists every Carapace unit, router first.
var Services = []Service{
	{Name: "router", User: "_gimme_router", Description: "Carapace router (authorizes and forwards agent requests)", Target: 1.5},
	{Name: "file", User: "_gimme_file", Description: "Carapace file service (the owner's configured folders)", Target: 1.5},
	{Name: "code", User: "_gimme_code", Description: "Carapace code service (sandboxed commands in project roots)", Target: 1.5},
	{Name: "shell", Description: "Carapace shell service (owner-approved commands as the owner)", Target: 5},
	{Name: "app", Description: "Carapace app service (allowed desktop apps)", Target: 5},
}

// Lookup returns the service called name.
func Lookup(name string) (Service, bool) {
	for _, s := range Services {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

// Template reports whether s runs as the owner, as a template unit.
func (s Service) Template() bool { return s.User == "" }

// Unit returns the service unit's file name ("carapace-shell@.service").
func (s Service) Unit() string { return s.base() + ".service" }

// SocketUnit returns the socket unit's file name.
func (s Service) SocketUnit() string { return s.base() + ".socket" }

// Instance returns the unit names to enable for an owner uid: the
// template instance for owner services, the plain names otherwise.
func (s Service) Instance(uid string) (service, socket string) {
	if !s.Template() {
		return s.Unit(), s.SocketUnit()
	}
	b := "carapace-" + s.Name + "@" + uid
	return b + ".service", b + ".socket"
}

// Socket returns the socket path the router reaches the service at: the
// router's own at the top of the runtime directory, each service's in a
// directory of its own (the same layout as the dev stack, core/stack).
func (s Service) Socket() string {
	if s.Name == "router" {
		return stack.RouterSocket(RuntimeDir)
	}
	return stack.ServiceSocket(RuntimeDir, s.Name)
}

func (s Service) base() string {
	if s.Template() {
		return "carapace-" + s.Name + "@"
	}
	return "carapace-" + s.Name
}
