package approval

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// grantFile is the on-disk form of the remembered grants: a 0600 JSON
// file in the owner's state directory, replaced atomically on each change.
type grantFile struct {
	Grants []*Grant `json:"grants"`
}

// loadGrants reads path; a missing file holds no grants. A file that
// cannot be read or parsed is an error: the service does not start with
// grants it cannot account for, nor silently drop them.
func loadGrants(path string, now time.Time) ([]*Grant, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errs.E("approval.grants", errs.Failed, errs.ReasonGrantsUnreadable,
			errs.Hint("the remembered approvals in "+path+" cannot be read; fix its permissions or remove it (every command then asks again)"), err)
	}
	var gf grantFile
	if err := json.Unmarshal(b, &gf); err != nil {
		return nil, errs.E("approval.grants", errs.Failed, errs.ReasonBadGrantsFile,
			errs.Hint("the file is written atomically, so this is an edit by hand: fix or remove "+path+" (every command then asks again)"),
			fmt.Errorf("%s: %w", path, err))
	}
	out := gf.Grants[:0]
	for _, g := range gf.Grants {
		if g != nil && g.ID != "" && g.live(now) {
			out = append(out, g)
		}
	}
	return out, nil
}

// saveGrants writes gs to path: a temporary file in the same directory,
// 0600, synced, renamed over the old one, and the directory synced.
func saveGrants(path string, gs []*Grant) (err error) {
	b, err := json.MarshalIndent(grantFile{Grants: gs}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err = f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
