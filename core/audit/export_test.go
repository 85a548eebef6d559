package audit

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

// collect is an exporter that keeps what it gets; block makes it stall.
type collect struct {
	mu    sync.Mutex
	lines []string
	got   chan struct{}
	block chan struct{}
}

func (c *collect) Name() string { return "test" }
func (c *collect) Export(line []byte, _ []Field) error {
	if c.block != nil {
		<-c.block
	}
	c.mu.Lock()
	c.lines = append(c.lines, string(line))
	c.mu.Unlock()
	select {
	case c.got <- struct{}{}:
	default:
	}
	return nil
}
func (c *collect) Close() error { return nil }

// Every record written to the file reaches the exporter, as its line.
func TestExportGetsEveryRecord(t *testing.T) {
	c := &collect{got: make(chan struct{}, 1)}
	x := NewExports(c)
	dir := t.TempDir()
	l, err := Open(dir, Options{Export: x})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, l, 50)
	l.Close()
	x.Close(30 * time.Second)
	file, _ := os.ReadFile(filepath.Join(dir, ActiveName))
	want := strings.Split(strings.TrimSuffix(string(file), "\n"), "\n")
	if strings.Join(c.lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("exported %d records, the file has %d", len(c.lines), len(want))
	}
	if s := x.Status()[0]; s.Sent != 50 || !s.Healthy() {
		t.Fatalf("status %+v", s)
	}
}

// An exporter that stalls never slows the file: its queue fills, records
// are skipped for it (counted, shown), and every record is in the file.
func TestStalledExporterNeverBlocksTheFile(t *testing.T) {
	c := &collect{got: make(chan struct{}, 1), block: make(chan struct{})}
	x := NewExports(c)
	dir := t.TempDir()
	l, err := Open(dir, Options{Export: x, Sync: SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	n := exportQueue + 100
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			if err := l.Write(rec(i, Allow)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the file log waited for a stalled exporter")
	}
	l.Close()
	s := x.Status()[0]
	if s.Dropped == 0 || s.Healthy() || s.LastErr == "" {
		t.Fatalf("a stalled exporter should show: %+v", s)
	}
	if r := mustVerify(t, dir); r.Records != n {
		t.Fatalf("file has %d records, want %d", r.Records, n)
	}
	close(c.block)
	x.Close(30 * time.Second)
}

func TestFields(t *testing.T) {
	line := []byte(`{"seq":3,"time":"2026-12-07T00:00:00Z","uid":1000,"agent":"codex","method":"file.read","resource":"/h/a \"x\"]","decision":"deny","reason":"scope","redacted":{"aws":2},"duration_us":5,"prev":"ab"}`)
	f, err := Fields(line)
	if err != nil {
		t.Fatal(err)
	}
	if Get(f, "seq") != "3" || Get(f, "resource") != `/h/a "x"]` || Get(f, "redacted") != `{"aws":2}` || len(f) != 11 {
		t.Fatalf("%+v", f)
	}
	msg, prio, vars := JournalEntry(f)
	if prio != journal.PriWarning || vars["MESSAGE_ID"] != MessageID || vars["CARAPACE_DECISION"] != "deny" ||
		vars["CARAPACE_AGENT"] != "codex" || vars["CARAPACE_METHOD"] != "file.read" || vars["CARAPACE_DURATION_US"] != "5" ||
		vars["CARAPACE_RESOURCE"] != `/h/a "x"]` || !strings.Contains(msg, "deny file.read") {
		t.Fatalf("%q %v %v", msg, prio, vars)
	}
	for k := range vars {
		// journald's rule for field names: A-Z, 0-9, _, not starting with _.
		for _, r := range k {
			if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
				t.Fatalf("bad journal field name %q", k)
			}
		}
	}
	sl := SyslogMessage("host", 7, f)
	if !strings.HasPrefix(sl, "<84>1 2026-12-07T00:00:00Z host carapace 7 decision [carapace@32473 seq=\"3\"") ||
		!strings.Contains(sl, `resource="/h/a \"x\"\]"`) {
		t.Fatal(sl)
	}
}

// The journald exporter hands journal.Send the fields of each record.
func TestJournaldSendsEveryField(t *testing.T) {
	var got []map[string]string
	j := &Journald{send: func(msg string, p journal.Priority, vars map[string]string) error {
		got = append(got, vars)
		return nil
	}}
	line := []byte(`{"seq":1,"method":"shell.run","decision":"allow","by":"owner"}`)
	f, _ := Fields(line)
	if err := j.Export(line, f); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0]["CARAPACE_BY"] != "owner" || got[0]["CARAPACE_SEQ"] != "1" || got[0]["SYSLOG_IDENTIFIER"] != "carapace" {
		t.Fatalf("%v", got)
	}
}

// A collector over TLS gets every record as an RFC 5424 message with one
// SD-PARAM per key.
func TestSyslogOverTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	msgs := make(chan string, 16)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		var buf []byte
		for {
			b := make([]byte, 4096)
			n, err := r.Read(b)
			buf = append(buf, b[:n]...)
			for {
				m, rest, ferr := ParseOctetFrame(buf)
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
	s := NewSyslog(ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "collector.test"})
	x := NewExports(s)
	dir := t.TempDir()
	l, err := Open(dir, Options{Export: x})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := rec(1, Deny)
	r.Agent, r.Reason = "codex", "scope"
	if err := l.Write(r); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-msgs:
		for _, want := range []string{"<84>1 ", " carapace ", "[carapace@32473 seq=\"1\"", `decision="deny"`, `agent="codex"`, `method="file.read"`, `reason="scope"`, "] deny file.read"} {
			if !strings.Contains(m, want) {
				t.Fatalf("message lacks %q:\n%s", want, m)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no message; status %+v", x.Status())
	}
	x.Close(10 * time.Second)
}

// A collector whose certificate is not trusted gets nothing, and the
// exporter says why.
func TestSyslogRefusesUntrustedCollector(t *testing.T) {
	cert, _ := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	s := NewSyslog(ln.Addr().String(), &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "collector.test"})
	f, _ := Fields([]byte(`{"decision":"deny"}`))
	if err := s.Export(nil, f); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("exported to an untrusted collector: %v", err)
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "collector.test"},
		DNSNames: []string{"collector.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
