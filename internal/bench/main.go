// Command bench measures Carapace's request path against baselines taken in
// the same run on the same machine, and prints ratios:
//
//	(a) raw Unix-socket line echo             — the floor
//	(b) client → proxy → JSON server, two processes, one back-end
//	    connection per client                   — the floor for any router
//	(c) echo answered by the router (carapace dev)
//	(d) file.echo forwarded router → file service process
//	    ((d3): code.echo, to the code service)
//	(e) the same JSON echo served by creachadair/jrpc2 vs core/rpcserver,
//	    each in its own process            — the framing decision
//	(f) reading a 100 MiB file with `carapace file read` (descriptor
//	    and chunks) vs cat
//
// plus the router's memory with 1,000 idle connections. Run it with
// `make bench`; flags pick the load (-clients, -duration).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creachadair/jrpc2"
	"github.com/creachadair/jrpc2/channel"
	"github.com/creachadair/jrpc2/handler"

	"github.com/gimme-tools/carapace/core/mux"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
)

func main() {
	mode := flag.String("mode", "", "internal: run as a helper process (echo, json, proxy, jrpc2, ours)")
	sock := flag.String("socket", "", "internal: socket to listen on")
	backend := flag.String("backend", "", "internal: proxy back-end socket")
	clients := flag.Int("clients", 64, "concurrent clients")
	duration := flag.Duration("duration", 3*time.Second, "measuring time per case")
	carapace := flag.String("carapace", "bin/carapace", "the carapace binary")
	idle := flag.Int("idle", 1000, "idle connections for the memory check")
	baseline = flag.String("baseline", "", "another carapace binary (a build before a change): (c'), (d'), (g1') and (g2') measure (c), (d), (g1) and (g2) against it in the same rounds")
	perfDir = flag.String("perf", "", "a folder: record each case's first round with `perf record -g` of its server processes, as DIR/<case>.data (perf report -i)")
	parts := flag.String("parts", "", "a -perf folder: print where each forwarded case's CPU went, per call, part by part (router, service), and exit")
	rounds := flag.Int("rounds", 3, "measure every case this many times, interleaved, and report the median")
	seeds = flag.String("seeds", "../shared/seeds", "the seed documents, for (s): the seed's Rust/tokio daemon (needs cargo)")
	only := flag.String("only", "", "measure only the cases whose letters are listed (\"bd\": (b) and (d); \"x\": the sandbox start-up tables; \"X\": only carapace exec against srt; \"w\": the 200 MiB write; \"l\": an agent against the default rate limits), for profiling")
	flag.Parse()
	if *parts != "" {
		if err := perfParts(*parts); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *mode != "" {
		if err := serveHelper(*mode, *sock, *backend); err != nil {
			fmt.Fprintln(os.Stderr, "bench helper:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*clients, *duration, *carapace, *idle, *rounds, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result is one case's figures.
type result struct {
	name     string
	p50, p99 time.Duration
	rps      float64
	// cpu and sys are the server-side processes' CPU time and system
	// calls per request (from /proc), when the case names its processes.
	cpu time.Duration
	sys float64
}

// baseline is the -baseline binary, if any; seeds the seed documents;
// perfDir the -perf folder.
var baseline, seeds, perfDir *string

func run(clients int, d time.Duration, carapace string, idle, rounds int, only string) error {
	dir, err := os.MkdirTemp("", "carapace-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	self, _ := os.Executable()
	req := `{"jsonrpc":"2.0","id":1,"method":"echo","params":{"msg":"hello"}}`

	// Cases are set up first, then measured in interleaved rounds (a b c
	// d e a b c d e …) so that background load on a shared machine falls
	// on every case alike; each case reports its median round.
	type bcase struct {
		name, sock, line, auth string
		expect                 string // every answer holds it
		pids                   []int  // the server side, for CPU and syscalls per request
	}
	var cases []bcase
	measure := func(name, sock, line string, pids ...int) error {
		cases = append(cases, bcase{name, sock, line, "", "hello", pids})
		return nil
	}
	// measureAuth sends auth first on every connection: an authorised call.
	measureAuth := func(name, sock, line, tok, expect string, pids ...int) {
		cases = append(cases, bcase{name, sock, line, `{"jsonrpc":"2.0","id":0,"method":"auth","params":{"token":"` + tok + `"}}`, expect, pids})
	}
	fmt.Fprintf(os.Stderr, "bench: %d clients, %s per case, %d rounds; syscalls: %s\n", clients, d, rounds, syscallsHow())

	// (a) raw echo
	echoSock := filepath.Join(dir, "echo.sock")
	stopA, pidA, err := helper(self, "echo", echoSock, "")
	if err != nil {
		return err
	}
	defer stopA()
	if err := measure("(a) raw unix line echo", echoSock, req, pidA); err != nil {
		return err
	}
	// (b) proxy chain
	jsonSock, proxySock := filepath.Join(dir, "json.sock"), filepath.Join(dir, "proxy.sock")
	stopJ, pidJ, err := helper(self, "json", jsonSock, "")
	if err != nil {
		return err
	}
	defer stopJ()
	stopP, pidP, err := helper(self, "proxy", proxySock, jsonSock)
	if err != nil {
		return err
	}
	defer stopP()
	if err := measure("(b) client→proxy→json server (2 processes)", proxySock, req, pidP, pidJ); err != nil {
		return err
	}
	// (c), (d): a real dev stack, rate limits off (one uid runs flat out
	// here); (d2): another with the audit log off too.
	dev, routerSock, err := startDev(carapace, filepath.Join(dir, "dev"), "")
	if err != nil {
		return err
	}
	defer stopDev(dev)
	if err := measure("(c) echo answered by the router", routerSock, req, dev.Process.Pid); err != nil {
		return err
	}
	// callThrough measures svc.method(params) forwarded by the router at
	// sock (of the dev stack devPid), with an agent's token for svc (its
	// reads redacted) on every connection; every answer must hold expect.
	callThrough := func(name, sock string, devPid int, svc, method, params, expect string, scope ...string) error {
		tok, err := issueToken(sock, svc, scope...)
		if err != nil {
			return err
		}
		pid, err := servicePid(sock, svc)
		if err != nil {
			return err
		}
		line := `{"jsonrpc":"2.0","id":1,"method":"` + svc + "." + method + `","params":` + params + `}`
		measureAuth(name, sock, line, tok, expect, devPid, pid)
		return nil
	}
	// (s) the seed's own daemon, as the seed document writes it.
	if strings.ContainsAny(only, "s") || only == "" {
		bin, err := seedDaemon(*seeds)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: (s) skipped, the seed's tokio daemon could not be built: %v\n", err)
		} else {
			stop, pid, err := startSeed(bin, filepath.Join(dir, "seed.sock"))
			if err != nil {
				return err
			}
			defer stop()
			measure("(s) echo answered by the seed's Rust/tokio daemon", filepath.Join(dir, "seed.sock"), req, pid)
		}
	}
	// echoThrough measures svc.echo forwarded by the router at sock (of
	// the dev stack devPid), with a token for svc on every connection.
	echoThrough := func(name, sock string, devPid int, svc string) error {
		return callThrough(name, sock, devPid, svc, "echo", `{"msg":"hello"}`, "hello")
	}
	// (d) forwards to the file service: the hop of the many small calls
	// an agent makes (list, stat, read). (d3) forwards the same echo to
	// the code service, which keeps more processors (it starts processes:
	// see stack.ServiceProcs).
	if err := echoThrough("(d) file.echo forwarded router→service (token, audit on)", routerSock, dev.Process.Pid, "file"); err != nil {
		return err
	}
	// (g) the calls an agent makes, forwarded the same way to the
	// Landlocked file service: a small file's stat, a 4 KiB text file read
	// (scanned for secrets: the token is an agent's), a 100-entry folder
	// listed (each entry checked against the deny rules and lstat'ed).
	if err := fileCases(filepath.Join(dir, "dev", "home", "Documents"), func(name, method, params, expect string) error {
		return callThrough(name, routerSock, dev.Process.Pid, "file", method, params, expect, "GET:~/Documents/*")
	}); err != nil {
		return err
	}
	if err := echoThrough("(d3) code.echo forwarded router→service (token, audit on)", routerSock, dev.Process.Pid, "code"); err != nil {
		return err
	}
	var stops []func()
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	// another starts a dev stack of bin and returns its router's socket
	// and pid.
	another := func(bin, sub, extraConfig string) (string, int, error) {
		d, sock, err := startDev(bin, filepath.Join(dir, sub), extraConfig)
		if err != nil {
			return "", 0, err
		}
		stops = append(stops, func() { stopDev(d) })
		return sock, d.Process.Pid, nil
	}
	sock2, pid2, err := another(carapace, "dev2", "audit: {disabled: true}\n")
	if err != nil {
		return err
	}
	if err := echoThrough("(d2) the same with the audit log off", sock2, pid2, "file"); err != nil {
		return err
	}
	if *baseline != "" {
		// The baseline build serves (c), (d) and (g1) again, in the same
		// rounds: the A/B of a change to the router.
		sock3, pid3, err := another(*baseline, "dev3", "")
		if err != nil {
			return err
		}
		b := filepath.Base(*baseline)
		measure("(c') (c) served by -baseline "+b, sock3, req, pid3)
		if err := echoThrough("(d') (d) served by -baseline "+b, sock3, pid3, "file"); err != nil {
			return err
		}
		if err := fileCases(filepath.Join(dir, "dev3", "home", "Documents"), func(name, method, params, expect string) error {
			if !strings.HasPrefix(name, "(g1)") && !strings.HasPrefix(name, "(g2)") {
				return nil
			}
			return callThrough(name[:3]+"') "+name[:4]+" served by -baseline "+b, sock3, pid3, "file", method, params, expect, "GET:~/Documents/*")
		}); err != nil {
			return err
		}
	}
	// (e) framing: jrpc2 vs ours
	jSock, oSock := filepath.Join(dir, "jrpc2.sock"), filepath.Join(dir, "ours.sock")
	stopJR, pidJR, err := helper(self, "jrpc2", jSock, "")
	if err != nil {
		return err
	}
	defer stopJR()
	stopO, pidO, err := helper(self, "ours", oSock, "")
	if err != nil {
		return err
	}
	defer stopO()
	if err := measure("(e1) echo served by creachadair/jrpc2", jSock, req, pidJR); err != nil {
		return err
	}
	if err := measure("(e2) echo served by core/rpcserver", oSock, req, pidO); err != nil {
		return err
	}
	samples := make([][]result, len(cases))
	for round := 0; round < rounds; round++ {
		for i, c := range cases {
			if only != "" && !strings.ContainsAny(c.name[1:2], only) {
				continue
			}
			before := procStats(c.pids)
			sc := countSyscalls(c.pids)
			stopRecord := func(int) {}
			if *perfDir != "" && round == 0 {
				stopRecord = perfRecord(*perfDir, c.name, c.pids)
			}
			r, n, err := load(c.sock, c.line, c.auth, c.expect, clients, d)
			stopRecord(n)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			calls := sc.stop()
			after := procStats(c.pids)
			r.name = c.name
			r.cpu = time.Duration(float64(after.cpu-before.cpu) / float64(n))
			r.sys = float64(calls) / float64(n)
			samples[i] = append(samples[i], r)
			fmt.Fprintf(os.Stderr, "  round %d %-44s p50 %8s  p99 %8s  %8.0f req/s  server %5.1f µs CPU %4.1f syscalls /req\n",
				round+1, c.name, r.p50, r.p99, r.rps, float64(r.cpu)/1e3, r.sys)
		}
	}
	var results []result
	for _, s := range samples {
		if len(s) > 0 {
			results = append(results, median(s))
		}
	}
	if strings.Contains(only, "l") {
		return agentLimits(carapace, filepath.Join(dir, "limits"))
	}
	if strings.Contains(only, "w") {
		return fileWrite(carapace, routerSock, filepath.Join(dir, "dev", "home", "Documents"), dir)
	}
	if strings.Contains(only, "X") {
		return shellBench(carapace, routerSock, filepath.Join(dir, "dev", "home", "Projects", "bench"))
	}
	if strings.Contains(only, "x") {
		if err := execBench(carapace, routerSock, filepath.Join(dir, "dev", "home", "Projects", "bench")); err != nil {
			return err
		}
		return shellBench(carapace, routerSock, filepath.Join(dir, "dev", "home", "Projects", "bench"))
	}
	if only != "" {
		report(results, 0, 0)
		return nil
	}
	mem, err := idleMemory(dev.Process.Pid, routerSock, idle)
	if err != nil {
		return err
	}
	report(results, mem, idle)
	if err := fileRead(carapace, routerSock, filepath.Join(dir, "dev", "home", "Documents")); err != nil {
		return err
	}
	if err := fileWrite(carapace, routerSock, filepath.Join(dir, "dev", "home", "Documents"), dir); err != nil {
		return err
	}
	if err := execBench(carapace, routerSock, filepath.Join(dir, "dev", "home", "Projects", "bench")); err != nil {
		return err
	}
	return shellBench(carapace, routerSock, filepath.Join(dir, "dev", "home", "Projects", "bench"))
}

// fileRead times reading a 100 MiB file (in the page cache) to /dev/null
// through `carapace file read` — the descriptor hand-off and the JSON
// chunks — against cat of the same file, each a whole process as a person
// runs it, best of several runs, and prints the throughput ratios.
func fileRead(bin, sock, docs string) error {
	const size = 100 << 20
	path := filepath.Join(docs, "bench-100MiB.bin")
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(i*7 + i>>9) // not text, so chunks travel as base64
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return err
	}
	defer os.Remove(path)
	env := []string{"GIMME_SOCKET=" + sock, "HOME=" + filepath.Dir(docs), "PATH=/usr/bin:/bin"}
	cases := []struct {
		name string
		argv []string
		runs int
	}{
		{"cat FILE > /dev/null", []string{"cat", path}, 7},
		{"carapace file read FILE > /dev/null (fd)", []string{bin, "file", "read", path}, 7},
		{"carapace file read --chunks FILE > /dev/null", []string{bin, "file", "read", "--chunks", path}, 3},
	}
	best := make([]time.Duration, len(cases))
	for i, c := range cases {
		for r := 0; r < c.runs; r++ {
			d, err := timeToDevNull(c.argv, env)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			if best[i] == 0 || d < best[i] {
				best[i] = d
			}
		}
		fmt.Fprintf(os.Stderr, "  %-46s %8.0f MiB/s\n", c.name, float64(size)/(1<<20)/best[i].Seconds())
	}
	fmt.Println()
	fmt.Println("| read 100 MiB to /dev/null (best run, process start included) | MiB/s | × cat |")
	fmt.Println("|---|---|---|")
	for i, c := range cases {
		fmt.Printf("| %s | %.0f | %.2f |\n", c.name, float64(size)/(1<<20)/best[i].Seconds(), best[0].Seconds()/best[i].Seconds())
	}
	fmt.Printf("file read via fd / cat: %.2f (target ≥ 0.5)\n", best[0].Seconds()/best[1].Seconds())
	return nil
}

// timeToDevNull runs argv with stdout on /dev/null and returns how long it
// took.
func timeToDevNull(argv, env []string) (time.Duration, error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, null, os.Stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

func report(rs []result, mem int64, idle int) {
	by := map[string]result{}
	for _, r := range rs {
		by[r.name[:strings.Index(r.name, ")")+1]] = r
	}
	fmt.Println("| case | p50 | p99 | req/s | server CPU /req | server syscalls /req |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Printf("| %s | %s | %s | %.0f | %.1f µs | %.1f |\n", r.name, us(r.p50), us(r.p99), r.rps, float64(r.cpu)/1e3, r.sys)
	}
	fmt.Println()
	// ratio prints a/b's p50 and throughput when both were measured (-only).
	ratio := func(label, a, b, targets string) {
		x, okA := by[a]
		y, okB := by[b]
		if okA && okB {
			fmt.Printf("%s: p50 %.2f, throughput %.2f%s\n", label, float64(x.p50)/float64(y.p50), x.rps/y.rps, targets)
		}
	}
	ratio("(d)/(b)", "(d)", "(b)", " (targets ≤ 1.25, ≥ 1.0)")
	fileRatios(by)
	ratio("audit log cost, (d)/(d2)", "(d)", "(d2)", "")
	ratio("(d3)/(b), the code service's hop", "(d3)", "(b)", "")
	ratio("(c)/(a)", "(c)", "(a)", "")
	ratio("(c)/(s), the router's echo against the seed's tokio daemon", "(c)", "(s)", " (targets ≤ 1.0, ≥ 1.0)")
	ratio("(e2)/(e1), ours against jrpc2", "(e2)", "(e1)", "")
	ratio("(c)/(c'), this build against -baseline", "(c)", "(c')", "")
	ratio("(d)/(d'), this build against -baseline", "(d)", "(d')", "")
	ratio("(g1)/(g1'), this build against -baseline", "(g1)", "(g1')", "")
	ratio("(g2)/(g2'), this build against -baseline", "(g2)", "(g2')", "")
	if idle > 0 {
		fmt.Printf("router memory with %d idle connections: %.1f MiB (target ≤ 64 MiB)\n", idle, float64(mem)/(1<<20))
	}
}

// median returns the round with the median throughput.
func median(rs []result) result {
	sort.Slice(rs, func(i, j int) bool { return rs[i].rps < rs[j].rps })
	return rs[len(rs)/2]
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

// load runs clients concurrent request/response loops for d and returns
// the latency percentiles and throughput, and how many requests completed.
func load(sock, line, auth, expect string, clients int, d time.Duration) (result, int, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	errc := make(chan error, clients)
	start := make(chan struct{})
	for i := 0; i < clients; i++ {
		c, err := net.Dial("unix", sock)
		if err != nil {
			return result{}, 0, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			r := bufio.NewReaderSize(c, 64<<10) // a whole answer (file.read, file.list)
			if auth != "" {
				io.WriteString(c, auth+"\n")
				if resp, err := r.ReadString('\n'); err != nil || !strings.Contains(resp, `"result"`) {
					errc <- fmt.Errorf("auth: %v %s", err, resp)
					return
				}
			}
			msg := []byte(line + "\n")
			local := make([]time.Duration, 0, 4096)
			<-start
			end := time.Now().Add(d)
			for time.Now().Before(end) {
				t0 := time.Now()
				if _, err := c.Write(msg); err != nil {
					errc <- err
					return
				}
				resp, err := r.ReadSlice('\n')
				if err != nil {
					errc <- err
					return
				}
				if resp[0] != '{' || !strings.Contains(string(resp), expect) {
					errc <- fmt.Errorf("unexpected answer %s", resp)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	select {
	case err := <-errc:
		return result{}, 0, err
	default:
	}
	if len(lat) == 0 {
		return result{}, 0, fmt.Errorf("no requests completed")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return result{p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], rps: float64(len(lat)) / elapsed.Seconds()}, len(lat), nil
}

// idleMemory opens n idle connections to the router (each answered one
// ping, so it is fully set up) and returns the growth of its RSS.
func idleMemory(pid int, sock string, n int) (int64, error) {
	before, err := rss(pid)
	if err != nil {
		return 0, err
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.Dial("unix", sock)
		if err != nil {
			return 0, fmt.Errorf("idle connection %d: %w", i, err)
		}
		conns = append(conns, c)
		io.WriteString(c, `{"jsonrpc":"2.0","id":1,"method":"ping"}`+"\n")
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			return 0, err
		}
	}
	time.Sleep(200 * time.Millisecond)
	after, err := rss(pid)
	if err != nil {
		return 0, err
	}
	// Report the whole RSS with the idle connections open: the target
	// bounds the router's memory, not only its growth.
	_ = before
	return after, nil
}

func rss(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

// issueToken asks the router, as the owner, for an hour's token for the
// service svc with scope (none: only methods that touch no resource).
func issueToken(sock, svc string, scope ...string) (string, error) {
	return issueTokenSub(sock, svc, "bench", scope...)
}

// issueTokenSub is issueToken for the token subject sub.
func issueTokenSub(sock, svc, sub string, scope ...string) (string, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return "", err
	}
	defer c.Close()
	sc, _ := json.Marshal(append([]string{}, scope...))
	io.WriteString(c, `{"jsonrpc":"2.0","id":1,"method":"token.issue","params":{"aud":"`+svc+`","scope":`+string(sc)+`,"ttl_seconds":3600,"sub":"`+sub+`"}}`+"\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	var resp struct {
		Result struct{ Token string }
		Error  json.RawMessage
	}
	if err := json.Unmarshal([]byte(line), &resp); err != nil || resp.Result.Token == "" {
		return "", fmt.Errorf("token.issue: %s", line)
	}
	return resp.Result.Token, nil
}

// startDev runs `carapace dev` with rate limits off and extra system
// config, and waits for its ready line. (An extraConfig that starts with
// "rate_limits:" replaces the limits instead.)
func startDev(bin, dir, extraConfig string) (*exec.Cmd, string, error) {
	home := filepath.Join(dir, "home")
	os.MkdirAll(filepath.Join(home, "Documents"), 0o700) // the file service's default folder
	// The config's directory is Carapace's own, which no write may touch:
	// keep it out of the directory holding the home.
	os.MkdirAll(dir+"-config", 0o700)
	cfg := filepath.Join(dir+"-config", "carapace.yaml")
	limits := "rate_limits: {per_uid: -1, per_subject: -1, conns_per_second: -1}\n"
	if strings.HasPrefix(extraConfig, "rate_limits:") {
		limits = ""
	}
	os.WriteFile(cfg, []byte(limits+extraConfig), 0o600)
	cmd := exec.Command(bin, "dev", "--runtime-dir", filepath.Join(dir, "run"), "--config", cfg)
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "CARAPACE_LOG=warn",
		"CARAPACE_CPUPROFILE=" + os.Getenv("CARAPACE_CPUPROFILE")}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start %s: %w (run `make build` first)", bin, err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready: ") {
		cmd.Process.Kill()
		return nil, "", fmt.Errorf("carapace dev did not get ready: %q %v", line, err)
	}
	return cmd, strings.TrimSpace(strings.TrimPrefix(line, "ready: ")), nil
}

func stopDev(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

// helper starts this binary in a helper mode and waits for its socket.
func helper(self, mode, sock, backend string) (func(), int, error) {
	cmd := exec.Command(self, "-mode", mode, "-socket", sock, "-backend", backend)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	if err := waitSocket(sock); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, 0, fmt.Errorf("helper %s: %w", mode, err)
	}
	return func() { cmd.Process.Kill(); cmd.Wait() }, cmd.Process.Pid, nil
}

// waitSocket waits up to 20 s for sock to accept a connection.
func waitSocket(sock string) error {
	for i := 0; i < 2000; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after 20 s", sock)
}

func serveHelper(mode, sock, backend string) error {
	l, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	switch mode {
	case "ours":
		var t service.Table
		t.Register("echo", func(_ context.Context, c *service.Call) (any, error) { return c.Params, nil })
		srv := &rpcserver.Server{Dispatcher: &mux.Mux{Table: &t}}
		return srv.Serve(l)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		switch mode {
		case "echo":
			go func() { io.Copy(c, c); c.Close() }()
		case "json":
			go serveJSON(c)
		case "proxy":
			go proxy(c, backend)
		case "jrpc2":
			srv := jrpc2.NewServer(handler.Map{"echo": func(_ context.Context, r *jrpc2.Request) (any, error) {
				return json.RawMessage(r.ParamString()), nil
			}}, nil)
			srv.Start(channel.Line(c, c))
		default:
			return fmt.Errorf("unknown mode %q", mode)
		}
	}
}

// serveJSON is a minimal JSON-RPC echo server: parse, answer, one write per
// response — what a naive service does.
func serveJSON(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		var req struct {
			ID     json.RawMessage `json:"id"`
			Params json.RawMessage `json:"params"`
		}
		if json.Unmarshal(line, &req) != nil {
			return
		}
		out, _ := json.Marshal(struct {
			V      string          `json:"jsonrpc"`
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
		}{"2.0", req.ID, req.Params})
		if _, err := c.Write(append(out, '\n')); err != nil {
			return
		}
	}
}

// proxy copies lines both ways over its own back-end connection.
func proxy(c net.Conn, backend string) {
	b, err := net.Dial("unix", backend)
	if err != nil {
		c.Close()
		return
	}
	go func() { io.Copy(b, c); b.Close() }()
	io.Copy(c, b)
	c.Close()
}

// pstat is CPU time and system calls, summed over processes.
type pstat struct {
	cpu time.Duration
	sys int64
}

// procStats reads the CPU time (utime+stime from /proc/PID/stat, clock
// ticks of 10 ms) and the read and write system calls (syscr+syscw from
// /proc/PID/io) of pids, every thread included.
func procStats(pids []int) pstat {
	var s pstat
	for _, pid := range pids {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
			ut, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			s.cpu += time.Duration(ut+st) * 10 * time.Millisecond
		}
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io"); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if k, v, ok := strings.Cut(l, ": "); ok && (k == "syscr" || k == "syscw") {
					n, _ := strconv.ParseInt(v, 10, 64)
					s.sys += n
				}
			}
		}
	}
	return s
}

// servicePid asks the router for a service's process id.
func servicePid(sock, name string) (int, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	io.WriteString(c, `{"jsonrpc":"2.0","id":1,"method":"services"}`+"\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, err
	}
	var resp struct {
		Result struct {
			Services []struct {
				Name string
				PID  int `json:"pid"`
			}
		}
	}
	if err := json.Unmarshal([]byte(line), &resp); err != nil {
		return 0, fmt.Errorf("services: %s", line)
	}
	for _, s := range resp.Result.Services {
		if s.Name == name && s.PID > 0 {
			return s.PID, nil
		}
	}
	return 0, fmt.Errorf("services: no %s process in %s", name, line)
}
