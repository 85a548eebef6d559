// Package file is the file service: read, write, list, stat, mkdir, move,
// delete and search inside the owner's allowed folders, and nowhere else.
//
// Every path is checked three ways before anything is opened: lexically
// (absolute, cleaned, inside a configured folder, no deny-listed component,
// not a write to a read-only folder), against the caller's token (the
// authorize hook, with the verb and the cleaned absolute path), and by the
// kernel, which resolves the name beneath the folder's directory descriptor
// (package fsafe). A symbolic link is followed only inside the folder, and
// the place it leads is checked the same three ways first.
//
// What file.read and file.search hand a caller other than the owner's own
// CLI has its secrets replaced (core/redact); file.open, whose descriptor
// would carry the raw bytes, is refused to such a caller.
package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/autorun"
	"github.com/gimme-tools/carapace/core/denyread"
	"github.com/gimme-tools/carapace/core/fsafe"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/service"
)

// Config is the file service's configuration, as the owner's local.yaml
// (services.file) describes it.
type Config struct {
	Folders []Folder // the allowed folders; services.file.paths
	// Deny holds deny globs added to DefaultDeny, for every folder:
	// names neither read nor written (secrets).
	Deny []string
	// DenyWrite holds deny-write globs added to DefaultDenyWrite, for
	// every folder: names that may be read but never written, moved,
	// made or deleted (things the owner's tools run).
	DenyWrite []string
	// Protect are absolute directories no call may change, nor any
	// directory holding them: Carapace's own configuration and state
	// (stack.Settings.OwnPaths), wherever an allowed folder lies.
	Protect []string
	// MaxWrite is the largest file, in bytes, a write may leave behind
	// (content for create and overwrite, old size plus content for append).
	// Zero means DefaultMaxWrite.
	MaxWrite int64
	Home     string // what "~" stands for; the owner's home directory
	// Redact finds the secrets replaced in what agents read (file.read,
	// file.search); nil is redact.Default(). Redaction applies to every
	// caller but the owner's own CLI (service.RawReader), in every folder
	// but those with NoRedact.
	Redact *redact.Scanner
}

// Folder is one allowed folder.
type Folder struct {
	Path      string   // absolute, or starting with "~/"
	ReadOnly  bool     // mode: ro
	Deny      []string // deny globs for this folder only, added to the rest
	DenyWrite []string // deny-write globs for this folder only, added to the rest
	NoRedact  bool     // redact: false — agents read this folder's secrets as they are
}

// DefaultDeny lists the names refused even inside an allowed folder. Each
// glob (path.Match syntax) is matched against every component of a path
// below its folder; a glob with a slash against that many consecutive
// components; a trailing slash is ignored (".ssh/" refuses a file or a
// directory named .ssh and all it holds). They always apply. The secrets
// sandboxed commands may not read (core/denyread.Default) are all here,
// with the configuration files that hold credentials besides.
var DefaultDeny = append(append([]string(nil), denyread.Default...),
	".git/config", ".docker/config.json", ".kube/config")

// DefaultDenyWrite lists the names that may be read but never changed,
// in the same glob syntax: every file the owner's own tools run or read
// for programs to run (core/autorun: .git and all it holds, which covers
// hooks, config and a .git file's "gitdir:", shell start-up files,
// .envrc, editor and agent settings, ~/.config/gimme). A write token
// that could change one would reach code execution as the owner.
var DefaultDenyWrite = autorun.Globs()

// Sizes. A chunk's base64 form (4/3 of it) plus the JSON envelope stays
// under the router's default 1 MiB message limit.
const (
	DefaultChunk    = 256 << 10 // bytes file.read returns without length
	MaxChunk        = 512 << 10 // most bytes one file.read returns
	DefaultMaxWrite = 1 << 30   // Config.MaxWrite when zero
	maxListBytes    = 900 << 10 // encoded size at which file.list stops
	maxPathLen      = 4096      // PATH_MAX
	maxNameLen      = 255       // NAME_MAX
)

// Service is the file service.
type Service struct {
	folders   []*folder // longest path first
	deny      []string
	denyWrite []string
	protect   []string
	maxWrite  int64
	home      string
	scanner   *redact.Scanner
	authorize service.Authorize
	uploads   uploads // pending file.upload calls
}

type folder struct {
	path      string
	ro        bool
	deny      []string
	denyWrite []string
	noRedact  bool
	// denyM and denyWriteM are the global rules and the folder's own,
	// compiled: every path is matched against them, and file.list every
	// entry.
	denyM, denyWriteM *denyread.Matcher
	root              *fsafe.Root // nil when the folder could not be opened
	openErr           error
}

// New returns a file service for cfg. authorize is called first thing in
// every method, with the verb ("GET", "PUT", "DELETE") and the cleaned
// absolute path, and again for every place a symbolic link leads; a non-nil
// error refuses the call. A nil authorize refuses every call; tests pass
// service.AllowAll.
//
// Folders that cannot be opened (missing, unreadable) are kept: calls under
// them fail with a hint, Paths leaves them out, Missing lists them and
// WatchMissing says when one appears.
func New(cfg Config, authorize service.Authorize) (*Service, error) {
	s, err := newRules(cfg)
	if err != nil {
		return nil, err
	}
	s.authorize = authorize
	if s.authorize == nil {
		s.authorize = func(c *service.Call, _, _ string) error { return service.NoAuthorizer(c.Method, "file") }
	}
	for _, f := range s.folders {
		f.root, f.openErr = fsafe.OpenRoot(f.path)
	}
	return s, nil
}

// newRules returns a service that knows cfg's rules and has opened nothing.
func newRules(cfg Config) (*Service, error) {
	s := &Service{maxWrite: cfg.MaxWrite, home: cfg.Home, scanner: cfg.Redact}
	if s.scanner == nil {
		s.scanner = redact.Default()
	}
	if s.maxWrite <= 0 {
		s.maxWrite = DefaultMaxWrite
	}
	s.deny = append(append([]string{}, DefaultDeny...), cfg.Deny...)
	if err := CheckGlobs(s.deny); err != nil {
		return nil, fmt.Errorf("services.file.deny: %w", err)
	}
	s.denyWrite = append(append([]string{}, DefaultDenyWrite...), cfg.DenyWrite...)
	if err := CheckGlobs(s.denyWrite); err != nil {
		return nil, fmt.Errorf("services.file.deny_write: %w", err)
	}
	for _, p := range cfg.Protect {
		if !path.IsAbs(p) {
			return nil, fmt.Errorf("protected path %q is not absolute", p)
		}
		s.protect = append(s.protect, path.Clean(p))
	}
	seen := map[string]bool{}
	for _, fc := range cfg.Folders {
		p, err := s.expand(fc.Path)
		if err != nil {
			return nil, fmt.Errorf("services.file.paths: %q: %w", fc.Path, err)
		}
		if seen[p] {
			return nil, fmt.Errorf("services.file.paths: %q is listed twice", fc.Path)
		}
		seen[p] = true
		if err := CheckGlobs(fc.Deny); err != nil {
			return nil, fmt.Errorf("services.file.paths: %q: deny: %w", fc.Path, err)
		}
		if err := CheckGlobs(fc.DenyWrite); err != nil {
			return nil, fmt.Errorf("services.file.paths: %q: deny_write: %w", fc.Path, err)
		}
		f := &folder{path: p, ro: fc.ReadOnly, deny: fc.Deny, denyWrite: fc.DenyWrite, noRedact: fc.NoRedact}
		if f.denyM, err = denyread.New(append(append([]string{}, s.deny...), fc.Deny...)); err != nil {
			return nil, fmt.Errorf("services.file.paths: %q: deny: %w", fc.Path, err)
		}
		if f.denyWriteM, err = denyread.New(append(append([]string{}, s.denyWrite...), fc.DenyWrite...)); err != nil {
			return nil, fmt.Errorf("services.file.paths: %q: deny_write: %w", fc.Path, err)
		}
		s.folders = append(s.folders, f)
	}
	sort.SliceStable(s.folders, func(i, j int) bool { return len(s.folders[i].path) > len(s.folders[j].path) })
	return s, nil
}

// expand turns a configured folder into a clean absolute path.
func (s *Service) expand(p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if s.home == "" {
			return "", errors.New("~ used but no home directory is known")
		}
		p = s.home + p[1:]
	}
	if !strings.HasPrefix(p, "/") {
		return "", errors.New("not an absolute path or ~/…")
	}
	return path.Clean(p), nil
}

// CheckGlobs reports the first glob in globs that is empty or not in
// path.Match syntax.
func CheckGlobs(globs []string) error {
	for _, g := range globs {
		if strings.Trim(g, "/") == "" {
			return fmt.Errorf("empty deny glob %q", g)
		}
		for seg := range strings.SplitSeq(strings.Trim(g, "/"), "/") {
			if _, err := path.Match(seg, ""); err != nil {
				return fmt.Errorf("deny glob %q: %w", g, err)
			}
		}
	}
	return nil
}

// Name returns "file".
func (s *Service) Name() string { return "file" }

// Methods returns the file service's route table.
func (s *Service) Methods() map[string]service.Handler {
	var t service.Table
	t.Register("file.commit", s.commit)
	t.Register("file.delete", s.delete)
	t.Register("file.list", s.list)
	t.Register("file.mkdir", s.mkdir)
	t.Register("file.move", s.move)
	t.Register("file.open", s.open)
	t.Register("file.read", s.read)
	t.Register("file.search", s.search)
	t.Register("file.stat", s.stat)
	t.Register("file.upload", s.upload)
	t.Register("file.write", s.write)
	return t.Map()
}

// Paths returns the folders the service opened, read-write and read-only,
// for the process's Landlock rules. The service needs nothing else from the
// file system once it is running.
func (s *Service) Paths() (rw, ro []string) {
	for _, f := range s.folders {
		switch {
		case f.root == nil:
		case f.ro:
			ro = append(ro, f.path)
		default:
			rw = append(rw, f.path)
		}
	}
	sort.Strings(rw)
	sort.Strings(ro)
	return rw, ro
}

// redactor returns the scanner that applies to call's reads in folder f,
// or nil when it reads unredacted: the owner's own CLI, or a folder the
// owner marked redact: false.
func (s *Service) redactor(call *service.Call, f *folder) *redact.Scanner {
	if f.noRedact || service.RawReader(call) {
		return nil
	}
	return s.scanner
}

// Close closes the folders' descriptors.
func (s *Service) Close() error {
	for _, f := range s.folders {
		if f.root != nil {
			f.root.Close()
		}
	}
	return nil
}

// Missing returns the configured folders that could not be opened when
// the service started (most often: they do not exist yet), sorted.
func (s *Service) Missing() []string {
	var out []string
	for _, f := range s.folders {
		if f.root == nil {
			out = append(out, f.path)
		}
	}
	sort.Strings(out)
	return out
}

// WatchMissing checks every interval whether a folder Missing reported
// has come into existence, and sends the first that has on the returned
// channel. The service's own sandbox was drawn around the folders that
// existed at start, so a folder that appears is taken in by starting the
// service again (its supervisor does, when it exits); without missing
// folders the channel never receives. It stops when ctx ends.
func (s *Service) WatchMissing(ctx context.Context, interval time.Duration) <-chan string {
	out := make(chan string, 1)
	missing := s.Missing()
	if len(missing) == 0 {
		return out
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for _, p := range missing {
				if fi, err := os.Stat(p); err == nil && fi.IsDir() {
					out <- p
					return
				}
			}
		}
	}()
	return out
}
