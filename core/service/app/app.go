// Package app is the app service: it lists, opens, activates and quits
// the desktop apps the owner allowed (services.app.allowed_apps), and no
// others.
//
// On Linux an app is an XDG desktop entry, matched by its Name or its
// desktop id; it is started from its Exec line, split by the Desktop
// Entry rules into an argv and run directly — never through a shell — in
// a session of its own, and the service remembers the processes it
// started so app.quit can end them. On macOS the platform package sets
// Native and the OS's own app API does the work.
package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
)

// Config configures the app service.
type Config struct {
	// AllowedApps are the names or desktop ids the owner allows.
	AllowedApps []string
	// CheckFile decides whether app.open may hand a file to an app: the
	// file service's rules. Nil refuses every file.
	CheckFile func(path string) error
	// DataDirs are the XDG data directories to look for applications/ in,
	// most important first. Empty: $XDG_DATA_HOME (or ~/.local/share),
	// then $XDG_DATA_DIRS (or /usr/local/share:/usr/share).
	DataDirs []string
	// Env is the environment apps start with (default os.Environ()),
	// minus Carapace's own variables. Its PATH finds their programs.
	Env []string
	// Home is the directory apps start in (default $HOME).
	Home string
	Log  *slog.Logger
}

// Service is the app service.
type Service struct {
	cfg   Config
	path  string
	procs procTable
}

// New returns the app service.
func New(cfg Config) *Service {
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	cfg.Env = launchEnv(cfg.Env)
	if cfg.Home == "" {
		cfg.Home = envValue(cfg.Env, "HOME")
	}
	if len(cfg.DataDirs) == 0 {
		cfg.DataDirs = dataDirs(cfg.Env, cfg.Home)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	path := envValue(cfg.Env, "PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return &Service{cfg: cfg, path: path, procs: procTable{m: map[string]map[int]bool{}}}
}

// Name implements service.Service.
func (s *Service) Name() string { return "app" }

// Methods implements service.Service.
func (s *Service) Methods() map[string]service.Handler {
	return map[string]service.Handler{
		"app.list":     s.list,
		"app.open":     s.open,
		"app.activate": s.activate,
		"app.quit":     s.quit,
	}
}

// dataDirs returns the XDG data directories from env.
func dataDirs(env []string, home string) []string {
	dh := envValue(env, "XDG_DATA_HOME")
	if !filepath.IsAbs(dh) && home != "" {
		dh = filepath.Join(home, ".local", "share")
	}
	var out []string
	if dh != "" {
		out = append(out, dh)
	}
	dd := envValue(env, "XDG_DATA_DIRS")
	if dd == "" {
		dd = "/usr/local/share:/usr/share"
	}
	for _, d := range filepath.SplitList(dd) {
		if filepath.IsAbs(d) {
			out = append(out, d)
		}
	}
	return out
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// launchEnv drops Carapace's own variables from env.
func launchEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "GIMME_"), strings.HasPrefix(k, "CARAPACE_"), strings.HasPrefix(k, "LISTEN_"),
			k == "NOTIFY_SOCKET", k == "INVOCATION_ID", k == "JOURNAL_STREAM", strings.ContainsRune(kv, 0):
			continue
		}
		out = append(out, kv)
	}
	return out
}

// lookPath finds a program on the apps' PATH.
func (s *Service) lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			return "", errors.New("relative program path")
		}
		return name, executable(name)
	}
	for _, d := range filepath.SplitList(s.path) {
		if !filepath.IsAbs(d) {
			continue
		}
		p := filepath.Join(d, name)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", errors.New(name + ": not on PATH")
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return errors.New(p + ": not executable")
	}
	return nil
}

// allowed reports whether the owner's list names an app, by its display
// name (case-insensitively) or its id.
func (s *Service) allowed(id, name string) bool {
	for _, a := range s.cfg.AllowedApps {
		if a == "" {
			continue
		}
		if strings.EqualFold(a, name) || a == id || a == strings.TrimSuffix(id, ".desktop") {
			return true
		}
	}
	return false
}

func notAllowed(op, app string) error {
	return errs.E(op, errs.Forbidden, errs.ReasonAppNotAllowed,
		errs.Hint("the app "+quote(app)+" is not allowed; add its name to services.app.allowed_apps in ~/.config/gimme/local.yaml"))
}

func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return `"` + s + `"`
}

// noNative is the error on macOS when the build has no app support.
func noNative(op string) error {
	if runtime.GOOS == "darwin" && Native == nil {
		return errs.E(op, errs.Unavailable, errs.ReasonUnsupported,
			errs.Hint("this build has no macOS app support (it needs cgo); use the signed release"))
	}
	return nil
}

// target is an allowed, installed app.
type target struct {
	id, name string
	entry    *Entry // nil for a native app
}

// resolve finds the allowed, installed app that app names.
func (s *Service) resolve(op, app string) (target, error) {
	if app == "" {
		return target{}, errs.E(op, errs.InvalidParams, errs.ReasonMissingApp,
			errs.Hint(`name the app: {"app": "Visual Studio Code"}`))
	}
	if err := noNative(op); err != nil {
		return target{}, err
	}
	if Native != nil {
		id, name, ok := Native.Find(app)
		switch {
		case ok && s.allowed(id, name):
			return target{id: id, name: name}, nil
		case ok || !s.allowed("", app):
			return target{}, notAllowed(op, app)
		}
		return target{}, notInstalled(op, app)
	}
	found := false
	for _, e := range scan(s.cfg.DataDirs, s.lookPath) {
		if !e.matches(app) {
			continue
		}
		if s.allowed(e.ID, e.Name) {
			return target{id: e.ID, name: e.Name, entry: &e}, nil
		}
		found = true
	}
	if found || !s.allowed("", app) {
		return target{}, notAllowed(op, app)
	}
	return target{}, notInstalled(op, app)
}

func notInstalled(op, app string) error {
	return errs.E(op, errs.NotFound, errs.ReasonAppNotInstalled,
		errs.Hint("no installed app is called "+quote(app)+"; `carapace call app.list` shows the allowed apps that are installed"))
}

// AppInfo describes an app in app.list.
type AppInfo struct {
	Name    string `json:"name"`
	ID      string `json:"id"`
	Running bool   `json:"running"`
}

// ListResult is app.list's result.
type ListResult struct {
	Apps []AppInfo `json:"apps"`
	// Missing are allowed names no installed app answers to.
	Missing []string `json:"missing"`
}

func (s *Service) list(_ context.Context, call *service.Call) (any, error) {
	const op = "app.list"
	if err := service.Decode(call.Params, &struct{}{}); err != nil {
		return nil, errs.E(op, err)
	}
	if err := noNative(op); err != nil {
		return nil, err
	}
	res := ListResult{Apps: []AppInfo{}, Missing: []string{}}
	if Native != nil {
		for _, a := range s.cfg.AllowedApps {
			if id, name, ok := Native.Find(a); ok {
				res.Apps = append(res.Apps, AppInfo{Name: name, ID: id})
			} else {
				res.Missing = append(res.Missing, a)
			}
		}
		return res, nil
	}
	entries := scan(s.cfg.DataDirs, s.lookPath)
	for _, e := range entries {
		if s.allowed(e.ID, e.Name) {
			res.Apps = append(res.Apps, AppInfo{Name: e.Name, ID: e.ID, Running: len(s.procs.pids(e.ID)) > 0})
		}
	}
	for _, a := range s.cfg.AllowedApps {
		if !anyMatches(entries, a) {
			res.Missing = append(res.Missing, a)
		}
	}
	return res, nil
}

func anyMatches(entries []Entry, name string) bool {
	for _, e := range entries {
		if e.matches(name) {
			return true
		}
	}
	return false
}
