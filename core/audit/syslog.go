package audit

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SDID is the structured-data id of a record in RFC 5424 messages: the
// name carapace at private enterprise number 32473 (RFC 5612's number
// for examples; a registered number replaces it without changing the
// parameters).
const SDID = "carapace@32473"

// Syslog sends each record to a collector as an RFC 5424 message over TLS
// (RFC 5425: octet-counted frames), one SD-PARAM per record key, MSGID
// "decision". It reconnects when the connection drops, at most once a
// second; a record that cannot be sent is counted as failed (it is in
// the file).
type Syslog struct {
	Addr string
	TLS  *tls.Config
	host string
	mu   sync.Mutex
	c    net.Conn
	last time.Time // the last dial
}

// NewSyslog returns an exporter to addr (host:port) with cfg; it dials on
// the first record.
func NewSyslog(addr string, cfg *tls.Config) *Syslog {
	h, _ := os.Hostname()
	if h == "" {
		h = "-"
	}
	return &Syslog{Addr: addr, TLS: cfg, host: h}
}

// Name returns "syslog <addr>".
func (s *Syslog) Name() string { return "syslog " + s.Addr }

// Export sends one record.
func (s *Syslog) Export(_ []byte, f []Field) error {
	msg := SyslogMessage(s.host, os.Getpid(), f)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		if !s.last.IsZero() && time.Since(s.last) < time.Second {
			return errors.New("not connected (dialling at most once a second)")
		}
		s.last = time.Now()
		d := &net.Dialer{Timeout: 10 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", s.Addr, s.TLS)
		if err != nil {
			return fmt.Errorf("dial %s: %w", s.Addr, err)
		}
		s.c = c
	}
	s.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(s.c, "%d %s", len(msg), msg); err != nil {
		s.c.Close()
		s.c = nil
		return err
	}
	return nil
}

// Close closes the connection.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		return s.c.Close()
	}
	return nil
}

// SyslogMessage formats a record as an RFC 5424 message: facility
// authpriv (10), severity warning for a deny and info otherwise, the
// record's time, APP-NAME carapace, MSGID decision, the record's keys as
// SD-PARAMs of SDID, and Summary as the message.
func SyslogMessage(host string, pid int, f []Field) string {
	sev := 6
	if Get(f, "decision") == Deny {
		sev = 4
	}
	ts := Get(f, "time")
	if ts == "" {
		ts = "-"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s carapace %d decision [%s", 10*8+sev, ts, host, pid, SDID)
	for _, x := range f {
		b.WriteString(" " + x.Key + `="` + sdEscape(x.Value) + `"`)
	}
	b.WriteString("] " + Summary(f))
	return b.String()
}

// sdEscape escapes '"', '\' and ']' in a PARAM-VALUE (RFC 5424 6.3.3).
func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(s)
}

// ParseOctetFrame splits one RFC 5425 frame ("LEN SP MSG") off data; for
// collectors written in Go and for tests.
func ParseOctetFrame(data []byte) (msg, rest []byte, err error) {
	sp := strings.IndexByte(string(data[:min(len(data), 12)]), ' ')
	if sp <= 0 {
		return nil, data, errors.New("no frame length")
	}
	n, err := strconv.Atoi(string(data[:sp]))
	if err != nil || n < 0 || sp+1+n > len(data) {
		return nil, data, errors.New("incomplete frame")
	}
	return data[sp+1 : sp+1+n], data[sp+1+n:], nil
}
