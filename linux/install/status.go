package install

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strings"
	"syscall"

	"github.com/gimme-tools/carapace/linux/units"
)

// Status is what `carapace-installer status` reports.
type Status struct {
	Installed bool            `json:"installed"`
	Record    *Record         `json:"record,omitempty"`
	Units     []UnitStatus    `json:"units"`
	Sockets   []SocketStatus  `json:"sockets"`
	Users     map[string]bool `json:"users"`
}

// UnitStatus is one unit's state as systemctl reports it.
type UnitStatus struct {
	Unit    string `json:"unit"`
	Active  string `json:"active"`
	Enabled string `json:"enabled"`
}

// SocketStatus is one socket's owner, group and mode, against what the
// socket unit asks for.
type SocketStatus struct {
	Path  string `json:"path"`
	Found bool   `json:"found"`
	Mode  string `json:"mode,omitempty"`
	Owner string `json:"owner,omitempty"`
	Group string `json:"group,omitempty"`
	Want  string `json:"want"`
	OK    bool   `json:"ok"`
}

// ReadStatus reads the installed state.
func ReadStatus() *Status {
	f := Gather()
	st := &Status{Record: f.Previous, Installed: f.Previous != nil, Users: map[string]bool{}}
	for _, s := range units.Services {
		if s.Template() {
			continue
		}
		_, err := user.Lookup(s.User)
		st.Users[s.User] = err == nil
	}
	for _, g := range []string{units.InternalGroup, units.ClientsGroup} {
		_, err := user.LookupGroup(g)
		st.Users["group "+g] = err == nil
	}
	names := []string{}
	if f.Previous != nil {
		names = f.Previous.Units
	}
	for _, n := range names {
		st.Units = append(st.Units, UnitStatus{Unit: n, Active: systemctl("is-active", n), Enabled: systemctl("is-enabled", n)})
	}
	for _, s := range units.Services {
		if f.Previous != nil && slices.ContainsFunc(f.Previous.Units, func(u string) bool { return u == s.SocketUnit() || strings.HasPrefix(u, "carapace-"+s.Name+"@") }) {
			st.Sockets = append(st.Sockets, socketStatus(s))
		}
	}
	return st
}

func systemctl(verb, unit string) string {
	out, _ := exec.Command("systemctl", verb, unit).Output()
	return strings.TrimSpace(string(out))
}

func socketStatus(s units.Service) SocketStatus {
	group := units.InternalGroup
	if s.Name == "router" {
		group = units.ClientsGroup
	}
	ss := SocketStatus{Path: s.Socket(), Want: "0660 root:" + group}
	fi, err := os.Lstat(ss.Path)
	if err != nil {
		return ss
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ss
	}
	ss.Found = true
	ss.Mode = fmt.Sprintf("%04o", fi.Mode().Perm())
	ss.Owner, ss.Group = userName(st.Uid), groupName(st.Gid)
	ss.OK = fi.Mode()&os.ModeSocket != 0 && ss.Mode+" "+ss.Owner+":"+ss.Group == ss.Want
	return ss
}

func userName(uid uint32) string {
	if u, err := user.LookupId(fmt.Sprint(uid)); err == nil {
		return u.Username
	}
	return fmt.Sprint(uid)
}

func groupName(gid uint32) string {
	if g, err := user.LookupGroupId(fmt.Sprint(gid)); err == nil {
		return g.Name
	}
	return fmt.Sprint(gid)
}

// Print writes st for a person.
func (st *Status) Print(w io.Writer) {
	if !st.Installed {
		fmt.Fprintln(w, "Carapace is not installed (no "+units.InstallRecord+").")
		fmt.Fprintln(w, "hint: sudo carapace-installer install --owner $USER")
		return
	}
	fmt.Fprintln(w, st.Record)
	for _, u := range st.Units {
		fmt.Fprintf(w, "  %-34s %-10s %s\n", u.Unit, u.Active, u.Enabled)
	}
	for _, s := range st.Sockets {
		state := "missing"
		if s.Found {
			state = s.Mode + " " + s.Owner + ":" + s.Group
		}
		mark := "ok"
		if !s.OK {
			mark = "WRONG, want " + s.Want
		}
		fmt.Fprintf(w, "  %-34s %-32s %s\n", s.Path, state, mark)
	}
}
