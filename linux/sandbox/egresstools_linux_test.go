//go:build linux

package sandbox

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
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

// TestEgressRealTools: npm install and pip download of a package from a
// local HTTPS registry stand-in (self-signed, on the test's loopback,
// outside the command's namespace), through the proxy process, as the
// code service runs them: the tools find the proxy in the variables the
// helper sets, and every connection is an allowed record.
func TestEgressRealTools(t *testing.T) {
	b := newBox(t)
	standInServiceCgroup(t)
	ws, err := warmHelper()
	must(t, err)
	var base string
	tgz, whl := npmTarball(t), wheel(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/left-pad", func(w http.ResponseWriter, r *http.Request) {
		sum1, sum512 := sha1.Sum(tgz), sha512.Sum512(tgz)
		json.NewEncoder(w).Encode(map[string]any{
			"name": "left-pad", "dist-tags": map[string]string{"latest": "1.0.0"},
			"versions": map[string]any{"1.0.0": map[string]any{"name": "left-pad", "version": "1.0.0",
				"dist": map[string]string{"tarball": base + "/left-pad/-/left-pad-1.0.0.tgz",
					"shasum": hex.EncodeToString(sum1[:]), "integrity": "sha512-" + base64.StdEncoding.EncodeToString(sum512[:])}}},
		})
	})
	mux.HandleFunc("/left-pad/-/left-pad-1.0.0.tgz", func(w http.ResponseWriter, r *http.Request) { w.Write(tgz) })
	mux.HandleFunc("/simple/left-pad/", func(w http.ResponseWriter, r *http.Request) {
		sum := sha256.Sum256(whl)
		fmt.Fprintf(w, `<html><body><a href="%s/files/left_pad-1.0.0-py3-none-any.whl#sha256=%x">left_pad-1.0.0-py3-none-any.whl</a></body></html>`, base, sum)
	})
	mux.HandleFunc("/files/left_pad-1.0.0-py3-none-any.whl", func(w http.ResponseWriter, r *http.Request) { w.Write(whl) })
	registry := httptest.NewTLSServer(mux)
	defer registry.Close()
	host, port, _ := net.SplitHostPort(registry.Listener.Addr().String())
	// By name, as a real registry is reached: npm checks the certificate
	// against the name (for an address it would check "localhost"). The
	// proxy resolves it from the hosts content it is handed; the address
	// rule lets it reach the loopback address the name resolves to.
	const name = "registry.example.com" // in httptest's certificate
	base = "https://" + name + ":" + port
	ca := filepath.Join(b.project, "registry-ca.crt")
	must(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: registry.Certificate().Raw}), 0o644))

	rules, err := egress.ParseRules([]string{name + ":" + port, host + ":" + port}, nil)
	must(t, err)
	var mu sync.Mutex
	var records []egress.Record
	runner := &egress.Runner{Argv: []string{b.bin, egress.ProcessWord}}
	defer runner.Close()
	pool := codeexec.NewPool([]string{b.bin, "sandbox-exec", "--warm"}, codeexec.PoolOptions{Size: 1, Attr: ws.Attr})
	defer pool.Close()
	spec := b.spec
	spec.Network, spec.Egress = true, true
	run := func(argv ...string) (string, int) {
		t.Helper()
		wrapped, err := wrap(spec, argv)
		must(t, err)
		env := spec.Env(nil, map[string]string{"HOME": b.project})
		req := sandbox.Request{Args: wrapped[2:], Env: env, Dir: b.project}
		var sess *egress.Session
		res, err := codeexec.Run(context.Background(), codeexec.Command{Path: argv[0], Pool: pool, Request: req.Encode(), Timeout: 2 * time.Minute,
			Egress: func(sock *os.File) {
				var err error
				cfg := egress.NewSessionConfig(rules)
				cfg.Hosts = host + " " + name + "\n"
				sess, err = runner.Open(cfg, sock, func(r egress.Record) { mu.Lock(); records = append(records, r); mu.Unlock() }, nil)
				must(t, err)
			}})
		must(t, err)
		if sess != nil {
			sess.Wait(30 * time.Second)
		}
		return strings.TrimSpace(res.Stdout + res.Stderr), res.ExitCode
	}
	tools := 0
	if _, err := os.Stat("/usr/bin/npm"); err == nil {
		tools++
		out, code := run("/usr/bin/npm", "install", "left-pad", "--registry="+base+"/", "--cafile="+ca,
			"--cache="+filepath.Join(b.project, ".npm-cache"), "--logs-dir="+filepath.Join(b.project, ".npm-logs"),
			"--no-audit", "--no-fund", "--update-notifier=false", "--loglevel=error")
		if code != 0 {
			t.Errorf("npm install: exit %d\n%s", code, out)
		} else if _, err := os.Stat(filepath.Join(b.project, "node_modules", "left-pad", "index.js")); err != nil {
			t.Errorf("npm install did not install left-pad: %v\n%s", err, out)
		}
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		tools++
		dest := filepath.Join(b.project, "wheels")
		out, code := run("/usr/bin/python3", "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--disable-pip-version-check",
			"--index-url", base+"/simple/", "--cert", ca, "-d", dest, "left-pad")
		if code != 0 {
			t.Errorf("pip download: exit %d\n%s", code, out)
		} else if _, err := os.Stat(filepath.Join(dest, "left_pad-1.0.0-py3-none-any.whl")); err != nil {
			t.Errorf("pip download did not download the wheel: %v\n%s", err, out)
		}
	}
	if tools == 0 {
		t.Skip("neither /usr/bin/npm nor /usr/bin/python3 here")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(records) == 0 {
		t.Error("no connection recorded")
	}
	for _, r := range records {
		if r.Decision != "allow" || r.Addr != host+":"+port {
			t.Errorf("record %+v", r)
		}
	}
}

// npmTarball is left-pad 1.0.0 as npm packs it.
func npmTarball(t *testing.T) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range map[string]string{
		"package/package.json": `{"name":"left-pad","version":"1.0.0","main":"index.js"}`,
		"package/index.js":     "module.exports = (s, n) => String(s).padStart(n);\n",
	} {
		must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(1e9, 0)}))
		tw.Write([]byte(body))
	}
	must(t, tw.Close())
	must(t, gz.Close())
	return buf.Bytes()
}

// wheel is a minimal pure-Python wheel of left-pad 1.0.0.
func wheel(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := []struct{ name, body string }{
		{"left_pad/__init__.py", "def left_pad(s, n):\n    return str(s).rjust(n)\n"},
		{"left_pad-1.0.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: left-pad\nVersion: 1.0.0\n"},
		{"left_pad-1.0.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: carapace-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{"left_pad-1.0.0.dist-info/RECORD", "left_pad/__init__.py,,\nleft_pad-1.0.0.dist-info/METADATA,,\nleft_pad-1.0.0.dist-info/WHEEL,,\nleft_pad-1.0.0.dist-info/RECORD,,\n"},
	}
	for _, f := range files {
		w, err := zw.Create(f.name)
		must(t, err)
		w.Write([]byte(f.body))
	}
	must(t, zw.Close())
	return buf.Bytes()
}
