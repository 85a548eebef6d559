//go:build darwin

package install

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ReadAccounts fills o.Users and o.Groups from the local directory service.
func ReadAccounts(o *Options) error {
	var err error
	if o.Users, err = dsclList("/Users", "UniqueID"); err != nil {
		return err
	}
	o.Groups, err = dsclList("/Groups", "PrimaryGroupID")
	return err
}

func dsclList(path, attr string) (map[string]int, error) {
	out, err := exec.Command("dscl", ".", "-list", path, attr).Output()
	if err != nil {
		return nil, fmt.Errorf("install: dscl . -list %s %s: %w", path, attr, err)
	}
	return ParseDsclList(string(out))
}

// Apply carries out steps in order as root, stopping at the first failure
// of a step that may not fail.
func Apply(steps []Step) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("install: must run as root (hint: sudo carapace-installer …)")
	}
	for _, s := range steps {
		if err := apply(s); err != nil && !s.MayFail {
			return fmt.Errorf("install: %s: %w", s, err)
		}
	}
	return nil
}

func apply(s Step) error {
	switch s.Op {
	case "run":
		out, err := exec.Command(s.Args[0], s.Args[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	case "write":
		if err := os.WriteFile(s.Path, s.Data, s.Mode); err != nil {
			return err
		}
		return os.Chown(s.Path, 0, 0) // launchd refuses plists not owned by root
	case "symlink":
		if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
			return err
		}
		_ = os.Remove(s.Path)
		return os.Symlink(s.Target, s.Path)
	case "remove":
		return os.RemoveAll(s.Path)
	}
	return fmt.Errorf("unknown step %q", s.Op)
}
