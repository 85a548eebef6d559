package install

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strings"

	"github.com/gimme-tools/carapace/linux/units"
)

// Check is one doctor finding: what was checked, whether it holds, and
// the command that fixes it when it does not.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Doctor checks the kernel features the sandbox needs, systemd, the
// units, the sockets' modes, the owner's group membership and the
// folder grants.
func Doctor() []Check {
	checks := kernelChecks()
	checks = append(checks, systemdCheck())
	st := ReadStatus()
	if !st.Installed {
		return append(checks, Check{Name: "installed", Detail: "no " + units.InstallRecord,
			Fix: "sudo carapace-installer install --owner $USER"})
	}
	for _, u := range st.Units {
		ok := u.Active == "active" && u.Enabled == "enabled"
		c := Check{Name: "unit " + u.Unit, OK: ok, Detail: u.Active + ", " + u.Enabled}
		if !ok {
			c.Fix = "sudo systemctl enable --now " + u.Unit + "; journalctl -u " + u.Unit + " -n 50"
		}
		checks = append(checks, c)
	}
	for _, s := range st.Sockets {
		c := Check{Name: "socket " + s.Path, OK: s.OK, Detail: s.Mode + " " + s.Owner + ":" + s.Group}
		if !s.OK {
			c.Detail, c.Fix = "want "+s.Want+", have "+c.Detail, "sudo carapace-installer install --owner "+st.Record.Owner.Name
		}
		checks = append(checks, c)
	}
	checks = append(checks, memberCheck(st.Record.Owner.Name), snapshotCheck(st.Record.Owner))
	for _, g := range st.Record.Grants {
		checks = append(checks, grantCheck(g, st.Record.Owner.Name))
	}
	return checks
}

func systemdCheck() Check {
	c := Check{Name: "systemd is PID 1"}
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		c.Detail, c.Fix = "no /run/systemd/system", "boot with systemd; without it use `carapace dev` (no install)"
		return c
	}
	c.OK, c.Detail = true, strings.SplitN(run1("systemctl", "--version"), "\n", 2)[0]
	return c
}

// memberCheck looks in the group database, not at the owner's current
// processes: a new membership counts from the next login.
func memberCheck(owner string) Check {
	c := Check{Name: "owner " + owner + " in " + units.ClientsGroup}
	g, err := user.LookupGroup(units.ClientsGroup)
	u, uerr := user.Lookup(owner)
	if err != nil || uerr != nil {
		c.Detail, c.Fix = "group or owner missing", "sudo carapace-installer install --owner "+owner
		return c
	}
	ids, _ := u.GroupIds()
	c.OK = slices.Contains(ids, g.Gid)
	c.Detail = "member"
	if !c.OK {
		c.Detail, c.Fix = "not a member", "sudo gpasswd -a "+owner+" "+units.ClientsGroup+" (then log out and in)"
	}
	return c
}

// snapshotCheck reports an owner config edited since the last install:
// the services still use the snapshot until root applies the change.
func snapshotCheck(o Account) Check {
	c := Check{Name: "owner config applied", OK: true, Detail: "services use the current config"}
	want, err := os.ReadFile(units.OwnerSnapshot)
	have, herr := os.ReadFile(strings.TrimSuffix(o.Home, "/") + "/.config/gimme/local.yaml")
	if err == nil && herr == nil && string(want) != string(have) {
		c.OK, c.Detail = false, "local.yaml changed since the last install"
		c.Fix = "sudo carapace-installer install --owner " + o.Name
	}
	return c
}

func grantCheck(g Grant, owner string) Check {
	c := Check{Name: "ACL " + g.User + " on " + g.Path}
	out := run1("getfacl", "-p", "--omit-header", g.Path)
	c.OK = strings.Contains(out, "user:"+g.User+":")
	c.Detail = "granted"
	if !c.OK {
		c.Detail, c.Fix = "missing", "sudo carapace-installer install --owner "+owner
	}
	return c
}

func run1(name string, args ...string) string {
	out, _ := exec.Command(name, args...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// PrintChecks writes checks for a person and reports whether all hold.
func PrintChecks(w io.Writer, checks []Check) bool {
	ok := true
	for _, c := range checks {
		mark := "ok  "
		if !c.OK {
			mark, ok = "FAIL", false
		}
		fmt.Fprintf(w, "%s %-48s %s\n", mark, c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(w, "     fix: %s\n", c.Fix)
		}
	}
	return ok
}
