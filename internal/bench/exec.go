package main

import (
	"bufio"
	"encoding/json"
	"errors"
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
)

// execRuns is how many times each single-command case runs (interleaved);
// execRounds how many times the 100-in-parallel cases run.
const (
	execRuns     = 40
	execRounds   = 5
	execParallel = 100
)

// bwrapArgv is the bubblewrap baseline issue 6 names.
var bwrapArgv = []string{"bwrap", "--ro-bind", "/", "/", "--unshare-all", "/bin/true"}

// execBench times `true` run four ways, interleaved, and prints the medians
// and the ratios to bubblewrap: a plain fork/exec; bwrap with every
// namespace; and code.execute through the router (an open, authorised
// connection; the call's answer read back), in a project with .git
// (.git/hooks and .git/config mounted read-only in the warm helper's own
// mount namespace) and in one without. Then 100 of each at once, wall
// time. project must lie inside one of the dev stack's code project
// roots; carapace is unused here (the calls go over routerSock) but names
// the binary whose helper the code service starts.
func execBench(carapace, routerSock, project string) error {
	withGit, noGit := filepath.Join(project, "with-git"), filepath.Join(project, "no-git")
	for _, d := range []string{filepath.Join(withGit, ".git", "hooks"), noGit} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(withGit, ".git", "config"), []byte("[core]\n"), 0o644); err != nil {
		return err
	}
	tok, err := issueCodeToken(routerSock, project)
	if err != nil {
		return err
	}
	_, bwrapErr := exec.LookPath("bwrap")
	if bwrapErr != nil {
		fmt.Fprintln(os.Stderr, "bench: bubblewrap is not installed (make deps): its cases are skipped")
	}
	helper := "carapace sandbox-exec"
	if _, err := os.Stat(filepath.Join(filepath.Dir(carapace), "carapace-sandbox")); err == nil {
		helper = "carapace-sandbox"
	}
	fmt.Fprintf(os.Stderr, "bench: `true` %d× each, interleaved; code service helper: %s\n", execRuns, helper)

	codePid, err := servicePid(routerSock, "code")
	if err != nil {
		return err
	}
	conns := make([]*codeConn, execParallel)
	for i := range conns {
		if conns[i], err = dialCode(routerSock, tok); err != nil {
			return err
		}
		defer conns[i].Close()
	}
	cases := []execCase{
		{name: "plain fork/exec of /bin/true", run: func(int) error { return exec.Command("/bin/true").Run() }, cpu: childrenCPU},
		{name: "bwrap --ro-bind / / --unshare-all", skip: bwrapErr != nil, run: func(int) error { return exec.Command(bwrapArgv[0], bwrapArgv[1:]...).Run() }, cpu: childrenCPU},
		{name: "code.execute via router, no .git", run: func(i int) error { return conns[i].execute(noGit) }, cpu: treeCPU(codePid)},
		{name: "code.execute via router, .git protected (read-only mounts)", run: func(i int) error { return conns[i].execute(withGit) }, cpu: treeCPU(codePid)},
	}
	// One call of each first: a cold page cache is not what we measure.
	for _, c := range cases {
		if !c.skip {
			if err := c.run(0); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
	}
	if err := timeSingles(cases); err != nil {
		return err
	}
	if err := timeParallel(cases); err != nil {
		return err
	}
	reportExec(cases, helper)
	return nil
}

// execCase is one way of running `true`; run(i) runs it once on lane i
// (the connection to use for router calls).
type execCase struct {
	name     string
	skip     bool
	run      func(lane int) error
	single   []time.Duration // one run each
	parallel []time.Duration // wall time of execParallel at once
	// cpu reads the CPU time spent so far by what runs the case: the
	// bench's reaped children (fork/exec, bwrap), or the code service
	// and its helpers, reaped or waiting for their next command (the
	// router's share, ~1 %, and the kernel worker's teardown of network
	// namespaces are left out).
	cpu      func() time.Duration
	cpuTotal time.Duration // over every parallel round
}

// timeSingles runs every case execRuns times, interleaved, one at a time.
func timeSingles(cases []execCase) error {
	for r := 0; r < execRuns; r++ {
		for i := range cases {
			c := &cases[i]
			if c.skip {
				continue
			}
			t0 := time.Now()
			if err := c.run(0); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			c.single = append(c.single, time.Since(t0))
		}
	}
	return nil
}

// timeParallel starts execParallel runs of each case at once and records
// how long the last took to finish, execRounds times, interleaved.
func timeParallel(cases []execCase) error {
	for r := 0; r < execRounds; r++ {
		for i := range cases {
			c := &cases[i]
			if c.skip {
				continue
			}
			errc := make(chan error, execParallel)
			var wg sync.WaitGroup
			c0 := c.cpu()
			t0 := time.Now()
			for lane := 0; lane < execParallel; lane++ {
				wg.Add(1)
				go func() { defer wg.Done(); errc <- c.run(lane) }()
			}
			wg.Wait()
			c.parallel = append(c.parallel, time.Since(t0))
			// The code service reaps its helpers after answering:
			// their CPU time reaches it shortly after the burst.
			time.Sleep(300 * time.Millisecond)
			c.cpuTotal += c.cpu() - c0
			close(errc)
			for err := range errc {
				if err != nil {
					return fmt.Errorf("%s, %d at once: %w", c.name, execParallel, err)
				}
			}
		}
	}
	return nil
}

func medianDur(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func reportExec(cases []execCase, helper string) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }
	bw := cases[1]
	fmt.Println()
	perCmd := func(c execCase) time.Duration { return c.cpuTotal / time.Duration(execParallel*len(c.parallel)) }
	fmt.Printf("| `true`, helper %s | median of %d | × plain | × bwrap | %d at once, wall (median of %d) | × bwrap | CPU per command at once | × bwrap |\n", helper, execRuns, execParallel, execRounds)
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, c := range cases {
		if c.skip {
			fmt.Printf("| %s | skipped | | | | | | |\n", c.name)
			continue
		}
		s, p := medianDur(c.single), medianDur(c.parallel)
		fmt.Printf("| %s | %s | %.2f | %s | %s | %s | %s | %s |\n", c.name, ms(s),
			float64(s)/float64(medianDur(cases[0].single)), ratio(s, medianDur(bw.single)), ms(p), ratio(p, medianDur(bw.parallel)),
			ms(perCmd(c)), ratio(perCmd(c), perCmd(bw)))
	}
	if bw.skip {
		return
	}
	fmt.Printf("sandboxed true via router / bwrap: no .git %s, .git protected %s (target ≤ 1.0); %d at once, no .git %s, .git protected %s (target ≤ 1.0); CPU per command at once %s, %s\n",
		ratio(medianDur(cases[2].single), medianDur(bw.single)), ratio(medianDur(cases[3].single), medianDur(bw.single)),
		execParallel, ratio(medianDur(cases[2].parallel), medianDur(bw.parallel)), ratio(medianDur(cases[3].parallel), medianDur(bw.parallel)),
		ratio(perCmd(cases[2]), perCmd(bw)), ratio(perCmd(cases[3]), perCmd(bw)))
}

// childrenCPU is the CPU time of the bench's reaped children.
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// treeCPU returns a reader of the CPU time of pid, of the children it
// has reaped, and of its children still alive with theirs (utime, stime,
// cutime and cstime in /proc/PID/stat, clock ticks of 10 ms): a helper
// that waits for its next command has not been reaped yet.
func treeCPU(pid int) func() time.Duration {
	return func() time.Duration {
		var ticks int64
		for _, kid := range childPids(pid) {
			ticks += procTicks(kid)
		}
		return time.Duration(ticks+procTicks(pid)) * 10 * time.Millisecond
	}
}

// procTicks is utime+stime+cutime+cstime of pid, 0 when it is gone.
func procTicks(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	var ticks int64
	for _, i := range []int{11, 12, 13, 14} {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += n
	}
	return ticks
}

// childPids lists pid's children (every thread's).
func childPids(pid int) []int {
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	var pids []int
	for _, t := range tasks {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
	}
	return pids
}

func ratio(a, b time.Duration) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

// issueCodeToken asks the router, as the owner, for an hour's code token
// allowing POST on project and below.
func issueCodeToken(sock, project string) (string, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return "", err
	}
	defer c.Close()
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "token.issue",
		"params": map[string]any{"aud": "code", "scope": []string{"POST:" + project + "/*"}, "ttl_seconds": 3600, "sub": "bench"}})
	if _, err := c.Write(append(req, '\n')); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	var resp struct{ Result struct{ Token string } }
	if err := json.Unmarshal([]byte(line), &resp); err != nil || resp.Result.Token == "" {
		return "", fmt.Errorf("token.issue for %s: %s (is it inside services.code.project_roots?)", project, line)
	}
	return resp.Result.Token, nil
}

// codeConn is a connection to the router that has sent its token.
type codeConn struct {
	net.Conn
	r *bufio.Reader
}

func dialCode(sock, tok string) (*codeConn, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, err
	}
	cc := &codeConn{Conn: c, r: bufio.NewReader(c)}
	io.WriteString(c, `{"jsonrpc":"2.0","id":0,"method":"auth","params":{"token":"`+tok+`"}}`+"\n")
	if line, err := cc.r.ReadString('\n'); err != nil || !strings.Contains(line, `"result"`) {
		c.Close()
		return nil, fmt.Errorf("auth: %v %s", err, line)
	}
	return cc, nil
}

// execute runs `true` in cwd with code.execute and checks it exited 0.
func (c *codeConn) execute(cwd string) error {
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "code.execute",
		"params": map[string]any{"command": "true", "cwd": cwd}})
	if _, err := c.Write(append(req, '\n')); err != nil {
		return err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return err
	}
	var resp struct {
		Result *struct {
			ExitCode int    `json:"exit_code"`
			Stderr   string `json:"stderr"`
		}
		Error json.RawMessage
	}
	if err := json.Unmarshal([]byte(line), &resp); err != nil {
		return fmt.Errorf("code.execute: %w: %s", err, line)
	}
	if resp.Result == nil {
		return fmt.Errorf("code.execute: %s", line)
	}
	if resp.Result.ExitCode != 0 {
		return errors.New("code.execute true: exit " + fmt.Sprint(resp.Result.ExitCode) + ": " + resp.Result.Stderr)
	}
	return nil
}
