package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
)

type env struct {
	t       *testing.T
	svc     *Service
	home    string // also XDG_DATA_HOME's parent
	sys     string // a system data dir
	docs    string // where CheckFile allows files
	recDir  string // where the recorder writes
	program string
}

// newEnv makes a data home and a system data dir, and a recorder program
// that writes its arguments (one per line) to recDir/<first arg>.
func newEnv(t *testing.T, allowed ...string) *env {
	t.Helper()
	base := t.TempDir()
	e := &env{t: t, home: filepath.Join(base, "home"), sys: filepath.Join(base, "usr", "share"),
		docs: filepath.Join(base, "home", "Documents"), recDir: filepath.Join(base, "rec")}
	for _, d := range []string{e.home, e.sys, e.docs, e.recDir, filepath.Join(base, "bin")} {
		os.MkdirAll(d, 0o755)
	}
	e.program = filepath.Join(base, "bin", "recorder")
	script := "#!/bin/sh\nout=" + e.recDir + "/$1\nshift\necho $$ > \"$out.pid\"\nprintf '%s\\n' \"$@\" > \"$out.tmp\" && mv \"$out.tmp\" \"$out\"\n" +
		"[ \"$SLEEP\" = 1 ] && exec sleep 300\nexit 0\n"
	if err := os.WriteFile(e.program, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e.svc = New(Config{
		AllowedApps: allowed,
		DataDirs:    []string{filepath.Join(e.home, ".local", "share"), e.sys},
		Env:         []string{"PATH=" + filepath.Join(base, "bin") + ":/usr/bin:/bin", "HOME=" + e.home, "CARAPACE_LOG=debug"},
		CheckFile: func(p string) error {
			if strings.HasPrefix(p, e.docs+"/") {
				return nil
			}
			return errors.New("outside the allowed folders")
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	return e
}

// install writes a desktop entry under dataDir/applications/rel.
func (e *env) install(dataDir, rel, body string) {
	p := filepath.Join(dataDir, "applications", rel)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) userData() string { return filepath.Join(e.home, ".local", "share") }

func entry(name, exec string) string {
	return "[Desktop Entry]\nType=Application\nName=" + name + "\nExec=" + exec + "\n"
}

func (e *env) call(method string, params any) (json.RawMessage, error) {
	b, _ := json.Marshal(params)
	res, err := e.svc.Methods()[method](context.Background(), &service.Call{Method: method, Params: b})
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

// recorded waits for the recorder run named tag and returns its args.
func (e *env) recorded(tag string) []string {
	e.t.Helper()
	p := filepath.Join(e.recDir, tag)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(p); err == nil {
			return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the app never ran (%s)", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wantErr(t *testing.T, what string, err error, kind errs.Kind, reason string) {
	t.Helper()
	if errs.KindOf(err) != kind || string(errs.ReasonOf(err)) != reason {
		t.Fatalf("%s: got %v, want kind %d reason %q", what, err, kind, reason)
	}
	if errs.HintOf(err) == "" {
		t.Errorf("%s: no hint", what)
	}
}

func TestOpenAllowedApp(t *testing.T) {
	e := newEnv(t, "Recorder")
	e.install(e.userData(), "recorder.desktop", entry("Recorder", e.program+" open1 %F"))
	doc := filepath.Join(e.docs, "a b.txt")
	raw, err := e.call("app.open", map[string]any{"app": "recorder", "files": []string{doc}})
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	json.Unmarshal(raw, &r)
	if r.App != "Recorder" || r.ID != "recorder.desktop" || len(r.PIDs) != 1 {
		t.Fatalf("result %s", raw)
	}
	if got := e.recorded("open1"); len(got) != 1 || got[0] != doc {
		t.Fatalf("args %q", got)
	}
}

// TestNoShell: an Exec line full of shell syntax runs its program with
// that syntax as plain arguments; nothing else runs.
func TestNoShell(t *testing.T) {
	e := newEnv(t, "Sneaky")
	pwned := filepath.Join(e.recDir, "pwned")
	e.install(e.sys, "sneaky.desktop", entry("Sneaky", e.program+" sneaky ; touch "+pwned+" && touch "+pwned+"2 | sh $(touch "+pwned+"3) `touch "+pwned+"4`"))
	if _, err := e.call("app.open", map[string]any{"app": "Sneaky"}); err != nil {
		t.Fatal(err)
	}
	got := e.recorded("sneaky")
	want := []string{";", "touch", pwned, "&&", "touch", pwned + "2", "|", "sh", "$(touch", pwned + "3)", "`touch", pwned + "4`"}
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("args %q\nwant %q", got, want)
	}
	for _, s := range []string{"", "2", "3", "4"} {
		if _, err := os.Stat(pwned + s); err == nil {
			t.Fatalf("%s was created: the Exec line went through a shell", pwned+s)
		}
	}
}

func TestNotAllowed(t *testing.T) {
	e := newEnv(t, "Recorder", "Gone App")
	e.install(e.sys, "recorder.desktop", entry("Recorder", e.program+" x"))
	e.install(e.sys, "other.desktop", entry("Other", e.program+" other"))
	e.install(e.sys, "look-alike.desktop", entry("Recorder Pro", e.program+" pro"))
	for _, app := range []string{"Other", "other.desktop", "other", "Recorder Pro", "look-alike", "Nonexistent", "/usr/bin/xterm", "recorder.desktop/../other.desktop"} {
		for _, m := range []string{"app.open", "app.activate", "app.quit"} {
			_, err := e.call(m, map[string]any{"app": app})
			wantErr(t, m+" "+app, err, errs.Forbidden, "app_not_allowed")
			if !strings.Contains(errs.HintOf(err), "services.app.allowed_apps") {
				t.Errorf("hint %q", errs.HintOf(err))
			}
		}
	}
	_, err := e.call("app.open", map[string]any{"app": "Gone App"})
	wantErr(t, "allowed, not installed", err, errs.NotFound, "app_not_installed")
	_, err = e.call("app.open", map[string]any{})
	wantErr(t, "no app", err, errs.InvalidParams, "missing_app")
	entries, _ := os.ReadDir(e.recDir)
	if len(entries) != 0 {
		t.Fatalf("something ran: %v", entries)
	}
}

func TestFiles(t *testing.T) {
	e := newEnv(t, "Recorder")
	e.install(e.sys, "recorder.desktop", entry("Recorder", e.program+" files %f"))
	for _, tc := range []struct {
		files  []string
		kind   errs.Kind
		reason string
	}{
		{[]string{filepath.Join(e.home, ".ssh", "id_ed25519")}, errs.Forbidden, "file_not_allowed"},
		{[]string{"Documents/a"}, errs.InvalidParams, "bad_file"},
		{[]string{"--remote-debugging-port=9"}, errs.InvalidParams, "bad_file"},
		{[]string{e.docs + "/../.ssh/x"}, errs.InvalidParams, "bad_file"},
		{make([]string, MaxFiles+1), errs.TooLarge, "too_many_files"},
	} {
		_, err := e.call("app.open", map[string]any{"app": "Recorder", "files": tc.files})
		wantErr(t, strings.Join(tc.files, ","), err, tc.kind, tc.reason)
	}
	e.svc.cfg.CheckFile = nil
	_, err := e.call("app.open", map[string]any{"app": "Recorder", "files": []string{e.docs + "/a"}})
	wantErr(t, "no file rules", err, errs.Forbidden, "files_not_allowed")

	e = newEnv(t, "NoFiles")
	e.install(e.sys, "nofiles.desktop", entry("NoFiles", e.program+" nofiles"))
	_, err = e.call("app.open", map[string]any{"app": "NoFiles", "files": []string{e.docs + "/a"}})
	wantErr(t, "entry without %f", err, errs.InvalidParams, "no_file_argument")
	if entries, _ := os.ReadDir(e.recDir); len(entries) != 0 {
		t.Fatalf("something ran: %v", entries)
	}
}

// TestEntryRules: the data home shadows system entries by id, Hidden
// removes one, a missing TryExec means not installed, ids of entries in
// subdirectories use '-', and Terminal apps are refused.
func TestEntryRules(t *testing.T) {
	e := newEnv(t, "Shadowed", "Removed", "NoTry", "vendor-tool", "Term")
	e.install(e.sys, "shadow.desktop", entry("Shadowed", e.program+" system"))
	e.install(e.userData(), "shadow.desktop", entry("Shadowed", e.program+" user"))
	e.install(e.sys, "removed.desktop", entry("Removed", e.program+" removed"))
	e.install(e.userData(), "removed.desktop", entry("Removed", e.program+" x")+"Hidden=true\n")
	e.install(e.sys, "notry.desktop", entry("NoTry", e.program+" notry")+"TryExec=/nonexistent/prog\n")
	e.install(e.sys, "vendor/tool.desktop", entry("Vendor Tool", e.program+" tool"))
	e.install(e.sys, "term.desktop", entry("Term", e.program+" term")+"Terminal=true\n")
	e.install(e.sys, "link.desktop", "[Desktop Entry]\nType=Link\nName=Shadowed\nURL=x\n")

	var l ListResult
	raw, err := e.call("app.list", nil)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &l)
	var names []string
	for _, a := range l.Apps {
		names = append(names, a.ID)
	}
	if strings.Join(names, ",") != "shadow.desktop,term.desktop,vendor-tool.desktop" || strings.Join(l.Missing, ",") != "Removed,NoTry" {
		t.Fatalf("list %s", raw)
	}
	if _, err := e.call("app.open", map[string]any{"app": "Shadowed"}); err != nil {
		t.Fatal(err)
	}
	e.recorded("user")
	if _, err := os.Stat(filepath.Join(e.recDir, "system")); err == nil {
		t.Fatal("the shadowed system entry ran")
	}
	_, err = e.call("app.open", map[string]any{"app": "Removed"})
	wantErr(t, "hidden", err, errs.NotFound, "app_not_installed")
	_, err = e.call("app.open", map[string]any{"app": "vendor-tool.desktop"})
	if err != nil {
		t.Fatal(err)
	}
	e.recorded("tool")
	_, err = e.call("app.open", map[string]any{"app": "Term"})
	wantErr(t, "terminal", err, errs.Failed, "terminal_app")
}

func TestActivateAndQuit(t *testing.T) {
	e := newEnv(t, "Sleeper")
	e.install(e.sys, "sleeper.desktop", entry("Sleeper", "env SLEEP=1 "+e.program+" sleeper"))
	_, err := e.call("app.quit", map[string]any{"app": "Sleeper"})
	wantErr(t, "quit before open", err, errs.NotFound, "not_started_by_carapace")

	var r Result
	raw, err := e.call("app.activate", map[string]any{"app": "Sleeper"})
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &r)
	if !r.Launched || len(r.PIDs) != 1 {
		t.Fatalf("first activate %s", raw)
	}
	e.recorded("sleeper")
	raw, _ = e.call("app.activate", map[string]any{"app": "Sleeper"})
	var again Result
	json.Unmarshal(raw, &again)
	if again.Launched || again.Raised == nil || *again.Raised || len(again.PIDs) != 1 || again.PIDs[0] != r.PIDs[0] {
		t.Fatalf("second activate %s", raw)
	}
	raw, _ = e.call("app.list", nil)
	if !strings.Contains(string(raw), `"running":true`) {
		t.Fatalf("list while running %s", raw)
	}
	b, _ := os.ReadFile(filepath.Join(e.recDir, "sleeper.pid"))
	sleeper, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if _, err := e.call("app.quit", map[string]any{"app": "Sleeper"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(e.svc.procs.pids("sleeper.desktop")) > 0 || syscall.Kill(sleeper, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("app still running after quit")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLaunchEnv(t *testing.T) {
	got := launchEnv([]string{"PATH=/p", "CARAPACE_LOG=x", "GIMME_SOCKET=y", "NOTIFY_SOCKET=z", "LISTEN_FDS=1", "DISPLAY=:0"})
	if strings.Join(got, " ") != "PATH=/p DISPLAY=:0" {
		t.Fatalf("%q", got)
	}
	dirs := dataDirs([]string{"XDG_DATA_DIRS=/a:rel:/b"}, "/h")
	if strings.Join(dirs, ":") != "/h/.local/share:/a:/b" {
		t.Fatalf("%q", dirs)
	}
}

// TestNative: with the platform hook set, the allowlist still decides
// and the hook does the work.
func TestNative(t *testing.T) {
	var did []string
	Native = &NativeApps{
		Find: func(name string) (string, string, bool) {
			switch name {
			case "Finder", "com.apple.finder":
				return "com.apple.finder", "Finder", true
			case "Terminal":
				return "com.apple.Terminal", "Terminal", true
			}
			return "", "", false
		},
		Open: func(id string, files []string) error {
			did = append(did, "open "+id+" "+strings.Join(files, ","))
			return nil
		},
		Activate: func(id string) error { did = append(did, "activate "+id); return nil },
		Quit:     func(id string) error { did = append(did, "quit "+id); return nil },
	}
	defer func() { Native = nil }()
	e := newEnv(t, "Finder", "Xcode")
	for _, m := range []string{"app.open", "app.activate", "app.quit"} {
		if _, err := e.call(m, map[string]any{"app": "com.apple.finder"}); err != nil {
			t.Fatal(err)
		}
		_, err := e.call(m, map[string]any{"app": "Terminal"})
		wantErr(t, m+" Terminal", err, errs.Forbidden, "app_not_allowed")
	}
	_, err := e.call("app.open", map[string]any{"app": "Xcode"})
	wantErr(t, "not installed", err, errs.NotFound, "app_not_installed")
	if strings.Join(did, "|") != "open com.apple.finder |activate com.apple.finder|quit com.apple.finder" {
		t.Fatalf("did %q", did)
	}
	raw, _ := e.call("app.list", nil)
	if string(raw) != `{"apps":[{"name":"Finder","id":"com.apple.finder","running":false}],"missing":["Xcode"]}` {
		t.Fatalf("list %s", raw)
	}
}
