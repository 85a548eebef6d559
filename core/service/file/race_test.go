//go:build linux || darwin || freebsd || netbsd || openbsd

package file

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gimme-tools/carapace/core/fsafe"
)

// TestSwapRace swaps ~/Documents/race between a real directory and a link to
// a directory outside, and ~/Documents/racefile between a file and a link to
// a secret outside, in a tight loop, while reads and writes go through
// those names. No read may return a secret and no write may land outside.
func TestSwapRace(t *testing.T) {
	iters := 1500
	if testing.Short() {
		iters = 300
	}
	for _, walk := range []bool{false, true} {
		t.Run(map[bool]string{false: "fast", true: "walk"}[walk], func(t *testing.T) {
			defer fsafe.ForceWalk(walk)()
			e := newEnv(t)
			must(t, os.Mkdir(e.docs+"/rd", 0o755))
			must(t, os.WriteFile(e.docs+"/rd/inner.txt", []byte("inside\n"), 0o644))
			must(t, os.Symlink(e.outside+"/dir", e.docs+"/rl"))
			must(t, os.WriteFile(e.docs+"/rf", []byte("inside\n"), 0o644))
			must(t, os.Symlink(e.outside+"/secret.txt", e.docs+"/rfl"))
			before := e.protected()

			var stop atomic.Bool
			var wg, attacker sync.WaitGroup
			attacker.Add(1)
			go func() {
				defer attacker.Done()
				d := e.docs + "/"
				for !stop.Load() {
					os.Rename(d+"rd", d+"race")
					os.Rename(d+"race", d+"rd")
					os.Rename(d+"rl", d+"race")
					os.Rename(d+"race", d+"rl")
					os.Rename(d+"rf", d+"racefile")
					os.Rename(d+"racefile", d+"rf")
					os.Rename(d+"rfl", d+"racefile")
					os.Rename(d+"racefile", d+"rfl")
				}
			}()
			var reads, refused atomic.Int64
			work := func(f func(i int)) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range iters {
						f(i)
					}
				}()
			}
			read := func(path string) {
				out, err := e.do("file.read", map[string]any{"path": path})
				if strings.Contains(string(out), "SECRET") {
					t.Errorf("read %s leaked: %s", path, out)
				}
				if err == nil {
					reads.Add(1)
				} else {
					refused.Add(1)
				}
			}
			work(func(int) { read("~/Documents/race/inner.txt") })
			work(func(int) { read("~/Documents/racefile") })
			work(func(int) {
				e.do("file.write", map[string]any{"path": "~/Documents/race/new.txt", "content": "PWNED", "mode": "overwrite"})
			})
			work(func(int) {
				e.do("file.write", map[string]any{"path": "~/Documents/racefile", "content": "x", "mode": "append"})
			})
			work(func(int) { e.do("file.list", map[string]any{"path": "~/Documents/race"}) })
			wg.Wait()
			stop.Store(true)
			attacker.Wait()
			if e.protected() != before {
				t.Error("a write landed outside the folder")
			}
			if _, err := os.Stat(e.outside + "/dir/new.txt"); err == nil {
				t.Error("outside/dir/new.txt was created")
			}
			t.Logf("%d reads succeeded, %d refused or missed", reads.Load(), refused.Load())
		})
	}
}
