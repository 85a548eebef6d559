package file

import (
	"path/filepath"
)

// Permits reports whether the file rules let path be read: inside an
// allowed folder, no deny-listed component, before and after resolving
// symlinks. Other services use it for paths they hand to programs that
// open files themselves (app.open), where the file service's descriptor
// discipline cannot follow.
func (s *Service) Permits(p string) error {
	const op = "check file"
	if _, err := s.resolve(nil, op, verbGet, p); err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	if real != p {
		if _, err := s.resolve(nil, op, verbGet, real); err != nil {
			return err
		}
	}
	return nil
}
