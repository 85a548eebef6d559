package autorun

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
)

// finishMasked completes Masked: a masked symbolic link's target inside
// Root is masked too (the link is where a reader goes through), and so is
// every other name, inside Root, of a masked file with more than one hard
// link — found by a second walk that runs only when such a file exists.
func (f *Found) finishMasked() error {
	if len(f.Masked) == 0 {
		return nil
	}
	inodes := map[[2]uint64]bool{}
	for _, p := range f.Masked {
		info, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			if t, err := filepath.EvalSymlinks(p); err == nil && Within(f.Root, t) && t != f.Root {
				f.Masked = append(f.Masked, t)
			}
			continue
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && info.Mode().IsRegular() && st.Nlink > 1 {
			inodes[[2]uint64{uint64(st.Dev), uint64(st.Ino)}] = true
		}
	}
	if len(inodes) > 0 {
		filepath.WalkDir(f.Root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 && inodes[[2]uint64{uint64(st.Dev), uint64(st.Ino)}] {
				f.Masked = append(f.Masked, p)
			}
			return nil
		})
	}
	sort.Strings(f.Masked)
	f.Masked = dedup(f.Masked)
	if len(f.Masked) > MaxMasked {
		return fmt.Errorf("find deny_read matches in %s: %w (%d to mask, at most %d)", f.Root, ErrTooLarge, len(f.Masked), MaxMasked)
	}
	return nil
}
