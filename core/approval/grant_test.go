package approval

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

func TestWithinAndDefaultPrefix(t *testing.T) {
	for _, c := range []struct {
		dir, root string
		want      bool
	}{{"/p/demo", "/p/demo", true}, {"/p/demo/sub", "/p/demo", true}, {"/p/demo2", "/p/demo", false},
		{"/p", "/p/demo", false}, {"/p/demo/../x", "/p/demo", false}, {"/p/demo", "", false}} {
		if got := within(filepath.Clean(c.dir), c.root); got != c.want {
			t.Errorf("within(%s, %s) = %v", c.dir, c.root, got)
		}
	}
	for argv, want := range map[string]int{"git status": 2, "git": 1, "ls -la": 1, "cat README.md": 1, "npm install x": 2, "go test ./...": 2, "make": 1} {
		words := strings.Fields(argv)
		if got := DefaultPrefix(words); got != want {
			t.Errorf("%q: %d, want %d", argv, got, want)
		}
	}
}

// TestGrantsSurviveAndExpire: a timed grant persists across Open, covers
// until its time, and is gone after it; Revoke asks again.
func TestGrantsSurviveAndExpire(t *testing.T) {
	file := filepath.Join(t.TempDir(), "g.json")
	q, clk, notes := newQueue(t, Options{GrantsFile: file})
	r := req("go test ./...")
	r.Argv = [][]string{{"go", "test", "./..."}}
	r.Caller.Agent, r.Caller.Aud = "claude", "shell.local.gimme.tools"
	res := ask(q, context.Background(), r)
	p := <-notes
	gs, err := q.DecideWith(p.ID, Decision{Allow: true, Scope: ForTime, For: time.Hour})
	if err != nil || len(gs) != 1 || gs[0].Until != clk.Now().Add(time.Hour) {
		t.Fatalf("decide: %+v %v", gs, err)
	}
	<-res
	q2, err := Open(Options{GrantsFile: file, Now: clk.Now, Log: q.opts.Log})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := q2.Covered(r); !ok {
		t.Fatal("not covered after reopen")
	}
	clk.Add(time.Hour)
	if _, ok := q2.Covered(r); ok {
		t.Fatal("covered after its time")
	}
	if _, err := q2.Revoke(gs[0].ID); errs.ReasonOf(err) != "no_such_grant" {
		t.Fatalf("revoke an expired grant: %v", err)
	}
	// A denial with a scope is refused: a no is never remembered.
	res = ask(q, context.Background(), r)
	p = <-notes
	if _, err := q.DecideWith(p.ID, Decision{Allow: false, Scope: Always}); errs.ReasonOf(err) != "bad_scope" {
		t.Fatalf("remembered denial: %v", err)
	}
	q.DecideWith(p.ID, Decision{})
	<-res
}
