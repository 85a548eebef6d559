package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/gimme-tools/carapace/core/approval"
	"github.com/gimme-tools/carapace/core/service/shell"
)

// watchKeys are the keys of the interactive list, one per decision.
var watchKeys = []struct {
	key   byte
	label string
	scope string // "" for a denial
	allow bool
}{
	{'o', "allow once", "once", true},
	{'t', "for this agent's token", "token", true},
	{'m', "for 10 minutes", "10m", true},
	{'a', "always", "always", true},
	{'d', "deny", "", false},
}

// watchTerminal is `carapace approvals --watch` on a terminal: the
// waiting requests as a list, ↑/↓ (or k/j) to choose one, a key per
// decision, q to quit. The terminal is in raw mode while it runs and is
// restored on every way out.
func watchTerminal(ctx context.Context, f *clientFlags, in *os.File, out io.Writer) error {
	old, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return err
	}
	defer term.Restore(int(in.Fd()), old)
	keys := make(chan []byte, 8)
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := in.Read(buf)
			if err != nil {
				close(keys)
				return
			}
			keys <- append([]byte(nil), buf[:n]...)
		}
	}()
	w := &watcher{f: f, out: out}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := w.refresh(ctx); err != nil {
			return err
		}
		w.draw()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case k, ok := <-keys:
			if !ok || w.key(ctx, k) {
				fmt.Fprint(out, "\r\n")
				return nil
			}
		}
	}
}

type watcher struct {
	f       *clientFlags
	out     io.Writer
	pending []approval.Pending
	sel     int
	status  string
}

func (w *watcher) refresh(ctx context.Context) error {
	var res shell.ListResult
	if err := approvalsCall(ctx, w.f, "list", nil, &res); err != nil {
		return err
	}
	w.pending = res.Pending
	w.sel = min(w.sel, max(len(w.pending)-1, 0))
	return nil
}

// key handles one read of input; it reports whether to quit.
func (w *watcher) key(ctx context.Context, k []byte) bool {
	switch s := string(k); {
	case s == "q" || s == "\x03" || s == "\x04":
		return true
	case s == "\x1b[A" || s == "\x1bOA" || s == "k":
		w.sel = max(w.sel-1, 0)
		return false
	case s == "\x1b[B" || s == "\x1bOB" || s == "j":
		w.sel = min(w.sel+1, max(len(w.pending)-1, 0))
		return false
	}
	if len(k) != 1 || len(w.pending) == 0 {
		return false
	}
	for _, wk := range watchKeys {
		if wk.key == k[0] {
			w.decide(ctx, w.pending[w.sel], wk.allow, wk.scope, wk.label)
		}
	}
	return false
}

func (w *watcher) decide(ctx context.Context, p approval.Pending, allow bool, scope, label string) {
	params := map[string]any{"id": p.ID, "allow": allow, "channel": "terminal"}
	if allow && scope != "once" {
		params["scope"] = scope
	}
	var res shell.DecideResult
	if err := approvalsCall(ctx, w.f, "decide", params, &res); err != nil {
		w.status = "not decided: " + oneLine(err.Error())
		return
	}
	w.status = p.ID + ": " + label
	if res.Covers != "" {
		w.status += " — remembered: " + oneLine(res.Covers)
	}
	w.refresh(ctx)
}

// draw repaints the screen: the list, the chosen request's details, the
// keys, the last decision.
func (w *watcher) draw() {
	var b strings.Builder
	b.WriteString("\x1b[H\x1b[2J")
	line := func(s string) { b.WriteString(s + "\r\n") }
	line("carapace: shell commands waiting for you (↑/↓ choose · q quit)")
	if len(w.pending) == 0 {
		line("  none waiting")
	}
	for i, p := range w.pending {
		mark := "  "
		if i == w.sel {
			mark = "> "
		}
		line(fmt.Sprintf("%s%s  %s  in %s: %s", mark, p.ID, who(p.Caller), oneLine(p.Cwd), cut(oneLine(p.Command), 120)))
	}
	if len(w.pending) > 0 {
		line("")
		line("  " + rememberNote(w.pending[w.sel]))
		var ks []string
		for _, wk := range watchKeys {
			ks = append(ks, fmt.Sprintf("%c %s", wk.key, wk.label))
		}
		line("  " + strings.Join(ks, " · "))
	}
	if w.status != "" {
		line("")
		line(w.status)
	}
	io.WriteString(w.out, b.String())
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
