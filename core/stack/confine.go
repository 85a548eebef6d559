package stack

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/sandbox"
)

// Unconfined says what of the named service runs here without the OS's
// confinement, and why; "" when all of it is confined as designed. The
// service logs it at start, the router reports it in `services` (carapace
// status and doctor) and the code service in code.info: a service is
// never started unconfined silently. It depends only on the platform and
// the owner file, so the router and the service's own process agree.
//
// A kernel that refuses a sandbox this platform has is not reported here:
// the service then fails to start (confine_failed), which status shows.
func Unconfined(name string, o *config.Owner) string {
	if name == "app" {
		return "by design: GUI apps (Electron, Chromium, Firefox, Flatpak) need user namespaces, which the seccomp filter refuses; " +
			"files handed to an app pass the file service's rules"
	}
	var why []string
	if sandbox.ConfineSelf == nil {
		why = append(why, "this platform has no service sandbox (Landlock and seccomp are Linux's): the "+name+" service runs with only its user's permissions")
	}
	if name == "code" && o.Services.Code.Sandbox == "off" {
		if _, ok := sandbox.Available(); !ok {
			why = append(why, "commands run unconfined: there is no command sandbox here (Linux needs Landlock and seccomp) and services.code.sandbox is off")
		}
	}
	return strings.Join(why, "; ")
}

// confine applies a service's self-confinement where the platform has it
// (where it has not, Unconfined says so and NewService has logged it).
func confine(p sandbox.Profile) error {
	if sandbox.ConfineSelf == nil {
		return nil
	}
	if err := sandbox.ConfineSelf(p); err != nil {
		return errs.E("confine", errs.Failed, errs.ReasonConfineFailed,
			errs.Hint("the kernel refused the service's own sandbox; `carapace doctor` checks Landlock and seccomp"), err)
	}
	return nil
}

// readAfterConfine lists what a confined service still reads: the
// configuration files, the user database and the issuers' keys (the Linux
// sandbox re-executes the service under its Landlock domain, which loads
// them again), the device's public key and the revocation list. Only
// existing paths: Landlock cannot name a missing one.
func readAfterConfine(st *Settings) []string {
	// From the state directory only the public half of the device key and
	// the revocation list: never device.key, which in dev mode has the
	// same owner as this process. (A revocation list replaced after start
	// is a new inode Landlock does not cover; the service then keeps the
	// list it has, and the router, which checks first, sees the new one.)
	paths := []string{
		filepath.Join(st.StateDir(), "device.pub"), filepath.Join(st.StateDir(), "revoked.json"),
		st.SystemPath, st.OwnerPath, st.Managed.Source,
		"/etc/passwd", "/etc/group", "/etc/nsswitch.conf", os.Getenv("CREDENTIALS_DIRECTORY"),
	}
	for _, is := range st.System.Issuers {
		paths = append(paths, is.JWKSFile)
	}
	var out []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}
