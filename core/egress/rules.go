// Package egress is the network policy of sandboxed commands and the
// proxy that enforces it: a command with network reaches the outside only
// through Proxy, which resolves names itself, connects to the address it
// resolved, and lets through only what the owner's rules allow
// (docs/network.md).
//
// A rule is a host pattern with an optional port:
//
//	packages.example.org       that host, ports 443 and 80
//	*.files.example.net        any name below files.example.net (not the name itself)
//	api.github.com:443         that host, port 443 only
//	api.example.com:*          that host, any port
//	127.0.0.1:8443, [::1]:8443 an address, named explicitly
//	*                          every host, ports 443 and 80 ("*:*": every port)
//
// Deny rules win over allow rules. Private, loopback, link-local and
// cloud-metadata addresses are refused after resolution unless an allow
// rule names the address itself (Refused).
package egress

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultPorts are the ports a rule without one covers.
var DefaultPorts = []uint16{443, 80}

// Rule is one parsed host pattern.
type Rule struct {
	// Host is the lower-case name, "*" for every host, or "" when Addr
	// is set. Suffix marks "*.name": names strictly below Host.
	Host   string
	Suffix bool
	// Addr is set for an address rule (127.0.0.1, [::1]).
	Addr netip.Addr
	// Ports are the ports covered; AnyPort covers all.
	Ports   []uint16
	AnyPort bool
}

// ParseRule parses one pattern (the package doc lists the forms).
func ParseRule(s string) (Rule, error) {
	var r Rule
	host, port, err := splitPort(s)
	if err != nil {
		return r, err
	}
	switch {
	case port == "":
		r.Ports = DefaultPorts
	case port == "*":
		r.AnyPort = true
	default:
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 || strconv.FormatUint(n, 10) != port {
			return r, fmt.Errorf("%q: port %q must be a number from 1 to 65535, or *", s, port)
		}
		r.Ports = []uint16{uint16(n)}
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if a.Zone() != "" {
			return r, fmt.Errorf("%q: an address with a zone cannot be allowed", s)
		}
		if strings.HasPrefix(host, "[") != a.Is6() {
			return r, fmt.Errorf("%q: write an IPv6 address in brackets, [::1]:443", s)
		}
		r.Addr = a.Unmap()
		return r, nil
	}
	if host == "*" {
		r.Host = "*"
		return r, nil
	}
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		r.Suffix, host = true, rest
	}
	name, ok := CanonicalName(host)
	if !ok {
		return r, fmt.Errorf("%q: %q is not a host name (letters, digits, '-', '.'; '*.' only in front; non-ASCII names in their xn-- form)", s, host)
	}
	if _, err := netip.ParseAddr(name); err == nil || looksNumeric(name) {
		return r, fmt.Errorf("%q: write an address in its usual form (127.0.0.1, [::1])", s)
	}
	r.Host = name
	return r, nil
}

// splitPort splits "host", "host:port", "[v6]" or "[v6]:port". An
// unbracketed IPv6 address is refused: its last group reads as a port.
func splitPort(s string) (host, port string, err error) {
	if s == "" {
		return "", "", fmt.Errorf("empty host pattern")
	}
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", fmt.Errorf("%q: no closing ]", s)
		}
		host, rest := s[:end+1], s[end+1:]
		if rest == "" {
			return host, "", nil
		}
		if !strings.HasPrefix(rest, ":") || len(rest) == 1 {
			return "", "", fmt.Errorf("%q: expected [address]:port", s)
		}
		return host, rest[1:], nil
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", nil
	case 1:
		i := strings.IndexByte(s, ':')
		if i == 0 || i == len(s)-1 {
			return "", "", fmt.Errorf("%q: expected host:port", s)
		}
		return s[:i], s[i+1:], nil
	}
	return "", "", fmt.Errorf("%q: write an IPv6 address in brackets, [::1]:443", s)
}

// CanonicalName returns name lower-cased without a trailing dot, and
// whether it is a valid ASCII host name (labels of letters, digits, '-'
// and '_', none empty or longer than 63, 253 in all).
func CanonicalName(name string) (string, bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" || len(name) > 253 {
		return "", false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return "", false
			}
		}
	}
	return name, true
}

// looksNumeric reports whether a name is made of numbers only ("2130706433",
// "127.1", "0x7f.1"): forms some resolvers read as an IPv4 address. They
// are refused as names so that no rule or request can hide an address.
func looksNumeric(name string) bool {
	for _, label := range strings.Split(name, ".") {
		l := strings.TrimPrefix(label, "0x")
		if l == "" {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			hex := 'a' <= c && c <= 'f'
			if !('0' <= c && c <= '9') && !(hex && l != label) {
				return false
			}
		}
	}
	return true
}

// String returns the rule in its written form.
func (r Rule) String() string {
	h := r.Host
	if r.Addr.IsValid() {
		h = r.Addr.String()
		if r.Addr.Is6() {
			h = "[" + h + "]"
		}
	} else if r.Suffix {
		h = "*." + h
	}
	switch {
	case r.AnyPort:
		return h + ":*"
	case len(r.Ports) == 1:
		return h + ":" + strconv.Itoa(int(r.Ports[0]))
	}
	return h
}

// Everything reports whether r covers every host.
func (r Rule) Everything() bool { return r.Host == "*" }

// matchHost reports whether r covers the canonical name or address host.
func (r Rule) matchHost(host string, addr netip.Addr) bool {
	switch {
	case r.Addr.IsValid():
		return addr.IsValid() && r.Addr == addr
	case r.Host == "*":
		return true
	case addr.IsValid():
		return false
	case r.Suffix:
		return strings.HasSuffix(host, "."+r.Host)
	}
	return host == r.Host
}

func (r Rule) matchPort(port uint16) bool {
	if r.AnyPort {
		return true
	}
	for _, p := range r.Ports {
		if p == port {
			return true
		}
	}
	return false
}

// Rules is an allow list and a deny list; deny wins. Caps are layers
// above (the system's cap, a token's narrowing): a connection must be
// allowed by every one of them as well, so a cap can only narrow.
type Rules struct {
	Allow, Deny []Rule
	Caps        []Cap
	// Ask holds a connection to a host no allow rule covers (and no deny
	// rule names, and every cap allows) until the owner decides
	// (services.code.network.ask): Asks.
	Ask bool
}

// Cap is one narrowing layer: its own allow and deny lists, and the name
// a refusal gives it ("the system cap, services.code.network in
// /etc/gimme/carapace.yaml", "the token's network claim").
type Cap struct {
	Name        string
	Allow, Deny []Rule
}

// Within returns rs narrowed by c as well.
func (rs Rules) Within(c Cap) Rules {
	rs.Caps = append(append([]Cap(nil), rs.Caps...), c)
	return rs
}

// ParseRules parses both lists; the error names the list and the entry.
func ParseRules(allow, deny []string) (Rules, error) {
	var rs Rules
	for _, l := range []struct {
		key string
		in  []string
		out *[]Rule
	}{{"allow", allow, &rs.Allow}, {"deny", deny, &rs.Deny}} {
		for i, s := range l.in {
			r, err := ParseRule(s)
			if err != nil {
				return Rules{}, fmt.Errorf("%s[%d]: %w", l.key, i, err)
			}
			*l.out = append(*l.out, r)
		}
	}
	return rs, nil
}

// Merge returns rs with o's rules added to both lists (and o's caps).
func (rs Rules) Merge(o Rules) Rules {
	return Rules{
		Allow: append(append([]Rule(nil), rs.Allow...), o.Allow...),
		Deny:  append(append([]Rule(nil), rs.Deny...), o.Deny...),
		Caps:  append(append([]Cap(nil), rs.Caps...), o.Caps...),
		Ask:   rs.Ask || o.Ask,
	}
}

// Asks reports whether t, which rs refuses, is one to ask the owner
// about: Ask is on, the only reason is that no allow rule of the owner's
// covers it, and every cap allows it. A deny rule, a cap, or a private
// address (checked after resolution, as always) is never asked about.
func (rs Rules) Asks(t Target) bool {
	if !rs.Ask {
		return false
	}
	if ok, why := check(rs.Allow, rs.Deny, t); ok || !strings.HasPrefix(why, "no allow rule") {
		return false
	}
	for _, c := range rs.Caps {
		if ok, _ := check(c.Allow, c.Deny, t); !ok {
			return false
		}
	}
	return true
}

// Empty reports whether rs allows nothing and asks about nothing: the
// command gets no network. A cap that allows nothing empties it too.
func (rs Rules) Empty() bool {
	if len(rs.Allow) == 0 && !rs.Ask {
		return true
	}
	for _, c := range rs.Caps {
		if len(c.Allow) == 0 {
			return true
		}
	}
	return false
}

// Everything reports whether rs has an allow rule for every host ("*").
func (rs Rules) Everything() bool {
	for _, r := range rs.Allow {
		if r.Everything() {
			return true
		}
	}
	return false
}

// Target is a host and port a command asked for, parsed: a canonical name
// or an address.
type Target struct {
	Name string
	Addr netip.Addr
	Port uint16
}

// ParseTarget parses the host of a CONNECT line or an absolute URI and
// its port. Numeric names that some resolvers read as addresses
// ("2130706433", "127.1", "0x7f000001") are refused, as are zones.
func ParseTarget(host string, port uint16) (Target, error) {
	if port == 0 {
		return Target{}, fmt.Errorf("port 0")
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if a.Zone() != "" {
			return Target{}, fmt.Errorf("%q: an address with a zone", host)
		}
		return Target{Addr: a.Unmap(), Port: port}, nil
	}
	name, ok := CanonicalName(host)
	if !ok {
		return Target{}, fmt.Errorf("%q is not a host name", host)
	}
	if looksNumeric(name) {
		return Target{}, fmt.Errorf("%q is an address in a numeric form: write it as 127.0.0.1 (and allow it by address)", host)
	}
	return Target{Name: name, Port: port}, nil
}

// String returns t as host:port.
func (t Target) String() string {
	if t.Addr.IsValid() {
		return netip.AddrPortFrom(t.Addr, t.Port).String()
	}
	return t.Name + ":" + strconv.Itoa(int(t.Port))
}

// Check reports whether rs allows t, and why: the rule that decided, or
// that none did.
func (rs Rules) Check(t Target) (bool, string) {
	ok, why := check(rs.Allow, rs.Deny, t)
	if !ok {
		return false, why
	}
	for _, c := range rs.Caps {
		if ok, w := check(c.Allow, c.Deny, t); !ok {
			if strings.HasPrefix(w, "denied") {
				return false, w + " in " + c.Name
			}
			return false, t.String() + " is outside " + c.Name
		}
	}
	return true, why
}

func check(allow, deny []Rule, t Target) (bool, string) {
	for _, r := range deny {
		if r.matchHost(t.Name, t.Addr) && r.matchPort(t.Port) {
			return false, "denied by " + r.String()
		}
	}
	for _, r := range allow {
		if r.matchHost(t.Name, t.Addr) && r.matchPort(t.Port) {
			return true, "allowed by " + r.String()
		}
	}
	return false, "no allow rule covers " + t.String()
}

// NamesAddr reports whether an allow rule names addr itself (not through
// a host name or "*"), which is what lets a connection reach a private
// address: Refused. Every cap must name it too.
func (rs Rules) NamesAddr(addr netip.Addr, port uint16) bool {
	addr = addr.Unmap()
	if !namesAddr(rs.Allow, addr, port) {
		return false
	}
	for _, c := range rs.Caps {
		if !namesAddr(c.Allow, addr, port) {
			return false
		}
	}
	return true
}

func namesAddr(allow []Rule, addr netip.Addr, port uint16) bool {
	for _, r := range allow {
		if r.Addr.IsValid() && r.Addr == addr && r.matchPort(port) {
			return true
		}
	}
	return false
}
