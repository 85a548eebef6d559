// Package install plans and carries out installing Carapace on a Linux
// system with systemd: users, units, the owner's drop-ins and ACLs, and
// their removal. A Plan is data (files to write, commands to run), so
// `--dry-run` prints exactly what would happen and tests inspect it
// without touching the system.
package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Step is one action of a plan.
type Step struct {
	// Op is "write", "remove", "run" or "func".
	Op   string
	Path string // write, remove
	Mode fs.FileMode
	Data []byte   // write
	Argv []string // run
	// Why says what the step is for, in a few words.
	Why string
	// MayFail marks a step whose failure does not stop the plan
	// (stopping a unit that is not running, removing a user already gone).
	MayFail bool
	fn      func() error // func: work done in Go, described by Why
}

// Plan is an ordered list of steps.
type Plan []Step

func write(path string, mode fs.FileMode, data []byte, why string) Step {
	return Step{Op: "write", Path: path, Mode: mode, Data: data, Why: why}
}

func remove(path, why string) Step { return Step{Op: "remove", Path: path, Why: why, MayFail: true} }

func run(why string, argv ...string) Step { return Step{Op: "run", Argv: argv, Why: why} }

func try(why string, argv ...string) Step {
	return Step{Op: "run", Argv: argv, Why: why, MayFail: true}
}

// String renders the step as one line of a --dry-run listing.
func (s Step) String() string {
	switch s.Op {
	case "write":
		return fmt.Sprintf("write  %s (%04o, %d bytes): %s", s.Path, s.Mode, len(s.Data), s.Why)
	case "remove":
		return fmt.Sprintf("remove %s: %s", s.Path, s.Why)
	case "run":
		return fmt.Sprintf("run    %s: %s", shellQuote(s.Argv), s.Why)
	}
	return "do     " + s.Why
}

// Print writes every step, and with files set each written file's
// content, indented.
func (p Plan) Print(w io.Writer, files bool) {
	for _, s := range p {
		fmt.Fprintln(w, s)
		if files && s.Op == "write" {
			for _, l := range strings.Split(strings.TrimRight(string(s.Data), "\n"), "\n") {
				fmt.Fprintf(w, "    | %s\n", l)
			}
		}
	}
}

// Run carries out the plan, logging each step to w. A failing step stops
// the plan unless it may fail.
func (p Plan) Run(w io.Writer) error {
	for _, s := range p {
		fmt.Fprintln(w, s)
		err := s.do(w)
		if err != nil && s.MayFail {
			fmt.Fprintf(w, "    (ignored: %v)\n", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func (s Step) do(w io.Writer) error {
	switch s.Op {
	case "write":
		return writeFile(s.Path, s.Mode, s.Data)
	case "remove":
		err := os.RemoveAll(s.Path)
		return err
	case "run":
		cmd := exec.Command(s.Argv[0], s.Argv[1:]...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err != nil && out.Len() > 0 {
			return fmt.Errorf("%w: %s", err, strings.TrimSpace(out.String()))
		}
		return err
	case "func":
		return s.fn()
	}
	return fmt.Errorf("unknown step %q", s.Op)
}

// writeFile writes data atomically (temp file, fsync, rename) with mode,
// and leaves a file that already has that content and mode alone.
func writeFile(path string, mode fs.FileMode, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == mode {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	err = errors.Join(err, f.Chmod(mode), f.Sync(), f.Close())
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// shellQuote renders argv as a shell command line a person can paste.
func shellQuote(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`;&|<>*?()[]{}!#~") {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
