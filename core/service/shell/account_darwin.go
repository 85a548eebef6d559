package shell

import (
	"fmt"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
)

// lookupAccount reads the owner's account from Directory Services: the
// name and home through os/user, the shell through dscl (UserShell).
func lookupAccount(uid int) (account, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return account{}, err
	}
	a := account{Name: u.Username, Home: u.HomeDir}
	out, err := exec.Command("/usr/bin/dscl", ".", "-read", "/Users/"+u.Username, "UserShell").Output()
	if err != nil {
		return a, fmt.Errorf("dscl UserShell %s: %w", u.Username, err)
	}
	// "UserShell: /bin/zsh"
	if _, sh, ok := strings.Cut(strings.TrimSpace(string(out)), ":"); ok {
		a.Shell = strings.TrimSpace(sh)
	}
	return a, nil
}
