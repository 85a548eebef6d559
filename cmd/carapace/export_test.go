package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/token"
)

// collector is a syslog receiver over TLS, as a SIEM runs one.
func collector(t *testing.T) (addr, caFile string, msgs chan string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "siem.test"},
		DNSNames: []string{"siem.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "siem-ca.pem")
	os.Chmod(filepath.Dir(caFile), 0o755)
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	msgs = make(chan string, 256)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				var buf []byte
				b := make([]byte, 8192)
				for {
					n, err := r.Read(b)
					buf = append(buf, b[:n]...)
					for {
						m, rest, ferr := audit.ParseOctetFrame(buf)
						if ferr != nil {
							break
						}
						msgs <- string(m)
						buf = rest
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), caFile, msgs
}

// Every decision also reaches the syslog collector over TLS, a refusal
// with its fields; status shows the exporter.
func TestAuditExportToSyslogCollector(t *testing.T) {
	addr, ca, msgs := collector(t)
	sys := "audit:\n  export:\n    journald: false\n    syslog: {address: \"" + addr + "\", ca_file: " + ca + ", server_name: siem.test}\n"
	d := startDevWith(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n", sys, nil, nil)
	tok := mintAs(t, d, "file", "GET:~/Docs/*", "codex")
	_, errOut, code := d.cli("call", "--token", tok, "file.read", `{"path":"/etc/hostname"}`)
	if code == 0 {
		t.Fatalf("outside the scope: %s", errOut)
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m := <-msgs:
			if !strings.Contains(m, `decision="deny"`) || !strings.Contains(m, `method="file.read"`) {
				continue
			}
			for _, want := range []string{`agent="codex"`, `resource="/etc/hostname"`, `reason="scope"`, `by="router"`, "[carapace@32473 seq="} {
				if !strings.Contains(m, want) {
					t.Fatalf("the refusal lacks %s:\n%s", want, m)
				}
			}
			out, _, _ := d.cli("status", "--json")
			var st struct {
				AuditExport []audit.ExportStatus `json:"audit_exports"`
			}
			json.Unmarshal([]byte(out), &st)
			if len(st.AuditExport) != 1 || st.AuditExport[0].Sent == 0 || !strings.HasPrefix(st.AuditExport[0].Name, "syslog ") {
				t.Fatalf("status: %s", out)
			}
			return
		case <-deadline:
			t.Fatalf("the collector got no refusal in 30s\n%s", d.stderrText())
		}
	}
}

// Under a managed policy that requires audit export, a router with no
// exporter that can start refuses to start rather than run unseen.
func TestManagedExportRequiredRefusesToRunUnseen(t *testing.T) {
	if _, err := os.Lstat("/etc/gimme/managed.yaml"); err == nil {
		t.Skip("this machine has a managed policy of its own")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	pol := filepath.Join(dir, "managed.yaml")
	os.WriteFile(pol, []byte("audit: {export_required: true}\n"), 0o644)
	sys := filepath.Join(dir, "carapace.yaml")
	os.WriteFile(sys, []byte("audit:\n  export: {journald: false}\n"), 0o644)
	home := filepath.Join(dir, "home")
	os.MkdirAll(home, 0o755)
	cmd := exec.Command(binPath, "dev", "--runtime-dir", filepath.Join(dir, "run"), "--config", sys)
	cmd.Env = []string{"HOME=" + home, "CARAPACE_MANAGED=" + pol, "PATH=/usr/bin:/bin"}
	done := make(chan struct{})
	var out []byte
	go func() { out, _ = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("dev started without an exporter under export_required")
	}
	if !strings.Contains(string(out), "audit_export_required") && !strings.Contains(string(out), "requires audit export") {
		t.Fatalf("%s", out)
	}
}

// carapace audit verify --checkpoints checks the signed checkpoints with
// the device's public key and catches a file rewritten after one.
func TestAuditVerifyCheckpoints(t *testing.T) {
	state := t.TempDir()
	key, _, err := token.LoadOrCreate(token.FileKeyStore{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(state, "audit")
	l, err := audit.Open(dir, audit.Options{Checkpoint: &audit.Checkpointing{Key: key.Key, KeyID: key.ID, Every: 5, Interval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		l.Write(audit.Record{Method: "file.read", Resource: "/r/" + strconv.Itoa(i), Decision: audit.Allow})
	}
	l.Close()
	verify := func() (string, int) {
		cmd := exec.Command(binPath, "audit", "verify", "--checkpoints", "--state-dir", state, "--dir", dir)
		cmd.Env = []string{"HOME=" + state, "PATH=/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		return string(out), 0
	}
	if out, code := verify(); code != 0 || !strings.Contains(out, "checkpoints: 2 signed") {
		t.Fatalf("%d %s", code, out)
	}
	// A forger without the key edits record 2 and re-chains every hash.
	path := filepath.Join(dir, audit.ActiveName)
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	lines[1] = strings.Replace(lines[1], `"decision":"allow"`, `"decision":"deny"`, 1)
	for i := 1; i < len(lines); i++ {
		sum := sha256.Sum256([]byte(lines[i-1]))
		j := strings.LastIndex(lines[i], `"prev":"`) + len(`"prev":"`)
		lines[i] = lines[i][:j] + hex.EncodeToString(sum[:]) + `"}`
	}
	os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o640)
	if out, code := verify(); code == 0 || !strings.Contains(out, "checkpoint 6") {
		t.Fatalf("the rewrite passed: %d %s", code, out)
	}
}
