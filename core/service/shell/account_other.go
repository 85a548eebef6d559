//go:build !darwin

package shell

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
)

// lookupAccount reads the owner's password entry through getent (so
// NSS sources such as LDAP count), else from /etc/passwd.
func lookupAccount(uid int) (account, error) {
	if out, err := exec.Command("getent", "passwd", strconv.Itoa(uid)).Output(); err == nil {
		return parsePasswd(bytes.NewReader(out), uid)
	}
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return account{}, err
	}
	defer f.Close()
	return parsePasswd(f, uid)
}
