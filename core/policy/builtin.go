package policy

import (
	"path/filepath"
	"strings"
)

// Builtin returns the rules every policy starts with. Each names something
// that is never a legitimate step for an agent on the owner's machine, and
// that the sandbox alone does not make harmless in the unsandboxed shell
// service: gaining privileges, destroying a filesystem or a disk, stopping
// the machine. They are deliberately few; the sandbox, not this list, is
// what holds commands in.
func Builtin() []Rule {
	forbid := func(reason string, also func([]string) bool, match ...string) Rule {
		return Rule{Match: match, Decision: Forbidden, Reason: reason, also: also}
	}
	var rules []Rule
	for _, p := range []string{"sudo", "su", "doas", "pkexec", "run0", "runuser", "setpriv", "chroot", "nsenter", "unshare", "capsh"} {
		rules = append(rules, forbid("changes user or privileges; the agent runs with exactly the rights it was given", nil, p))
	}
	for _, p := range []string{"shutdown", "reboot", "poweroff", "halt", "telinit", "kexec"} {
		rules = append(rules, forbid("stops or restarts the machine", nil, p))
	}
	for _, verb := range []string{"poweroff", "reboot", "halt", "kexec", "suspend", "hibernate", "rescue", "emergency"} {
		rules = append(rules, forbid("stops or restarts the machine", nil, "systemctl", verb))
	}
	for _, p := range []string{"mkfs", "mkfs.*", "mke2fs", "mkswap", "wipefs", "fdisk", "sfdisk", "cfdisk", "parted", "sgdisk", "blkdiscard"} {
		rules = append(rules, forbid("formats or repartitions a disk", nil, p))
	}
	rules = append(rules,
		forbid("dd writing to a device overwrites a disk", ddToDevice, "dd"),
		forbid("recursive removal of / or the home directory", rmRoot, "rm"),
		forbid("recursive change of ownership or mode from /", recursiveFromRoot, "chown"),
		forbid("recursive change of ownership or mode from /", recursiveFromRoot, "chmod"),
	)
	return rules
}

func ddToDevice(argv []string) bool {
	for _, a := range argv[1:] {
		if strings.HasPrefix(a, "of=/dev/") && a != "of=/dev/null" && a != "of=/dev/stdout" && a != "of=/dev/stderr" {
			return true
		}
	}
	return false
}

// rmRoot reports an rm -r of "/", "/*", "~" or $HOME, or any rm with
// --no-preserve-root.
func rmRoot(argv []string) bool {
	recursive := false
	var targets []string
	for _, a := range argv[1:] {
		switch {
		case a == "--no-preserve-root":
			return true
		case a == "--recursive" || (strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.ContainsAny(a, "rR")):
			recursive = true
		case !strings.HasPrefix(a, "-"):
			targets = append(targets, a)
		}
	}
	return recursive && anyRootish(targets)
}

func recursiveFromRoot(argv []string) bool {
	recursive := false
	var targets []string
	for _, a := range argv[1:] {
		if a == "--recursive" || (strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "R")) {
			recursive = true
		} else if !strings.HasPrefix(a, "-") {
			targets = append(targets, a)
		}
	}
	return recursive && anyRootish(targets)
}

func anyRootish(targets []string) bool {
	for _, t := range targets {
		switch c := filepath.Clean(t); {
		case c == "/", t == "/*", c == "~", strings.HasPrefix(t, "~/") && filepath.Clean(t[2:]) == ".",
			t == "$HOME", t == "${HOME}", c == "/home", c == "/root", c == "/usr", c == "/etc":
			return true
		}
	}
	return false
}
