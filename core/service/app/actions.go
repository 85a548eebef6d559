package app

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
)

// MaxFiles caps the files one app.open may pass.
const MaxFiles = 64

// OpenParams are app.open's params.
type OpenParams struct {
	App   string   `json:"app"`
	Files []string `json:"files"`
}

// AppParams are app.activate's and app.quit's params.
type AppParams struct {
	App string `json:"app"`
}

// Result is what app.open, app.activate and app.quit return.
type Result struct {
	App string `json:"app"`
	ID  string `json:"id"`
	// PIDs are the processes this call started (open, activate) or
	// signalled (quit); empty on macOS.
	PIDs []int `json:"pids"`
	// Launched is true when activate had to start the app.
	Launched bool `json:"launched,omitempty"`
	// Raised is false when activate found the app running but could not
	// bring its window forward (Linux has no portable API for that).
	Raised *bool `json:"raised,omitempty"`
}

func (s *Service) open(_ context.Context, call *service.Call) (any, error) {
	const op = "app.open"
	var p OpenParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	t, err := s.resolve(op, p.App)
	if err != nil {
		return nil, err
	}
	if err := s.checkFiles(op, p.Files); err != nil {
		return nil, err
	}
	if t.entry == nil {
		if err := Native.Open(t.id, p.Files); err != nil {
			return nil, errs.E(op, errs.Failed, errs.ReasonOpenFailed, errs.Hint("the system could not open "+quote(t.name)), err)
		}
		return Result{App: t.name, ID: t.id, PIDs: []int{}}, nil
	}
	pids, err := s.launch(op, t, p.Files)
	if err != nil {
		return nil, err
	}
	return Result{App: t.name, ID: t.id, PIDs: pids}, nil
}

// checkFiles applies the file rules to every file: each must be an
// absolute path (so it can never read as an option) that CheckFile
// accepts.
func (s *Service) checkFiles(op string, files []string) error {
	if len(files) == 0 {
		return nil
	}
	if len(files) > MaxFiles {
		return errs.E(op, errs.TooLarge, errs.ReasonTooManyFiles, errs.Hint("open at most 64 files at once"))
	}
	if s.cfg.CheckFile == nil {
		return errs.E(op, errs.Forbidden, errs.ReasonFilesNotAllowed,
			errs.Hint("this build cannot check files against the file rules; open the app without files"))
	}
	for _, f := range files {
		if !filepath.IsAbs(f) || strings.ContainsRune(f, 0) || filepath.Clean(f) != f {
			return errs.E(op, errs.InvalidParams, errs.ReasonBadFile,
				errs.Hint("files must be clean absolute paths, such as /home/you/Documents/a.txt: "+quote(f)))
		}
		if err := s.cfg.CheckFile(f); err != nil {
			if errs.KindOf(err) == errs.Other {
				err = errs.E(errs.Forbidden, errs.ReasonFileNotAllowed,
					errs.Hint(f+" is outside what services.file allows"), err)
			}
			return errs.E(op, err)
		}
	}
	return nil
}

// launch starts the entry's Exec line with files: each command line in a
// new session, with no terminal and no shell. It returns the pids.
func (s *Service) launch(op string, t target, files []string) ([]int, error) {
	if t.entry.Terminal {
		return nil, errs.E(op, errs.Failed, errs.ReasonTerminalApp,
			errs.Hint(quote(t.name)+" runs in a terminal; the app service starts only graphical apps"))
	}
	lines, err := expandExec(t.entry.Exec, files)
	if errors.Is(err, errNoFileArg) {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonNoFileArgument,
			errs.Hint(quote(t.name)+"'s desktop entry takes no files; open it without files"))
	}
	if err != nil {
		return nil, errs.E(op, errs.Failed, errs.ReasonBadDesktopEntry, errs.Hint("fix "+t.entry.Path), err)
	}
	var pids []int
	for _, argv := range lines {
		pid, err := s.start(t, argv)
		if err != nil {
			return pids, errs.E(op, errs.Failed, errs.ReasonStartFailed,
				errs.Hint("could not start "+quote(argv[0])+" from "+t.entry.Path), err)
		}
		pids = append(pids, pid)
	}
	s.cfg.Log.Info("app opened", "app", t.name, "id", t.id, "files", len(files), "pids", pids)
	return pids, nil
}

// start runs argv as a child in its own session and process group, its
// standard streams on /dev/null, and records it until it exits.
func (s *Service) start(t target, argv []string) (int, error) {
	prog, err := s.lookPath(argv[0])
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(prog)
	cmd.Args = argv
	cmd.Dir = s.cfg.Home
	cmd.Env = s.cfg.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	s.procs.add(t.id, pid)
	go func() {
		cmd.Wait()
		s.procs.remove(t.id, pid)
	}()
	return pid, nil
}

// target decodes a call's {"app"} and resolves it against the allowed apps.
func (s *Service) target(op string, call *service.Call) (target, error) {
	var p AppParams
	if err := service.Decode(call.Params, &p); err != nil {
		return target{}, errs.E(op, err)
	}
	return s.resolve(op, p.App)
}

func (s *Service) activate(_ context.Context, call *service.Call) (any, error) {
	const op = "app.activate"
	t, err := s.target(op, call)
	if err != nil {
		return nil, err
	}
	if t.entry == nil {
		if err := Native.Activate(t.id); err != nil {
			return nil, errs.E(op, errs.Failed, errs.ReasonActivateFailed, errs.Hint("the system could not activate "+quote(t.name)), err)
		}
		return Result{App: t.name, ID: t.id, PIDs: []int{}}, nil
	}
	if pids := s.procs.pids(t.id); len(pids) > 0 {
		raised := false
		return Result{App: t.name, ID: t.id, PIDs: pids, Raised: &raised}, nil
	}
	pids, err := s.launch(op, t, nil)
	if err != nil {
		return nil, err
	}
	return Result{App: t.name, ID: t.id, PIDs: pids, Launched: true}, nil
}

func (s *Service) quit(_ context.Context, call *service.Call) (any, error) {
	const op = "app.quit"
	t, err := s.target(op, call)
	if err != nil {
		return nil, err
	}
	if t.entry == nil {
		if err := Native.Quit(t.id); err != nil {
			return nil, errs.E(op, errs.Failed, errs.ReasonQuitFailed, errs.Hint("the system could not quit "+quote(t.name)), err)
		}
		return Result{App: t.name, ID: t.id, PIDs: []int{}}, nil
	}
	pids := s.procs.pids(t.id)
	if len(pids) == 0 {
		return nil, errs.E(op, errs.NotFound, errs.ReasonNotStartedByCarapace,
			errs.Hint("on Linux Carapace can quit only the apps it opened, while their first process runs"))
	}
	for _, pid := range pids {
		// SIGTERM, as a session manager's logout sends: the app may save.
		syscall.Kill(-pid, syscall.SIGTERM)
	}
	s.cfg.Log.Info("app quit", "app", t.name, "id", t.id, "pids", pids)
	return Result{App: t.name, ID: t.id, PIDs: pids}, nil
}

// procTable remembers the processes the service started, by desktop id.
type procTable struct {
	mu sync.Mutex
	m  map[string]map[int]bool
}

func (pt *procTable) add(id string, pid int) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.m[id] == nil {
		pt.m[id] = map[int]bool{}
	}
	pt.m[id][pid] = true
}

func (pt *procTable) remove(id string, pid int) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	delete(pt.m[id], pid)
	if len(pt.m[id]) == 0 {
		delete(pt.m, id)
	}
}

func (pt *procTable) pids(id string) []int {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	out := make([]int, 0, len(pt.m[id]))
	for pid := range pt.m[id] {
		out = append(out, pid)
	}
	sort.Ints(out)
	return out
}
