//go:build linux

package sandbox

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/sandbox"
)

// TestEgressNamespace runs commands with network as the code service
// does: warm helpers in a network namespace of their own, the proxy
// (core/egress) in its own confined process serving the connections the
// helper's forwarder passes over descriptor 5. An HTTPS stand-in for a registry listens on the
// test's loopback, outside the namespace; the owner's rules name its
// address. curl through the proxy variables reaches it; every way around
// the proxy fails, and the proxy records each connection.
func TestEgressNamespace(t *testing.T) {
	b := newBox(t)
	if _, err := os.Stat("/usr/bin/curl"); err != nil {
		t.Skip("no /usr/bin/curl")
	}
	standInServiceCgroup(t)
	ws, err := warmHelper()
	must(t, err)
	registry := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "package %s", r.URL.Path)
	}))
	defer registry.Close()
	host, port, _ := net.SplitHostPort(registry.Listener.Addr().String())
	ca := filepath.Join(b.project, "ca.pem")
	must(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: registry.Certificate().Raw}), 0o644))

	rules, err := egress.ParseRules([]string{host + ":" + port, "localhost:*"}, nil)
	must(t, err)
	var mu sync.Mutex
	var records []egress.Record
	// The proxy in its own confined process, as the code service runs
	// it; localhost is 127.0.0.1 in the /etc/hosts it is handed.
	runner := &egress.Runner{Argv: []string{b.bin, egress.ProcessWord}}
	defer runner.Close()
	pool := codeexec.NewPool([]string{b.bin, "sandbox-exec", "--warm"}, codeexec.PoolOptions{Size: 1, Attr: ws.Attr})
	defer pool.Close()
	spec := b.spec
	spec.Network, spec.Egress = true, true
	var last *codeexec.Result
	run := func(argv ...string) string {
		t.Helper()
		wrapped, err := wrap(spec, argv)
		must(t, err)
		req := sandbox.Request{Args: wrapped[2:], Env: spec.Env(os.Environ(), nil), Dir: b.project}
		var sess *egress.Session
		res, err := codeexec.Run(context.Background(), codeexec.Command{Path: argv[0], Pool: pool, Request: req.Encode(), Timeout: time.Minute,
			Egress: func(sock *os.File) {
				var err error
				sess, err = runner.Open(egress.NewSessionConfig(rules), sock, func(r egress.Record) { mu.Lock(); records = append(records, r); mu.Unlock() }, nil)
				must(t, err)
			}})
		must(t, err)
		last = res
		switch { // as the code service waits
		case sess == nil:
		case res.NoConnections:
			sess.WaitOpened(30 * time.Second)
		default:
			sess.Wait(30 * time.Second)
		}
		return strings.TrimSpace(res.Stdout + res.Stderr)
	}
	curl := func(args ...string) string {
		return run(append([]string{"/usr/bin/curl", "-sS", "--max-time", "20", "--cacert", ca}, args...)...)
	}
	url := "https://" + host + ":" + port + "/left-pad.tgz"

	// A command that made no connection says so, and waits for no
	// record; one that made some has every record before its answer.
	if run("/bin/true"); !last.NoConnections {
		t.Error("true with network: the helper did not report that it made no connection")
	}
	if out := curl(url); out != "package /left-pad.tgz" {
		t.Fatalf("curl of an allowed host through the proxy: %q", out)
	}
	if last.NoConnections {
		t.Error("curl: the helper reported no connection")
	}
	mu.Lock()
	if len(records) != 1 || records[0].Decision != "allow" || records[0].Addr != host+":"+port || records[0].Down == 0 {
		t.Errorf("records %+v", records)
	}
	mu.Unlock()
	for _, c := range []struct{ name, out, want string }{
		{"curl --noproxy '*'", curl("--noproxy", "*", url), "Failed to connect"},
		{"an allowed name resolving to 127.0.0.1", curl("https://localhost/"), "CONNECT tunnel failed, response 403"},
		{"the metadata address", curl("http://169.254.169.254/latest/meta-data/"), "carapace: network: no allow rule covers 169.254.169.254:80"},
		{"a decimal address", curl("http://2852039166/latest/meta-data/"), "carapace: network: no allow rule covers 169.254.169.254:80"},
		{"IPv4-mapped IPv6", curl("https://[::ffff:169.254.169.254]/"), "CONNECT tunnel failed, response 403"},
		{"a raw socket to the server's address", run(b.bin, "probe", "dial", "tcp4", host, port), "denied ECONNREFUSED"},
		{"a public address", run(b.bin, "probe", "dial", "tcp4", "1.1.1.1", "443"), "denied ENETUNREACH"},
		{"IPv6", run(b.bin, "probe", "dial", "tcp6", "2606:4700:4700::1111", "443"), "denied ENETUNREACH"},
		{"IPv4-mapped IPv6 socket to the server", run(b.bin, "probe", "dial", "tcp6", "::ffff:"+host, port), "denied"},
		{"UDP/53 to a public resolver", run(b.bin, "probe", "dial", "udp4", "8.8.8.8", "53"), "denied ENETUNREACH"},
		{"a DNS lookup", run(b.bin, "probe", "resolve", "example.com"), "denied"},
		{"MPTCP", run(b.bin, "probe", "dial", "mptcp", "1.1.1.1", "443"), "denied"},
		{"a descriptor inherited from the helper", run(b.bin, "probe", "sockets"), "sockets 0"},
	} {
		if !strings.Contains(c.out, c.want) {
			t.Errorf("%s: %q, want %q", c.name, c.out, c.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var denied []string
	for _, r := range records {
		if r.Decision == "deny" {
			denied = append(denied, r.Why)
		}
	}
	if len(denied) != 4 {
		t.Errorf("want 4 refusals recorded (localhost, metadata, decimal, mapped), got %q", denied)
	}
}

// TestEgressNeedsNamespace: a request for network that reaches a helper
// without a network namespace of its own (or without the proxy's
// descriptor) is refused, never run with the helper's network.
func TestEgressNeedsNamespace(t *testing.T) {
	b := newBox(t)
	spec := b.spec
	spec.Network, spec.Egress = true, true
	pool := codeexec.NewPool([]string{b.bin, "sandbox-exec", "--warm"}, codeexec.PoolOptions{Size: 1})
	defer pool.Close()
	wrapped, err := wrap(spec, []string{b.bin, "probe", "dial", "tcp4", "1.1.1.1", "443"})
	must(t, err)
	req := sandbox.Request{Args: wrapped[2:], Env: spec.Env(os.Environ(), nil), Dir: b.project}
	res, err := codeexec.Run(context.Background(), codeexec.Command{Path: b.bin, Pool: pool, Request: req.Encode(), Timeout: time.Minute})
	must(t, err)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "only through Carapace's proxy") {
		t.Errorf("exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
}
