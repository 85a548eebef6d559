package main

// carapace mcp driven by the official TypeScript SDK's client
// (@modelcontextprotocol/sdk from npm) over stdio and streamable HTTP, and
// the benchmark against the reference filesystem server (make bench-mcp).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/client"
)

// tsSDK is the TypeScript SDK the tests install, pinned.
const tsSDK = "@modelcontextprotocol/sdk@1.32.2"

// installTS installs the TypeScript SDK and the reference server once per
// machine (in the temporary directory) with the test's client script
// beside them, and returns that directory; it skips the test when node,
// npm or the registry is missing.
func installTS(t *testing.T) string {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed: the TypeScript client tests need node and npm (" + tsSDK + ")")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the TypeScript client tests need it")
	}
	dir := filepath.Join(os.TempDir(), "carapace-mcp-ts")
	marker := filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js")
	if _, err := os.Stat(marker); err != nil {
		os.MkdirAll(dir, 0o755)
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "install", "--prefix", dir, "--no-audit", "--no-fund", tsSDK, referenceServer)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("npm install %s %s failed (no registry here?): %v\n%s", tsSDK, referenceServer, err, out)
		}
	}
	script, err := os.ReadFile(filepath.Join("testdata", "mcp-ts-client.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "client.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runTS runs the TypeScript client with cfg and decodes what it prints.
func runTS(t *testing.T, dir string, cfg map[string]any, out any) {
	t.Helper()
	arg, _ := json.Marshal(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "client.mjs"), string(arg))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("TypeScript client: %v\n%s\n%s", err, b, stderr.String())
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("TypeScript client printed %q: %v\n%s", b, err, stderr.String())
	}
}

type tsCheck struct {
	Server string
	Tools  []string
	Read   struct {
		Text    string
		IsError bool
	}
	Refused struct {
		Text    string
		IsError bool
	}
	Unknown string
}

// TestMCPTypeScriptClient: the official TypeScript SDK's client, over
// stdio and over streamable HTTP: initialize, the tool list, a read, a
// refusal as isError, an unknown tool as a protocol error.
func TestMCPTypeScriptClient(t *testing.T) {
	dir := installTS(t)
	addr := freePort(t)
	d := startDevWith(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n",
		"websocket: {listen: \""+addr+"\"}\n", nil, func(home string) {
			os.WriteFile(filepath.Join(home, "Docs", "a.txt"), []byte("from typescript"), 0o644)
		})
	tok := issue(t, d, "file", "GET:~/Docs/*")
	read := filepath.Join(d.home, "Docs", "a.txt")
	for name, transport := range map[string]map[string]any{
		"stdio": {"stdio": map[string]any{"command": binPath, "args": []string{"mcp", "--token", tok},
			"env": map[string]string{"HOME": d.home, "GIMME_SOCKET": d.socket, "PATH": "/usr/bin:/bin"}}},
		"http": {"http": map[string]any{"url": "http://" + addr + "/mcp", "token": tok}},
	} {
		cfg := map[string]any{"mode": "check", "read": read, "refused": "/etc/passwd"}
		for k, v := range transport {
			cfg[k] = v
		}
		var got tsCheck
		runTS(t, dir, cfg, &got)
		if got.Server != "carapace" || !slices.Equal(got.Tools, referenceFileTools) {
			t.Errorf("%s: server %q tools %v", name, got.Server, got.Tools)
		}
		if got.Read.IsError || got.Read.Text != "from typescript" {
			t.Errorf("%s: read %+v", name, got.Read)
		}
		if !got.Refused.IsError || !strings.Contains(got.Refused.Text, "scope") || !strings.Contains(got.Refused.Text, "hint:") {
			t.Errorf("%s: refusal %+v", name, got.Refused)
		}
		if got.Unknown != "-32602" {
			t.Errorf("%s: unknown tool: %q", name, got.Unknown)
		}
	}
}

type tsBench struct {
	N      int
	Errors int
	P50    float64 `json:"p50_us"`
	P99    float64 `json:"p99_us"`
	PerSec float64 `json:"per_sec"`
}

// TestMCPBenchmark is `make bench-mcp` (set CARAPACE_MCP_BENCH=1): the
// TypeScript SDK's client reads a 4 KiB file from the reference
// filesystem server and from carapace mcp (stdio and /mcp), and the
// router's file.read alone is timed from Go. The servers take turns in
// rounds (CARAPACE_MCP_BENCH_ROUNDS, default 5; the order rotates each
// round) so that a machine whose load changes treats them alike, and each
// figure is the median over the rounds. CARAPACE_MCP_BENCH_BASE names
// other carapace binaries (separated by commas) to run as further stdio
// servers against the same router: an A/B of builds of carapace mcp in
// one run;
// CARAPACE_MCP_BENCH_ONLY=HTTP (a part of a name) runs only those servers,
// to profile one path.
func TestMCPBenchmark(t *testing.T) {
	if os.Getenv("CARAPACE_MCP_BENCH") == "" {
		t.Skip("set CARAPACE_MCP_BENCH=1 (make bench-mcp) to run the MCP benchmark")
	}
	n, rounds := 2000, 5
	if v, err := strconv.Atoi(os.Getenv("CARAPACE_MCP_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	if v, err := strconv.Atoi(os.Getenv("CARAPACE_MCP_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	dir := installTS(t)
	addr := freePort(t)
	d := startDevWith(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n",
		// The rate limits out of the way: a benchmark calls flat out.
		"websocket: {listen: \""+addr+"\"}\nrate_limits: {per_uid: -1, per_subject: -1, conns_per_second: -1}\n", nil, nil)
	content := bytes.Repeat([]byte("0123456789abcde\n"), 256) // 4 KiB
	file := filepath.Join(d.home, "Docs", "bench.txt")
	os.WriteFile(file, content, 0o644)
	refDir := t.TempDir()
	refFile := filepath.Join(refDir, "bench.txt")
	os.WriteFile(refFile, content, 0o644)
	tok := issue(t, d, "file", "GET:~/Docs/*")
	carEnv := map[string]string{"HOME": d.home, "GIMME_SOCKET": d.socket, "PATH": "/usr/bin:/bin"}
	type server struct {
		name, path string
		tr         map[string]any
	}
	servers := []server{
		{"reference server-filesystem", refFile, map[string]any{"stdio": map[string]any{"command": "node",
			"args": []string{filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js"), refDir}}}},
		{"carapace mcp (stdio)", file, map[string]any{"stdio": map[string]any{"command": binPath, "args": []string{"mcp", "--token", tok}, "env": carEnv}}},
		{"carapace /mcp (HTTP)", file, map[string]any{"http": map[string]any{"url": "http://" + addr + "/mcp", "token": tok}}},
	}
	for _, base := range strings.Split(os.Getenv("CARAPACE_MCP_BENCH_BASE"), ",") {
		if base != "" {
			servers = append(servers, server{"carapace mcp (stdio) of " + base, file,
				map[string]any{"stdio": map[string]any{"command": base, "args": []string{"mcp", "--token", tok}, "env": carEnv}}})
		}
	}
	if only := os.Getenv("CARAPACE_MCP_BENCH_ONLY"); only != "" { // for profiling one path
		servers = slices.DeleteFunc(servers, func(s server) bool { return !strings.Contains(s.name, only) })
	}
	const routerAlone = "router file.read alone"

	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("MCP benchmark: read_text_file of a 4 KiB file, %d calls, %d rounds (medians), TypeScript SDK client (%s); load average %s\n",
		n, rounds, tsSDK, strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Printf("%-64s %12s %12s %12s\n", "", "p50", "p99", "calls/s")
	for _, c := range []int{1, 16} {
		runs := map[string][]tsBench{}
		for r := 0; r < rounds; r++ {
			for i := range servers {
				s := servers[(i+r)%len(servers)]
				cfg := map[string]any{"mode": "bench", "path": s.path, "n": n, "concurrency": c}
				for k, v := range s.tr {
					cfg[k] = v
				}
				var b tsBench
				runTS(t, dir, cfg, &b)
				if b.Errors > 0 || b.N != n {
					t.Errorf("%s: %d of %d calls failed", s.name, b.Errors, b.N)
				}
				runs[s.name] = append(runs[s.name], b)
			}
			runs[routerAlone] = append(runs[routerAlone], routerRead(t, d.socket, tok, file, n, c))
		}
		med := map[string]tsBench{}
		for name, bs := range runs {
			med[name] = medianBench(bs)
		}
		for _, s := range servers {
			m := med[s.name]
			fmt.Printf("%-64s %10.0fµs %10.0fµs %12.0f\n", fmt.Sprintf("%s, %d at once", s.name, c), m.P50, m.P99, m.PerSec)
		}
		rt := med[routerAlone]
		fmt.Printf("%-64s %10.0fµs %10.0fµs %12.0f\n", fmt.Sprintf("%s, %d at once", routerAlone, c), rt.P50, rt.P99, rt.PerSec)
		ref, ok := med["reference server-filesystem"]
		for _, s := range servers {
			if m := med[s.name]; ok && s.path != refFile {
				fmt.Printf("  %s / reference: p50 %.2f× (target ≤ 1.00×), throughput %.2f× (target ≥ 1.00×); adds %.0fµs to the router call's p50\n",
					s.name, m.P50/ref.P50, m.PerSec/ref.PerSec, m.P50-rt.P50)
			}
		}
	}
}

// medianBench is the median of each figure over rounds.
func medianBench(bs []tsBench) tsBench {
	pick := func(f func(tsBench) float64) float64 {
		v := make([]float64, len(bs))
		for i, b := range bs {
			v[i] = f(b)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	return tsBench{N: bs[0].N,
		P50:    pick(func(b tsBench) float64 { return b.P50 }),
		P99:    pick(func(b tsBench) float64 { return b.P99 }),
		PerSec: pick(func(b tsBench) float64 { return b.PerSec })}
}

// routerRead times file.read of path through the router over its socket,
// as carapace mcp calls it: n calls, c at once, one connection.
func routerRead(t *testing.T, socket, tok, path string, n, c int) tsBench {
	t.Helper()
	ctx := context.Background()
	cl, err := client.Dial(ctx, socket)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Call(ctx, "auth", map[string]string{"token": tok}, nil); err != nil {
		t.Fatal(err)
	}
	params := map[string]any{"path": path, "offset": 0, "length": 1 << 20}
	for i := 0; i < 50; i++ {
		cl.Call(ctx, "file.read", params, nil)
	}
	var mu sync.Mutex
	var lat []float64
	var wg sync.WaitGroup
	next := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		next <- struct{}{}
	}
	close(next)
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				t0 := time.Now()
				var res json.RawMessage
				if err := cl.Call(ctx, "file.read", params, &res); err != nil {
					t.Error(err)
					return
				}
				us := float64(time.Since(t0).Microseconds())
				mu.Lock()
				lat = append(lat, us)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	sort.Float64s(lat)
	return tsBench{N: len(lat), P50: lat[len(lat)/2], P99: lat[len(lat)*99/100], PerSec: float64(len(lat)) / secs}
}
