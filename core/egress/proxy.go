package egress

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is the way out for one command: an HTTP proxy speaking CONNECT
// (for TLS) and absolute-form requests (for plain HTTP). It resolves names
// itself and connects to the address it resolved, so nothing the command
// does with DNS matters; it refuses private addresses no rule names, a
// CONNECT whose TLS ClientHello names another host, anything but TLS
// inside a CONNECT (a CONNECT relayed in a CONNECT included), and a Host
// header that differs from the absolute URI. Each connection, allowed or
// not, is one Record.
//
// A Proxy serves the connections handed to ServeConn; it opens no
// listener of its own. Its counters (MaxConns, MaxBytes) span every
// connection of the command.
type Proxy struct {
	Rules Rules
	// Resolve returns a name's addresses (default: the system resolver).
	Resolve func(ctx context.Context, name string) ([]netip.Addr, error)
	// Dial connects to an address (default: a net.Dialer, TCP).
	Dial func(ctx context.Context, addr netip.AddrPort) (net.Conn, error)
	// MaxConns caps the connections (default 256); MaxBytes the bytes
	// both ways over all of them (default 4 GiB).
	MaxConns int
	MaxBytes int64
	// Record, when set, receives one Record per connection, when it ends.
	Record func(Record)
	// Routes, when set, are the credential routes the command may use
	// (routes.go): requests to the proxy's own address.
	Routes *Routes
	// Ask, when set, is asked about a target the rules refuse only for
	// want of an allow rule, when they ask (Rules.Asks): it blocks until
	// the owner decides and returns the decision and why. Nil refuses.
	Ask func(Target) (bool, string)

	conns atomic.Int64
	bytes atomic.Int64
	cut   atomic.Bool // the byte budget refused some
}

// Record is what the audit log keeps of one connection.
type Record struct {
	Method   string `json:"method"` // CONNECT, GET, …
	Host     string `json:"host"`
	Port     uint16 `json:"port"`
	Addr     string `json:"addr,omitempty"` // the address connected to
	Up       int64  `json:"up"`             // bytes from the command
	Down     int64  `json:"down"`           // bytes to the command
	Decision string `json:"decision"`       // allow or deny
	Why      string `json:"why"`
	Route    string `json:"route,omitempty"`  // a credential route's name
	Path     string `json:"path,omitempty"`   // the path a route sent upstream
	Status   int    `json:"status,omitempty"` // the upstream's status, for a route
}

// Defaults.
const (
	DefaultMaxConns = 256
	DefaultMaxBytes = 4 << 30
	headTimeout     = 30 * time.Second
	dialTimeout     = 30 * time.Second
	maxHelloBytes   = 64 << 10
)

// refusal is a decision to refuse, with the status to answer.
type refusal struct {
	status int
	why    string
}

func (r *refusal) Error() string { return r.why }

func refuse(status int, format string, a ...any) *refusal {
	return &refusal{status, fmt.Sprintf(format, a...)}
}

// ServeConn serves one connection from the command and closes it.
func (p *Proxy) ServeConn(c net.Conn) {
	defer c.Close()
	rec := Record{Decision: "deny"}
	defer func() {
		if p.Record != nil {
			p.Record(rec)
		}
	}()
	if n := p.conns.Add(1); n > int64(p.maxConns()) {
		rec.Why = fmt.Sprintf("more than %d connections for this command", p.maxConns())
		writeRefusal(c, http.StatusTooManyRequests, rec.Why)
		return
	}
	c.SetReadDeadline(time.Now().Add(headTimeout))
	br := bufio.NewReaderSize(c, 64<<10)
	hosts, err := hostHeaders(br)
	if err != nil {
		rec.Why = "not an HTTP proxy request: " + err.Error()
		writeRefusal(c, http.StatusBadRequest, rec.Why)
		return
	}
	req, err := http.ReadRequest(br)
	if err != nil {
		rec.Why = "not an HTTP proxy request: " + err.Error()
		writeRefusal(c, http.StatusBadRequest, rec.Why)
		return
	}
	c.SetReadDeadline(time.Time{})
	rec.Method = req.Method
	if p.Routes.claims(c, req) {
		err = p.Routes.serve(c, req, &rec)
		var r *refusal
		if errors.As(err, &r) {
			rec.Why = r.why
			writeRefusal(c, r.status, r.why)
		}
		return
	}
	var up net.Conn
	if req.Method == http.MethodConnect {
		up, err = p.connect(c, br, req, &rec)
	} else {
		up, err = p.forward(c, br, req, hosts, &rec)
	}
	if err != nil {
		rec.Why = err.Error()
		var r *refusal
		if errors.As(err, &r) && r.status != 0 {
			writeRefusal(c, r.status, r.why)
		}
		return
	}
	defer up.Close()
	rec.Decision = "allow"
	p.splice(c, br, up, &rec)
}

func (p *Proxy) maxConns() int {
	if p.MaxConns > 0 {
		return p.MaxConns
	}
	return DefaultMaxConns
}

func (p *Proxy) maxBytes() int64 {
	if p.MaxBytes > 0 {
		return p.MaxBytes
	}
	return DefaultMaxBytes
}

// connect handles CONNECT host:port: it checks and dials the target,
// answers 200, then reads the ClientHello and checks its server name
// before anything reaches the target.
func (p *Proxy) connect(c net.Conn, br *bufio.Reader, req *http.Request, rec *Record) (net.Conn, error) {
	host, port, err := splitHostPort(req.RequestURI)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "CONNECT %q: %v", req.RequestURI, err)
	}
	t, up, err := p.dial(host, port, rec)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		up.Close()
		return nil, &refusal{0, "the command went away"}
	}
	hello, name, err := readClientHello(c, br)
	if err != nil {
		up.Close()
		return nil, &refusal{0, err.Error()}
	}
	want := t.Name
	if t.Addr.IsValid() {
		want = ""
	}
	if got, _ := CanonicalName(name); got != want && !(want == "" && name == "") {
		up.Close()
		return nil, &refusal{0, fmt.Sprintf("TLS server name %q is not the CONNECT host %q", name, host)}
	}
	if _, err := up.Write(hello); err != nil {
		up.Close()
		return nil, &refusal{0, "write to " + rec.Addr + ": " + err.Error()}
	}
	rec.Up += int64(len(hello))
	return up, nil
}

// forward handles an absolute-form request (GET http://host/path): the
// Host header must name the URI's host, and the request goes out in
// origin form with Connection: close, one request per connection.
func (p *Proxy) forward(c net.Conn, br *bufio.Reader, req *http.Request, hosts []string, rec *Record) (net.Conn, error) {
	u := req.URL
	if !u.IsAbs() || u.Scheme != "http" || u.Host == "" {
		return nil, refuse(http.StatusBadRequest, "%s %q: a proxy request is CONNECT host:port (for https) or an absolute http:// URI", req.Method, req.RequestURI)
	}
	host, port, err := splitHostPort(u.Host)
	if errors.Is(err, errNoPort) {
		host, port, err = u.Host, 80, nil
	}
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "%q: %v", u.Host, err)
	}
	// Go's parser drops the Host header of an absolute-form request
	// (RFC 9112 3.2.2 lets a server ignore it); a proxy must not let the
	// two differ, or a server behind it may route by the other.
	if len(hosts) != 1 || !sameAuthority(hosts[0], u.Host, 80) {
		return nil, refuse(http.StatusBadRequest, "Host header %q is not the URI's host %q", strings.Join(hosts, ", "), u.Host)
	}
	_, up, err := p.dial(host, port, rec)
	if err != nil {
		return nil, err
	}
	req.Header.Del("Proxy-Connection")
	req.Header.Del("Proxy-Authorization")
	req.Close = true
	cw := &countWriter{w: up}
	if err := req.Write(cw); err != nil {
		up.Close()
		return nil, refuse(http.StatusBadGateway, "write to %s: %v", rec.Addr, err)
	}
	rec.Up += cw.n
	return up, nil
}

// dial checks host:port against the rules, resolves it and connects to
// the first address no rule or range refuses.
func (p *Proxy) dial(host string, port uint16, rec *Record) (Target, net.Conn, error) {
	rec.Host, rec.Port = host, port
	t, err := ParseTarget(host, port)
	if err != nil {
		return t, nil, refuse(http.StatusForbidden, "%v", err)
	}
	rec.Host = t.Name
	if t.Addr.IsValid() {
		rec.Host = t.Addr.String()
	}
	ok, allowedBy := p.Rules.Check(t)
	if !ok && p.Ask != nil && p.Rules.Asks(t) {
		ok, allowedBy = p.Ask(t)
	}
	if !ok {
		return t, nil, refuse(http.StatusForbidden, "%s", allowedBy)
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	addrs := []netip.Addr{t.Addr}
	if !t.Addr.IsValid() {
		addrs, err = p.resolve(ctx, t.Name)
		if err != nil {
			return t, nil, refuse(http.StatusBadGateway, "resolve %s: %v", t.Name, err)
		}
	}
	why := "no address"
	for _, a := range addrs {
		a = a.Unmap()
		if ok, w := p.Rules.Check(Target{Addr: a, Port: port}); !ok && strings.HasPrefix(w, "denied") {
			why = t.Name + " resolves to " + a.String() + ", " + w
			continue
		}
		if bad, what := Refused(a); bad && !p.Rules.NamesAddr(a, port) {
			why = fmt.Sprintf("%s resolves to %s, %s, which no allow rule names (allow %s to reach it)", rec.Host, a, what, Rule{Addr: a, Ports: []uint16{port}})
			continue
		}
		rec.Addr, rec.Why = netip.AddrPortFrom(a, port).String(), allowedBy
		up, err := p.dialAddr(ctx, netip.AddrPortFrom(a, port))
		if err != nil {
			return t, nil, refuse(http.StatusBadGateway, "connect %s: %v", rec.Addr, err)
		}
		return t, up, nil
	}
	return t, nil, refuse(http.StatusForbidden, "%s", why)
}

func (p *Proxy) resolve(ctx context.Context, name string) ([]netip.Addr, error) {
	if p.Resolve != nil {
		return p.Resolve(ctx, name)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", name)
}

func (p *Proxy) dialAddr(ctx context.Context, a netip.AddrPort) (net.Conn, error) {
	if p.Dial != nil {
		return p.Dial(ctx, a)
	}
	var d net.Dialer
	d.SetMultipathTCP(false)
	return d.DialContext(ctx, "tcp", a.String())
}

// splice copies both ways until either side ends or the command's byte
// budget is spent.
func (p *Proxy) splice(c net.Conn, br *bufio.Reader, up net.Conn, rec *Record) {
	var wg sync.WaitGroup
	var upN, downN int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		upN = p.copy(up, br)
		closeWrite(up)
	}()
	downN = p.copyConn(c, up)
	closeWrite(c)
	wg.Wait()
	rec.Up += upN
	rec.Down += downN
	if p.cut.Load() {
		rec.Why += fmt.Sprintf("; cut at %d bytes for this command", p.maxBytes())
	}
}

// take counts n bytes against the command's budget, all or none; it
// reports false, and marks the command cut, when they do not fit.
func (p *Proxy) take(n int64) bool {
	for {
		used := p.bytes.Load()
		if used+n > p.maxBytes() {
			p.cut.Store(true)
			return false
		}
		if p.bytes.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// reserve takes up to n bytes of the budget and returns how many it took
// (0, and the command marked cut, when none is left); give back what a
// copy did not use.
func (p *Proxy) reserve(n int64) int64 {
	for {
		used := p.bytes.Load()
		k := min(n, p.maxBytes()-used)
		if k <= 0 {
			p.cut.Store(true)
			return 0
		}
		if p.bytes.CompareAndSwap(used, used+k) {
			return k
		}
	}
}

// copy copies src to dst through a buffer, counting against the
// command's budget; when it is spent both ends are closed.
func (p *Proxy) copy(dst net.Conn, src io.Reader) int64 {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		k, err := src.Read(buf)
		if k > 0 {
			if !p.take(int64(k)) {
				dst.Close()
				return n
			}
			w, werr := dst.Write(buf[:k])
			n += int64(w)
			if werr != nil {
				return n
			}
		}
		if err != nil {
			return n
		}
	}
}

// copyConn copies src to dst as copy does; between two TCP connections
// (a download: the server's to the command's, passed in by the sandbox's
// forwarder) the kernel moves the bytes (splice(2): spliceDown on Linux,
// else the net package's ReadFrom), each step reserved from the budget
// first, so no step can pass it.
func (p *Proxy) copyConn(dst, src net.Conn) int64 {
	to, ok1 := dst.(*net.TCPConn)
	from, ok2 := src.(*net.TCPConn)
	if !ok1 || !ok2 {
		return p.copy(dst, src)
	}
	if n, ok := p.spliceDown(to, from); ok {
		return n
	}
	var n int64
	for {
		got := p.reserve(spliceStep)
		if got == 0 {
			dst.Close()
			return n
		}
		lr := &io.LimitedReader{R: from, N: got}
		k, err := to.ReadFrom(lr)
		n += k
		p.bytes.Add(k - got) // give back what this step did not move
		if err != nil || lr.N > 0 {
			return n // the end, or an error on either side
		}
	}
}

// spliceStep is how many bytes of the budget a splicing copy reserves at
// a time.
const spliceStep = 1 << 20

// copyBufs are the copy loops' buffers, reused: a new one per connection
// and direction cost a measurable part of a new connection's latency.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

var errNoPort = errors.New("no port")

// hostHeaders returns the Host header lines of the request head waiting
// in br, without consuming it.
func hostHeaders(br *bufio.Reader) ([]string, error) {
	var head []byte
	for {
		b, _ := br.Peek(br.Buffered())
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			head = b[:i+4]
			break
		}
		if len(b) >= br.Size() {
			return nil, errors.New("no complete request head in 64 KiB")
		}
		if _, err := br.Peek(len(b) + 1); err != nil {
			return nil, err
		}
	}
	_, rest, _ := bytes.Cut(head, []byte("\r\n"))
	hdr, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(rest))).ReadMIMEHeader()
	if err != nil {
		return nil, err
	}
	return hdr.Values("Host"), nil
}

// splitHostPort splits host:port, the port required and non-zero.
func splitHostPort(s string) (string, uint16, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return "", 0, errNoPort
		}
		return "", 0, err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("bad port %q", port)
	}
	return host, uint16(n), nil
}

// sameAuthority reports whether two host[:port] strings name the same
// host and port, def being the port of one without.
func sameAuthority(a, b string, def uint16) bool {
	norm := func(s string) string {
		h, p, err := splitHostPort(s)
		if errors.Is(err, errNoPort) {
			h, p, err = s, def, nil
		}
		if err != nil {
			return "\x00" + s
		}
		if ad, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			return netip.AddrPortFrom(ad.Unmap(), p).String()
		}
		n, _ := CanonicalName(h)
		return n + ":" + strconv.Itoa(int(p))
	}
	return norm(a) == norm(b)
}

func writeRefusal(c net.Conn, status int, why string) {
	body := "carapace: network: " + why + "\n(the owner's rules are services.code.network; docs/network.md)\n"
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nX-Carapace-Refused: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), strings.NewReplacer("\r", " ", "\n", " ").Replace(why), len(body), body)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// errHelloRead stops crypto/tls once it has parsed the ClientHello.
var errHelloRead = errors.New("client hello read")

// readClientHello reads the command's first TLS handshake message through
// crypto/tls's own parser and returns the bytes read and the server name
// it asks for. Anything that is not a TLS handshake (plain HTTP, a
// second CONNECT) is refused.
func readClientHello(c net.Conn, br *bufio.Reader) ([]byte, string, error) {
	c.SetReadDeadline(time.Now().Add(headTimeout))
	defer c.SetReadDeadline(time.Time{})
	first, err := br.Peek(1)
	if err != nil {
		return nil, "", fmt.Errorf("no data after CONNECT: %v", err)
	}
	if first[0] != 0x16 { // TLS record type handshake
		line, _ := br.Peek(min(br.Buffered(), 32))
		return nil, "", fmt.Errorf("a CONNECT tunnel carries TLS only, not %q (a CONNECT inside a CONNECT, or plain HTTP: use an http:// URI)", strings.TrimSpace(strings.SplitN(string(line), "\n", 2)[0]))
	}
	rc := &recordConn{Conn: c, r: br}
	var name string
	srv := tls.Server(rc, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		name = h.ServerName
		return nil, errHelloRead
	}})
	err = srv.Handshake()
	if !errors.Is(err, errHelloRead) && !strings.Contains(fmt.Sprint(err), errHelloRead.Error()) {
		return nil, "", fmt.Errorf("not a TLS ClientHello: %v", err)
	}
	return rc.buf, name, nil
}

// recordConn keeps what is read, and writes nothing: crypto/tls only
// parses here; the real handshake is the command's with the target.
type recordConn struct {
	net.Conn
	r   *bufio.Reader
	buf []byte
}

func (r *recordConn) Read(b []byte) (int, error) {
	if len(r.buf) >= maxHelloBytes {
		return 0, errors.New("ClientHello too large")
	}
	n, err := r.r.Read(b[:min(len(b), maxHelloBytes-len(r.buf))])
	r.buf = append(r.buf, b[:n]...)
	return n, err
}

func (r *recordConn) Write(b []byte) (int, error) { return len(b), nil }
