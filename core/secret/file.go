package secret

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// DenyGlob is a deny-read glob (core/denyread) that matches the file
// store's directory wherever it lies: a project or an allowed folder
// that holds the owner's home must not hand its secrets out. The code
// service masks it, the file service refuses it.
const DenyGlob = "carapace/secrets/"

// Dir is the file store's directory for the current user (DirIn their
// home).
func Dir() string {
	home, _ := os.UserHomeDir()
	return DirIn(home)
}

// DirIn is the file store's directory for the owner whose home is home:
// $XDG_STATE_HOME/carapace/secrets, else
// <home>/.local/state/carapace/secrets.
func DirIn(home string) string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "carapace", "secrets")
	}
	return filepath.Join(home, ".local", "state", "carapace", "secrets")
}

// FileStore keeps each secret in a 0600 file named for it, in a 0700
// directory. It refuses a directory or file another user owns or others
// may read: a secret read from there would not be the owner's alone.
type FileStore struct{ dir string }

// NewFileStore is the file store in dir (made, 0700, when it is first
// written to).
func NewFileStore(dir string) (*FileStore, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("secret store %q: not an absolute path (is HOME set?)", dir)
	}
	return &FileStore{dir: dir}, nil
}

func (f *FileStore) String() string { return "file " + f.dir }

// checkDir reports whether the directory exists and is the owner's
// alone; fs.ErrNotExist when it is not there.
func (f *FileStore) checkDir() error {
	fi, err := os.Lstat(f.dir)
	if err != nil {
		return err
	}
	return private(f.dir, fi, true)
}

func private(p string, fi fs.FileInfo, dir bool) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case dir && !fi.IsDir(), !dir && !fi.Mode().IsRegular():
		return fmt.Errorf("%s: not a plain %s", p, map[bool]string{true: "directory", false: "file"}[dir])
	case ok && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s: owned by uid %d, not you", p, st.Uid)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%s: mode %o lets others in (chmod go= it)", p, fi.Mode().Perm())
	}
	return nil
}

// Set writes value to a new file and renames it over the old one.
func (f *FileStore) Set(name string, value []byte) error {
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("set secret %s: %w", name, err)
	}
	if err := f.checkDir(); err != nil {
		return fmt.Errorf("set secret %s: %w", name, err)
	}
	tmp, err := os.CreateTemp(f.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("set secret %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(value); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(f.dir, name))
	}
	if err != nil {
		return fmt.Errorf("set secret %s: %w", name, err)
	}
	return nil
}

// Get reads the file, refusing one another user could have written or
// may read.
func (f *FileStore) Get(name string) ([]byte, error) {
	if err := f.checkDir(); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = ErrNotFound
		}
		return nil, fmt.Errorf("get secret %s: %w", name, err)
	}
	p := filepath.Join(f.dir, name)
	fh, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s: %w", name, err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err == nil {
		err = private(p, fi, false)
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s: %w", name, err)
	}
	b := make([]byte, min(fi.Size(), 64<<10))
	n, err := fh.Read(b)
	if err != nil && n == 0 {
		return nil, fmt.Errorf("get secret %s: %w", name, err)
	}
	return b[:n], nil
}

// List lists the directory's secret names.
func (f *FileStore) List() ([]string, error) {
	ents, err := os.ReadDir(f.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && CheckName(e.Name()) == nil {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Delete removes the file.
func (f *FileStore) Delete(name string) error {
	err := os.Remove(filepath.Join(f.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("remove secret %s: %w", name, err)
	}
	return nil
}
