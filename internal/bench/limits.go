package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// agentLimits runs a dev stack with the default rate limits and measures
// what an agent meets: reading a 2,000-file project with one file.read
// per file (what read_multiple_files does through carapace mcp), by one
// client and by 8 at once, and a runaway loop of file.stat calls for 10 s
// from one client and from 8, one after the other against the same
// buckets. It prints the calls made, refused, admitted per second, and
// the largest retry_after_ms a refusal carried.
func agentLimits(bin, dir string) error {
	dev, sock, err := startDev(bin, dir, "rate_limits: {}\n")
	if err != nil {
		return err
	}
	defer stopDev(dev)
	proj := filepath.Join(dir, "home", "Documents", "project")
	var paths []string
	for i := 0; i < 2000; i++ {
		p := filepath.Join(proj, fmt.Sprintf("pkg%02d", i/100), fmt.Sprintf("f%04d.go", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(strings.Repeat("// line of code\n", 256)), 0o644); err != nil {
			return err
		}
		paths = append(paths, p)
	}
	fmt.Println()
	fmt.Println("| an agent against the default rate limits | calls | refused | calls/s | retry_after_ms |")
	fmt.Println("|---|---|---|---|---|")
	for _, clients := range []int{1, 8} {
		// The router's subject bucket is the token holder's, the same for
		// every token here: the cases share it, in order, so the runaway
		// starts after two whole project reads.
		tok, err := issueTokenSub(sock, "file", fmt.Sprintf("project-%d", clients), "GET:~/Documents/*")
		if err != nil {
			return err
		}
		var next atomic.Int64
		r, err := agentLoad(sock, tok, clients, func() (string, bool) {
			i := next.Add(1) - 1
			if i >= int64(len(paths)) {
				return "", false
			}
			return `{"jsonrpc":"2.0","id":1,"method":"file.read","params":{"path":"` + paths[i] + `"}}`, true
		})
		if err != nil {
			return err
		}
		r.print(fmt.Sprintf("read a 2,000-file project, one file.read per file, %d client(s)", clients))
	}
	for _, clients := range []int{1, 8} {
		tok, err := issueTokenSub(sock, "file", fmt.Sprintf("runaway-%d", clients), "GET:~/Documents/*")
		if err != nil {
			return err
		}
		end := time.Now().Add(10 * time.Second)
		line := `{"jsonrpc":"2.0","id":1,"method":"file.stat","params":{"path":"` + paths[0] + `"}}`
		r, err := agentLoad(sock, tok, clients, func() (string, bool) { return line, time.Now().Before(end) })
		if err != nil {
			return err
		}
		r.print(fmt.Sprintf("runaway loop of file.stat for 10 s, %d client(s)", clients))
	}
	return nil
}

type agentResult struct {
	ok, refused int64
	elapsed     time.Duration
	retryMs     int64 // the largest retry_after_ms seen
}

func (r *agentResult) print(name string) {
	fmt.Printf("| %s | %d | %d | %.0f | %d |\n", name, r.ok+r.refused, r.refused, float64(r.ok)/r.elapsed.Seconds(), r.retryMs)
}

// agentLoad sends next's calls from clients connections, each waiting for
// its answer, until next says stop; a refused call is counted, not
// retried.
func agentLoad(sock, tok string, clients int, next func() (string, bool)) (*agentResult, error) {
	var r agentResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	errc := make(chan error, clients)
	t0 := time.Now()
	for c := 0; c < clients; c++ {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			br := bufio.NewReaderSize(conn, 64<<10)
			// auth is a call too: under a spent bucket it waits its turn
			// as the refusal says.
			for {
				io.WriteString(conn, `{"jsonrpc":"2.0","id":0,"method":"auth","params":{"token":"`+tok+`"}}`+"\n")
				resp, err := br.ReadString('\n')
				if err != nil {
					errc <- err
					return
				}
				var a struct {
					Error *struct {
						Data struct {
							RetryAfterMs int64 `json:"retry_after_ms"`
						}
					}
				}
				json.Unmarshal([]byte(resp), &a)
				if a.Error == nil {
					break
				}
				if a.Error.Data.RetryAfterMs == 0 {
					errc <- fmt.Errorf("auth: %s", resp)
					return
				}
				time.Sleep(time.Duration(a.Error.Data.RetryAfterMs) * time.Millisecond)
			}
			for {
				line, ok := next()
				if !ok {
					return
				}
				io.WriteString(conn, line+"\n")
				resp, err := br.ReadSlice('\n')
				if err != nil {
					errc <- err
					return
				}
				var a struct {
					Error *struct {
						Code int
						Data struct {
							RetryAfterMs int64 `json:"retry_after_ms"`
						}
					}
				}
				json.Unmarshal(resp, &a)
				mu.Lock()
				switch {
				case a.Error == nil:
					r.ok++
				case a.Error.Code == -32005:
					r.refused++
					r.retryMs = max(r.retryMs, a.Error.Data.RetryAfterMs)
				default:
					mu.Unlock()
					errc <- fmt.Errorf("unexpected answer %s", resp)
					return
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r.elapsed = time.Since(t0)
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	return &r, nil
}
