package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// part is a share of a process's CPU: the samples with a frame that
// matches re, unless an earlier part took them.
type part struct {
	name string
	re   *regexp.Regexp
}

func parts(pairs ...string) []part {
	var ps []part
	for i := 0; i < len(pairs); i += 2 {
		ps = append(ps, part{pairs[i], regexp.MustCompile(pairs[i+1])})
	}
	return ps
}

var runtimeParts = []string{
	"Go runtime: sysmon", `runtime\.sysmon`,
	"Go runtime: garbage collection", `gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge|gcStart|markroot`,
	"Go runtime: stack growth", `runtime\.morestack`,
}

const schedParts = `runtime\.(schedule|findRunnable|netpoll|park_m|mcall|goexit0|futex|notewakeup|wakep|startm|stopm|mstart|exitsyscall|entersyscall|handoffp|gosched)`

// forwardedParts are the parts of a forwarded call: [0] the router's,
// [1] the service's, in the order a (d) or (g) case lists its pids.
var forwardedParts = [2][]part{
	parts(append(runtimeParts,
		"authorisation: held token, scope, rate limit", `router\.\(\*Router\)\.(allow|authorize)|core/token\.|core/scope\.|core/ratelimit\.`,
		"audit record", `core/audit\.`,
		"the client's request read and parsed", `jsonrpc\.Parse\b|jsonrpc\.parseValid|jsonrpc\.parseItem|stream\.\(\*Reader\)|stream\.\(\*LoopConn\)\.ReadLoop|rpcserver\.\(\*Server\)\.readLoop`,
		"forwarded to the service", `router\.\(\*bconn\)\.send|router\.\(\*pool\)\.forward|bconn\)\.flush|bconn\)\.take`,
		"the answer read, parsed, relayed to the client", `router\.\(\*bconn\)\.readLoop|jsonrpc\.ParseResponse|WantsFD|sendResponse|stream\.\(\*Writer\)`,
		"scheduler, netpoll, wake-ups", schedParts)...),
	parts(append(runtimeParts,
		"openat2", `fsafe\.openat2|unix\.Openat2`,
		"fstatat", `unix\.Fstatat`,
		"fstat of the opened file", `unix\.Fstat\b|fsafe\.StatFD`,
		"pread", `syscall\.pread|fdReader\)?\.ReadAt`,
		"close", `fdReader\)?\.Close|syscall\.Close`,
		"redaction scan", `core/redact\.`,
		"the result's JSON", `file\.readJSON|file\.statJSON|file\.appendText|mux\.encode|jsonrpc\.Compact|appendEntry|appendMtime`,
		"params decoded", `service\.decodeParams`,
		"path cleaned, authorised, placed; deny rules", `file\.\(\*Service\)\.(resolve|cleanPath|allowed|place|ruled|matchRule|check)|denyread`,
		"rest of the handler", `service/file\.\(\*Service\)\.`,
		"the caller's token checked", `servicehost\.NewAuthorizer|servicehost\.\(\*verified\)`,
		"requests read and parsed", `stream\.\(\*Reader\)|stream\.\(\*LoopConn\)\.ReadLoop|rawConn\)\.Read|jsonrpc\.Parse`,
		"answers written", `stream\.\(\*Writer\)|rawConn\)\.Write|sendResponse`,
		"handler dispatch (mux, workers)", `core/mux\.`,
		"scheduler, netpoll, wake-ups", schedParts)...),
}

// perfParts prints, for each (d) and (g) case -perf recorded in dir,
// the CPU per call of the router and of the service, part by part: the
// samples of each process (each 1/perfHz s of CPU) given to the first
// part with a frame on their stack, divided by the calls made. perf's
// own cost is in them: compare the parts, and the totals with the run's.
func perfParts(dir string) error {
	files, _ := filepath.Glob(filepath.Join(dir, "*.calls"))
	sort.Strings(files)
	for _, f := range files {
		key := strings.TrimSuffix(filepath.Base(f), ".calls")
		if key[0] != 'd' && key[0] != 'g' {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		fs := strings.Fields(string(b))
		calls, _ := strconv.Atoi(fs[0])
		if calls == 0 || len(fs) != 3 {
			continue
		}
		counts, err := classify(filepath.Join(dir, key+".data"), fs[1:])
		if err != nil {
			return err
		}
		fmt.Printf("\n(%s), %d calls: µs per call | router | service\n|---|---|---|\n", key, calls)
		us := func(n int) string { return fmt.Sprintf("%.1f", float64(n)*1e6/perfHz/float64(calls)) }
		fmt.Printf("| all | %s | %s |\n", us(counts[0]["all"]), us(counts[1]["all"]))
		for _, who := range []int{0, 1} {
			for _, p := range append(forwardedParts[who], part{name: "other"}) {
				if n := counts[who][p.name]; float64(n)*1e6/perfHz/float64(calls) >= 0.05 {
					row := [2]string{"", ""}
					row[who] = us(n)
					fmt.Printf("| %s | %s | %s |\n", p.name, row[0], row[1])
				}
			}
		}
	}
	return nil
}

// classify counts the samples of data by process (pids: the router's,
// the service's) and part.
func classify(data string, pids []string) ([2]map[string]int, error) {
	counts := [2]map[string]int{{}, {}}
	out, err := exec.Command("perf", "script", "-i", data, "-F", "pid,ip,sym").Output()
	if err != nil {
		return counts, fmt.Errorf("perf script %s: %w", data, err)
	}
	for _, sample := range bytes.Split(out, []byte("\n\n")) {
		sc := bufio.NewScanner(bytes.NewReader(bytes.TrimSpace(sample)))
		if !sc.Scan() {
			continue
		}
		who := -1
		for i, p := range pids {
			if strings.TrimSpace(sc.Text()) == p || strings.HasPrefix(strings.TrimSpace(sc.Text()), p+" ") {
				who = i
			}
		}
		if who < 0 {
			continue
		}
		counts[who]["all"]++
		name := "other"
		for _, p := range forwardedParts[who] {
			if p.re.Match(sample) {
				name = p.name
				break
			}
		}
		counts[who][name]++
	}
	return counts, nil
}
