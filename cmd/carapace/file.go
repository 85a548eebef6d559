package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
)

// fileFlags are every flag of the file subcommands. The noun's own flag
// set holds all of them too, bound to the same variables, so a flag typed
// after the arguments (`carapace file read X --json`, which intersperse
// moves in front of the verb) still reaches the verb; fileCmd refuses one
// the verb does not take.
type fileFlags struct {
	clientFlags
	verbose   bool
	out       string // read: -o
	chunks    bool   // read: --chunks
	from      string // write: --from
	mode      string // write: --mode
	sync      bool   // write: --sync
	glob      string // ls, find: --glob
	limit     int    // find: --limit
	parents   bool   // mkdir: -p
	replace   bool   // mv: --replace
	recursive bool   // rm: -r
}

// fileVerb describes one file subcommand.
type fileVerb struct {
	name, usage, help string
	flags             []string // the verb's own flags, besides the client flags
	exec              func(ctx context.Context, f *fileFlags, args []string) error
}

var fileVerbs = []fileVerb{
	fileReadVerb, fileWriteVerb, fileLsVerb, fileStatVerb,
	fileMkdirVerb, fileMvVerb, fileRmVerb, fileFindVerb,
}

// register adds the flags named in names (all of them for nil) to fs.
func (f *fileFlags) register(fs *flag.FlagSet, names []string) {
	f.clientFlags.register(fs)
	f.registerConfig(fs)
	fs.BoolVar(&f.verbose, "v", false, "say on stderr how the transfer went")
	all := map[string]func(){
		"o": func() { fs.StringVar(&f.out, "o", "-", "write the file's content here (- for stdout)") },
		"chunks": func() {
			fs.BoolVar(&f.chunks, "chunks", false, "move the content in JSON chunks (file.read, file.write) even where the descriptor hand-off works")
		},
		"from": func() { fs.StringVar(&f.from, "from", "", "read the content from this local file instead of stdin") },
		"mode": func() { fs.StringVar(&f.mode, "mode", "create", "create (fail if it exists), overwrite or append") },
		"sync": func() {
			fs.BoolVar(&f.sync, "sync", false, "flush a new file to the disk before it gets its name (a file replaced is always flushed first)")
		},
		"glob":    func() { fs.StringVar(&f.glob, "glob", "", "only names matching this pattern (path.Match)") },
		"limit":   func() { fs.IntVar(&f.limit, "limit", 0, "at most this many matches (default: the service's, 100)") },
		"p":       func() { fs.BoolVar(&f.parents, "p", false, "make missing parent directories too") },
		"replace": func() { fs.BoolVar(&f.replace, "replace", false, "replace the destination if it exists") },
		"r":       func() { fs.BoolVar(&f.recursive, "r", false, "delete a directory and everything in it") },
	}
	if names == nil {
		for _, reg := range all {
			reg()
		}
		return
	}
	for _, n := range names {
		all[n]()
	}
}

func fileCmd() *ffcli.Command {
	f := &fileFlags{}
	nounFS := flag.NewFlagSet("carapace file", flag.ContinueOnError)
	f.register(nounFS, nil)
	var subs []*ffcli.Command
	for _, v := range fileVerbs {
		fs := flag.NewFlagSet("carapace file "+v.name, flag.ContinueOnError)
		f.register(fs, v.flags)
		subs = append(subs, &ffcli.Command{
			Name: v.name, ShortUsage: v.usage, ShortHelp: v.help, FlagSet: fs,
			Exec: func(ctx context.Context, args []string) error {
				if err := onlyOwnFlags(nounFS, fs, v.name); err != nil {
					return err
				}
				return v.exec(ctx, f, args)
			},
		})
	}
	return &ffcli.Command{
		Name:        "file",
		ShortUsage:  "carapace file read|write|ls|stat|mkdir|mv|rm|find [flags] PATH...",
		ShortHelp:   "work with files in the allowed folders, through the file service",
		FlagSet:     nounFS,
		Subcommands: subs,
	}
}

// onlyOwnFlags refuses a flag given to the noun that the verb does not take.
func onlyOwnFlags(noun, verb *flag.FlagSet, name string) error {
	var bad string
	noun.Visit(func(fl *flag.Flag) {
		if verb.Lookup(fl.Name) == nil && bad == "" {
			bad = fl.Name
		}
	})
	if bad != "" {
		return usage("run `carapace file "+name+" --help` for its flags", "file %s does not take %s", name, flagWord(bad))
	}
	return nil
}

// remotePath makes a path the service accepts: absolute or ~/…, as typed;
// a relative one is taken relative to the current directory.
func remotePath(p string) (string, error) {
	if p == "" {
		return "", usage("give a path, e.g. ~/Documents/a.txt", "empty path")
	}
	if p == "~" || strings.HasPrefix(p, "~/") || filepath.IsAbs(p) {
		return path.Clean(p), nil
	}
	return filepath.Abs(p)
}

// fileArgs checks the number of positional arguments.
func fileArgs(verb string, args []string, min, max int, example string) error {
	if len(args) < min || len(args) > max {
		return usage("for example: "+example, "file %s takes %s", verb, plural(min, max))
	}
	return nil
}

func plural(min, max int) string {
	switch {
	case min == max && min == 1:
		return "one path"
	case min == max:
		return fmt.Sprintf("%d paths", min)
	}
	return fmt.Sprintf("%d to %d arguments", min, max)
}

// fileCall dials (with the owner's self-minted token for scopes when no
// token was given), calls method, and closes.
func (f *fileFlags) fileCall(ctx context.Context, method string, params, result any, scopes ...string) error {
	ctx, cancel := f.context(ctx)
	defer cancel()
	c, err := f.dialFile(ctx, scopes...)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Call(ctx, method, params, result); err != nil {
		return cliHint(method, relabel(errs.E(method, err), method))
	}
	return nil
}

// relabel names the CLI verb in an error instead of the method.
func relabel(err error, method string) error {
	var e *errs.Error
	if errors.As(err, &e) && e.Op == method {
		cp := *e
		cp.Op = "file " + strings.TrimPrefix(method, "file.")
		return &cp
	}
	return err
}

// isTerminal reports whether f is a character device (a terminal, or
// /dev/null, where a progress line does no harm).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress prints a transfer's progress on stderr, at most a few times a
// second, when stderr is a terminal and the transfer is large.
type progress struct {
	verb  string
	total int64 // 0 when unknown
	done  int64
	start time.Time
	last  time.Time
	on    bool
}

const progressMin = 16 << 20 // transfers smaller than this stay quiet

func newProgress(verb string, total int64) *progress {
	return &progress{verb: verb, total: total, start: time.Now(), on: isTerminal(os.Stderr)}
}

func (p *progress) add(n int) {
	p.done += int64(n)
	if !p.on || p.done < progressMin || time.Since(p.last) < 250*time.Millisecond {
		return
	}
	p.last = time.Now()
	rate := float64(p.done) / time.Since(p.start).Seconds() / (1 << 20)
	if p.total > 0 {
		fmt.Fprintf(os.Stderr, "\r%s %s of %s (%d%%, %.0f MiB/s) ", p.verb, mib(p.done), mib(p.total), p.done*100/p.total, rate)
	} else {
		fmt.Fprintf(os.Stderr, "\r%s %s (%.0f MiB/s) ", p.verb, mib(p.done), rate)
	}
}

func (p *progress) finish() {
	if p.on && !p.last.IsZero() {
		fmt.Fprintln(os.Stderr)
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// countingWriter reports each write to a progress.
type countingWriter struct {
	w io.Writer
	p *progress
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.p.add(n)
	return n, err
}

// dialFile connects and, for the owner without a token, mints a
// one-minute file token for exactly scopes ("VERB:path" entries).
func (f *fileFlags) dialFile(ctx context.Context, scopes ...string) (*client.Client, error) {
	c, err := f.dial(ctx)
	if err != nil {
		return nil, err
	}
	if len(scopes) > 0 {
		if err := f.selfMint(ctx, c, "file", "file", scopes, false); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// under is the scope entry for p and everything below it.
func under(verb, p string) string { return verb + ":" + strings.TrimSuffix(p, "/") + "/*" }
