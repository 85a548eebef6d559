package shell

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// account is the owner's entry in the password database.
type account struct {
	Name, Home, Shell string
}

// parsePasswd finds uid in passwd(5) lines ("name:pw:uid:gid:gecos:home:shell").
func parsePasswd(r io.Reader, uid int) (account, error) {
	sc := bufio.NewScanner(r)
	want := strconv.Itoa(uid)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) != 7 || f[2] != want {
			continue
		}
		return account{Name: f[0], Home: f[5], Shell: f[6]}, nil
	}
	if err := sc.Err(); err != nil {
		return account{}, err
	}
	return account{}, fmt.Errorf("uid %d: no password entry", uid)
}

// usableShell returns sh when the login shell is missing, not absolute,
// not executable, or one that refuses logins (nologin, false): the owner
// approved a command, not a login.
func usableShell(sh string) string {
	switch filepath.Base(sh) {
	case "nologin", "false", "", ".", "/":
		return "/bin/sh"
	}
	fi, err := os.Stat(sh)
	if !filepath.IsAbs(sh) || err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "/bin/sh"
	}
	return sh
}

// ownVariables are the service's own environment variables, which the
// owner's commands do not inherit.
func ownVariable(name string) bool {
	for _, p := range []string{"GIMME_", "CARAPACE_", "LISTEN_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	switch name {
	case "NOTIFY_SOCKET", "INVOCATION_ID", "JOURNAL_STREAM", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD":
		return true
	}
	return false
}

// commandEnv is env without the service's own variables, with the owner's
// HOME, USER, LOGNAME and SHELL, sorted.
func commandEnv(env []string, acct account, shell string) []string {
	out := make([]string, 0, len(env)+4)
	hasPath := false
	for _, kv := range env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || ownVariable(k) || strings.ContainsRune(kv, 0) {
			continue
		}
		hasPath = hasPath || k == "PATH"
		out = append(out, kv)
	}
	if !hasPath {
		out = append(out, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	add := func(k, v string) {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	add("HOME", acct.Home)
	add("USER", acct.Name)
	add("LOGNAME", acct.Name)
	add("SHELL", shell)
	sort.Strings(out)
	return out
}
