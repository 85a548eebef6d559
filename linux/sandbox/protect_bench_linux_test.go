//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/autorun"
)

// BenchmarkStartProtectedRepos measures what the read-only mounts cost
// when the working directory holds many repositories: /bin/true in a
// project with one repository (2 mounts) and with 40 (each .git's hooks
// and config, and an .envrc: 120 mounts), as core/autorun.Find lists
// them for the code service:
//
//	go test ./linux/sandbox -run '^$' -bench StartProtectedRepos -benchtime 100x
func BenchmarkStartProtectedRepos(b *testing.B) {
	one := newBox(b)
	many := newBox(b)
	for r := 0; r < 40; r++ {
		repo := filepath.Join(many.project, fmt.Sprintf("proj%d", r))
		must(b, os.MkdirAll(filepath.Join(repo, ".git", "hooks"), 0o755))
		must(b, os.WriteFile(filepath.Join(repo, ".git", "config"), []byte("[core]\n"), 0o644))
		must(b, os.WriteFile(filepath.Join(repo, ".envrc"), nil, 0o644))
	}
	for _, bx := range []*box{one, many} {
		f, err := autorun.Find(bx.project)
		must(b, err)
		bx.spec.Protected = f.Protect
	}
	b.Logf("protected paths: %d and %d", len(one.spec.Protected), len(many.spec.Protected))
	var t1, t40 time.Duration
	for i := 0; i < b.N; i++ {
		for _, c := range []struct {
			bx *box
			t  *time.Duration
		}{{one, &t1}, {many, &t40}} {
			start := time.Now()
			if out, err := c.bx.command("/bin/true").CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
			*c.t += time.Since(start)
		}
	}
	b.ReportMetric(float64(t1.Nanoseconds())/float64(b.N), "1repo_ns")
	b.ReportMetric(float64(t40.Nanoseconds())/float64(b.N), "40repos_ns")
}
