package egress

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gimme-tools/carapace/core/sandbox"
)

// The proxy runs in a process of its own (`carapace egress-proxy`),
// confined harder than the code service that starts it: no file can be
// opened, nothing executed, no Unix socket made (Confine). The code
// service talks to it over a SOCK_SEQPACKET pair, the control socket,
// descriptor 3 of the proxy process:
//
//	code service ──control: SessionConfig + [helper fd 5 end, session end]──► proxy process
//	code service ◄──session: ready, one Record per message, EOF when all ended── proxy process
//
// One control message opens a session: the JSON SessionConfig and, as
// SCM_RIGHTS, the pool's end of the helper's descriptor 5 (the command's
// connections arrive on it, as in Receive) and one end of a new session
// pair. The proxy serves the session's connections with a Proxy built
// from the config, says so (ready) and writes each connection's Record on
// the session socket; when the helper's end is shut down (or gone) and
// every connection has ended it closes the session socket. A shutdown of the session socket by the code
// service cuts what is left. The process exits when the control socket
// closes: it never outlives the code service. docs/internals.md has the
// protocol too.

// ProcessWord is the argument that makes carapace (or a test binary's
// TestMain) run ProcessMain.
const ProcessWord = "egress-proxy"

// controlFD is the control socket's descriptor in the proxy process.
const controlFD = 3

// maxMessage bounds a control or session message.
const maxMessage = 256 << 10

// SessionConfig is what the proxy process needs for one command: the
// owner's rules for its directory, its caps, and the name service the
// code service reads for it (the proxy process can open no file). Fields
// added here (credential routes, with their secrets) reach the proxy
// process only: never the command.
type SessionConfig struct {
	Allow []string `json:"allow"`
	Deny  []string `json:"deny,omitempty"`
	// Caps narrow Allow and Deny (Rules.Caps).
	Caps []CapConfig `json:"caps,omitempty"`
	// Ask holds connections to unlisted hosts for the owner (Rules.Ask).
	Ask      bool  `json:"ask,omitempty"`
	MaxConns int   `json:"max_conns,omitempty"`
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// Hosts and Resolv are /etc/hosts and /etc/resolv.conf as the code
	// service reads them when the session opens.
	Hosts  string `json:"hosts,omitempty"`
	Resolv string `json:"resolv,omitempty"`
	// Routes are the credential routes with their secrets (SetRoutes);
	// MissingRoutes those set whose secret could not be had, with why.
	Routes        []RouteConfig     `json:"routes,omitempty"`
	MissingRoutes map[string]string `json:"missing_routes,omitempty"`
}

// CapConfig is one Cap as the control socket carries it.
type CapConfig struct {
	Name  string   `json:"name"`
	Allow []string `json:"allow"`
	Deny  []string `json:"deny,omitempty"`
}

// NewSessionConfig returns the config for rules, with the system's hosts
// and resolver files read now.
func NewSessionConfig(rules Rules) SessionConfig {
	cfg := SessionConfig{Allow: ruleStrings(rules.Allow), Deny: ruleStrings(rules.Deny), Ask: rules.Ask}
	for _, c := range rules.Caps {
		cfg.Caps = append(cfg.Caps, CapConfig{Name: c.Name, Allow: ruleStrings(c.Allow), Deny: ruleStrings(c.Deny)})
	}
	cfg.Hosts = readSmall("/etc/hosts")
	cfg.Resolv = readSmall("/etc/resolv.conf")
	return cfg
}

func ruleStrings(rs []Rule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

// readSmall returns a system file's content, at most 64 KiB of it; a
// missing file is empty.
func readSmall(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 64<<10)
	n, _ := f.Read(b)
	return string(b[:n])
}

// Proxy returns the proxy that serves the session: the rules parsed
// again (the proxy process trusts the code service, but an unparsable
// rule fails the session rather than widening it) and a resolver that
// reads the hosts file given and asks the nameservers resolv.conf names.
func (c SessionConfig) Proxy(record func(Record)) (*Proxy, error) {
	rules, err := ParseRules(c.Allow, c.Deny)
	if err != nil {
		return nil, err
	}
	for _, cc := range c.Caps {
		cr, err := ParseRules(cc.Allow, cc.Deny)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cc.Name, err)
		}
		rules = rules.Within(Cap{Name: cc.Name, Allow: cr.Allow, Deny: cr.Deny})
	}
	rules.Ask = c.Ask
	r := newResolver(c.Hosts, c.Resolv)
	routes, err := c.routes(r.lookup)
	if err != nil {
		return nil, err
	}
	return &Proxy{Rules: rules, Routes: routes, MaxConns: c.MaxConns, MaxBytes: c.MaxBytes, Record: record, Resolve: r.lookup}, nil
}

// resolver answers from a hosts file's content, then from the
// nameservers of a resolv.conf's content, with Go's own DNS client.
type resolver struct {
	hosts   map[string][]netip.Addr
	servers []string
	dns     *net.Resolver
}

func newResolver(hosts, resolv string) *resolver {
	r := &resolver{hosts: map[string][]netip.Addr{}}
	for _, line := range strings.Split(hosts, "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		for _, name := range f[1:] {
			if n, ok := CanonicalName(name); ok {
				r.hosts[n] = append(r.hosts[n], a)
			}
		}
	}
	for _, line := range strings.Split(resolv, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err == nil {
				r.servers = append(r.servers, netip.AddrPortFrom(a, 53).String())
			}
		}
	}
	if len(r.servers) == 0 {
		r.servers = []string{"127.0.0.1:53", "[::1]:53"} // as glibc and Go assume
	}
	// Go's client would read /etc/resolv.conf itself; in the proxy
	// process that open fails and it falls back to defaults, so the
	// nameservers are chosen here, in Dial.
	var next sync.Mutex
	i := 0
	r.dns = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		next.Lock()
		server := r.servers[i%len(r.servers)]
		i++
		next.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
	return r
}

func (r *resolver) lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	if as, ok := r.hosts[name]; ok {
		return as, nil
	}
	return r.dns.LookupNetIP(ctx, "ip", name)
}

// Profile is what the proxy process confines itself to
// (core/sandbox.ConfineSelf): the network, and no file, no exec, no
// Unix socket. On Linux: Landlock granting no write anywhere (and, for
// the re-exec that spreads it to every thread, read and execute of the
// binary and the runtime's files only), no_new_privs, the service seccomp
// filter without execve/execveat and socket(AF_UNIX), and a second filter
// refusing open, openat, openat2 and creat: no file can be opened at all.
var Profile = sandbox.Profile{RestrictFS: true, Network: true, NoFiles: true}

// Confine confines the proxy process with Profile. An error (or no
// sandbox on this platform) and the proxy process does not serve: it
// never runs unconfined.
func Confine() error {
	if sandbox.ConfineSelf == nil {
		return fmt.Errorf("confine: %w", errors.ErrUnsupported)
	}
	return sandbox.ConfineSelf(Profile)
}

// ProcessMain is the proxy process's main: it confines itself, then
// serves the sessions the control socket (descriptor 3) brings until it
// closes; or, started by systemd with a listening socket and
// `--peer-user USER`, the control sockets that user connects
// (ServeListener) until it is stopped. It returns the exit status.
func ProcessMain() int {
	// One processor for every four (at least one): the proxy's work is
	// the kernel's (splice, TCP), its own code a few wake-ups a
	// connection, and a second processor on two CPUs only adds hand-offs
	// between threads: 0.70–0.76 ms of the process's CPU a new connection
	// with one, 1.1–1.3 ms with two (make bench-net).
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(max(1, runtime.GOMAXPROCS(0)/4))
	}
	// Credential routes verify their upstreams against the system's
	// roots, which crypto/x509 reads once, at first use: now, before
	// Confine leaves no file to open.
	x509.SystemCertPool()
	// Under systemd (carapace-egress.socket) the listener and the one
	// peer it serves are found now too: the user database is a file.
	ln, err := listenerFromSystemd()
	peerUID := -1
	if err == nil && ln != nil {
		peerUID, err = peerUIDFlag(os.Args)
	}
	if err == nil {
		err = Confine()
	}
	if err == nil && ln != nil {
		err = ServeListener(ln, peerUID)
	} else if err == nil {
		err = ServeControl(os.NewFile(controlFD, "egress-control"))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "carapace egress-proxy: %v\n", err)
		return 1
	}
	return 0
}

// ServeControl serves the sessions opened on ctl until it closes.
func ServeControl(ctl *os.File) error {
	defer ctl.Close()
	for {
		b, fds, err := recvMessage(ctl, 2)
		if errors.Is(err, os.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("control socket: %w", err)
		}
		if len(fds) != 2 {
			closeAll(fds)
			continue
		}
		helper, sess := fds[0], fds[1]
		var cfg SessionConfig
		if err := json.Unmarshal(b, &cfg); err != nil {
			m, _ := json.Marshal(sessionMessage{Record: &Record{Decision: "deny", Why: "bad session config: " + err.Error()}})
			sess.Write(m)
			closeAll(fds)
			continue
		}
		go serveSession(cfg, helper, sess)
	}
}

// sessionMessage is one message from the proxy process on a session
// socket: a connection's record, or a question for the owner (ask mode).
type sessionMessage struct {
	Record *Record      `json:"record,omitempty"`
	Ask    *askQuestion `json:"ask,omitempty"`
	// Ready says the session's rules parsed and it serves: sent first,
	// unless a deny record saying why it cannot comes instead.
	Ready bool `json:"ready,omitempty"`
}

// askQuestion asks whether the command may connect to Host:Port.
type askQuestion struct {
	ID   uint64 `json:"id"`
	Host string `json:"host"`
	Port uint16 `json:"port"`
}

// askAnswer is the code service's answer to an askQuestion.
type askAnswer struct {
	ID    uint64 `json:"id"`
	Allow bool   `json:"allow"`
	Why   string `json:"why"`
}

// maxAskWait bounds how long a connection is held for the owner; the
// approval queue's own time-out (a deny) normally comes first.
const maxAskWait = 15 * time.Minute

// serveSession serves one command's connections and reports their records.
func serveSession(cfg SessionConfig, helper, sess *os.File) {
	var mu sync.Mutex // one message at a time
	send := func(m sessionMessage) error {
		b, _ := json.Marshal(m)
		mu.Lock()
		defer mu.Unlock()
		_, err := sess.Write(b)
		return err
	}
	p, err := cfg.Proxy(func(r Record) { send(sessionMessage{Record: &r}) })
	if err != nil {
		send(sessionMessage{Record: &Record{Decision: "deny", Why: "bad session rules: " + err.Error()}})
		helper.Close()
		sess.Close()
		return
	}
	send(sessionMessage{Ready: true})
	var conns sync.Map
	var wg sync.WaitGroup
	cut := make(chan struct{})
	var asks sync.Map // id → chan askAnswer
	var nextAsk atomic.Uint64
	p.Ask = func(t Target) (bool, string) {
		id := nextAsk.Add(1)
		ch := make(chan askAnswer, 1)
		asks.Store(id, ch)
		defer asks.Delete(id)
		host := t.Name
		if t.Addr.IsValid() {
			host = t.Addr.String()
		}
		if send(sessionMessage{Ask: &askQuestion{ID: id, Host: host, Port: t.Port}}) != nil {
			return false, "no one to ask: the session has ended"
		}
		select {
		case a := <-ch:
			return a.Allow, a.Why
		case <-cut:
			return false, "the command ended before the owner decided"
		case <-time.After(maxAskWait):
			return false, "no decision from the owner in " + maxAskWait.String()
		}
	}
	go func() {
		// Answers to asks; the end (the code service shut its end down,
		// or went) cuts everything.
		buf := make([]byte, 4096)
		for {
			n, err := sess.Read(buf)
			if err != nil || n == 0 {
				break
			}
			var a askAnswer
			if json.Unmarshal(buf[:n], &a) == nil {
				if ch, ok := asks.Load(a.ID); ok {
					ch.(chan askAnswer) <- a
				}
			}
		}
		close(cut)
		helper.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	}()
	for {
		c, err := Receive(helper)
		if err != nil {
			break
		}
		if c == nil {
			continue
		}
		select {
		case <-cut:
			c.Close()
			continue
		default:
		}
		conns.Store(c, true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.ServeConn(c)
			conns.Delete(c)
		}()
	}
	wg.Wait()
	helper.Close()
	sess.Close()
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// readSession calls record for each Record on sess until it ends, and
// answers each question with ask (nil: refused), each in a goroutine of
// its own, since the owner may take minutes. It calls ready once when the
// proxy says the session serves.
func readSession(sess *os.File, record func(Record), ask func(Target) (bool, string), ready func()) {
	var wg sync.WaitGroup
	defer wg.Wait()
	buf := make([]byte, maxMessage) // one Read is one message
	for {
		n, err := sess.Read(buf)
		if err != nil || n == 0 {
			return
		}
		var m sessionMessage
		if json.Unmarshal(buf[:n], &m) != nil {
			continue
		}
		if m.Ready {
			ready()
		}
		if m.Record != nil && record != nil {
			record(*m.Record)
		}
		if q := m.Ask; q != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := askAnswer{ID: q.ID, Why: "ask mode has no owner to ask here"}
				if t, err := ParseTarget(q.Host, q.Port); err == nil && ask != nil {
					a.Allow, a.Why = ask(t)
				}
				b, _ := json.Marshal(a)
				sess.Write(b)
			}()
		}
	}
}
