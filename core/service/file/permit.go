package file

import (
	"path/filepath"
)

// Permits reports whether the file rules let path be read: inside an
// allowed folder, no deny-listed component, before and after resolving
// symlinks. Other services use it for paths they hand to programs that
// open files themselves (app.open), where the file service's descriptor
// discipline cannot follow. It asks no authorize hook: the caller's
// service has checked the caller's token for its own call.
func (s *Service) Permits(p string) error {
	const op = "check file"
	abs, err := s.cleanPath(op, p)
	if err != nil {
		return err
	}
	if _, err := s.ruled(op, verbGet, abs); err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return err
	}
	if real != abs {
		if _, err := s.ruled(op, verbGet, real); err != nil {
			return err
		}
	}
	return nil
}

// Permits returns cfg's file rules as Service.Permits checks them,
// without opening the folders or serving anything: for a service that
// hands paths to programs (app.open) and so holds no descriptors of its
// own for them.
func Permits(cfg Config) (func(string) error, error) {
	s, err := newRules(cfg)
	if err != nil {
		return nil, err
	}
	return s.Permits, nil
}
