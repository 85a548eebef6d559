package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

// shellRuns is how many times each command of shellBench runs,
// interleaved.
const shellRuns = 10

// shellBench times `true` sandboxed as a person runs it from a shell,
// each a whole process, start included: `carapace exec -- true` (the CLI,
// its token, code.execute through the router, the sandbox), the
// sandbox-runtime's `srt true` (npm @anthropic-ai/sandbox-runtime), and
// bwrap. It prints the medians and the ratio of carapace to srt.
func shellBench(carapace, routerSock, project string) error {
	srt, err := sandboxRuntime()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: srt skipped: %v\n", err)
	}
	carapace, err = filepath.Abs(carapace)
	if err != nil {
		return err
	}
	env := []string{"GIMME_SOCKET=" + routerSock, "HOME=" + filepath.Dir(filepath.Dir(project)), "PATH=/usr/local/bin:/usr/bin:/bin"}
	dir := filepath.Join(project, "no-git")
	os.MkdirAll(dir, 0o755)
	cases := []struct {
		name string
		argv []string
	}{
		{"carapace exec -- true", []string{carapace, "exec", "--cwd", dir, "--", "true"}},
		{"srt true (@anthropic-ai/sandbox-runtime)", []string{srt, "true"}},
		{"bwrap --ro-bind / / --unshare-all true", bwrapArgv},
	}
	times := make([][]time.Duration, len(cases))
	for r := 0; r < shellRuns; r++ {
		for i, c := range cases {
			if c.argv[0] == "" {
				continue
			}
			cmd := exec.Command(c.argv[0], c.argv[1:]...)
			cmd.Env, cmd.Dir = env, dir
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			t0 := time.Now()
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s: %w: %s", c.name, err, lastLines(out.String(), 3))
			}
			times[i] = append(times[i], time.Since(t0))
		}
	}
	med := func(ts []time.Duration) time.Duration {
		if len(ts) == 0 {
			return 0
		}
		sort.Slice(ts, func(a, b int) bool { return ts[a] < ts[b] })
		return ts[len(ts)/2]
	}
	fmt.Println()
	fmt.Printf("| `true` from a shell, process start included | median of %d |\n|---|---|\n", shellRuns)
	for i, c := range cases {
		if m := med(times[i]); m > 0 {
			fmt.Printf("| %s | %.1f ms |\n", c.name, float64(m)/1e6)
		} else {
			fmt.Printf("| %s | skipped |\n", c.name)
		}
	}
	if a, b := med(times[0]), med(times[1]); b > 0 {
		fmt.Printf("carapace exec / srt: %.2f (reported)\n", a.Seconds()/b.Seconds())
	}
	return nil
}

// sandboxRuntime returns the srt binary: $SRT, srt on PATH, or one npm
// installs into the user's cache directory (once).
func sandboxRuntime() (string, error) {
	if p := os.Getenv("SRT"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("srt"); err == nil {
		return p, nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", errors.New("no srt and no npm to install @anthropic-ai/sandbox-runtime with")
	}
	if _, err := exec.LookPath("rg"); err != nil {
		return "", errors.New("srt needs ripgrep (rg): apt-get install ripgrep")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "carapace-bench", "srt")
	bin := filepath.Join(dir, "node_modules", ".bin", "srt")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	os.MkdirAll(dir, 0o755)
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "@anthropic-ai/sandbox-runtime")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm install @anthropic-ai/sandbox-runtime: %w: %s", err, lastLines(out.String(), 3))
	}
	return bin, nil
}
