package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
)

// RouteConfig is one credential route as the control socket carries it to
// the proxy process, secret included: the session config goes from the
// code service to the proxy process only, never to the command.
type RouteConfig struct {
	Name     string `json:"name"`
	Upstream string `json:"upstream"`
	Header   string `json:"header"` // "Name: value with {secret}"
	Secret   string `json:"secret"`
}

// SetRoutes puts rs (nil: none) into the session's config.
func (c *SessionConfig) SetRoutes(rs *Routes) {
	if rs == nil {
		return
	}
	names := make([]string, 0, len(rs.Routes))
	for n := range rs.Routes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := rs.Routes[n]
		c.Routes = append(c.Routes, RouteConfig{Name: r.Name, Upstream: r.Upstream.String(), Header: r.Header + ": " + r.template, Secret: r.secret})
	}
	c.MissingRoutes = rs.Missing
	if c.Routes == nil && c.MissingRoutes == nil {
		c.MissingRoutes = map[string]string{} // routes are set, none usable: still answered, not passed on
	}
}

// routes returns the session's routes, checked again as the owner's
// config was (a route that does not parse fails the session), sent
// upstream through a transport that resolves names with resolve: the
// proxy process reads no resolver file.
func (c SessionConfig) routes(resolve func(context.Context, string) ([]netip.Addr, error)) (*Routes, error) {
	if c.Routes == nil && c.MissingRoutes == nil {
		return nil, nil
	}
	rs := &Routes{Routes: map[string]Route{}, Missing: c.MissingRoutes}
	for _, rc := range c.Routes {
		r, err := ParseRoute(rc.Name, rc.Upstream, rc.Header)
		if err == nil {
			r, err = r.WithSecret(rc.Secret)
		}
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", rc.Name, err)
		}
		rs.Routes[rc.Name] = r
	}
	t := defaultTransport.Clone()
	t.DialContext = resolvingDialer(resolve)
	rs.Transport = t
	return rs, nil
}

// resolvingDialer dials a host:port with the addresses resolve gives, in
// turn, each with dialTimeout.
func resolvingDialer(resolve func(context.Context, string) ([]netip.Addr, error)) func(context.Context, string, string) (net.Conn, error) {
	d := &net.Dialer{Timeout: dialTimeout}
	return func(ctx context.Context, network, hostport string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return nil, err
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return nil, fmt.Errorf("port %q: %w", port, err)
		}
		var addrs []netip.Addr
		if a, perr := netip.ParseAddr(host); perr == nil {
			addrs = []netip.Addr{a}
		} else if addrs, err = resolve(ctx, host); err != nil {
			return nil, err
		}
		if len(addrs) == 0 {
			return nil, errors.New("no address for " + host)
		}
		for _, a := range addrs {
			var c net.Conn
			if c, err = d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port)); err == nil {
				return c, nil
			}
		}
		return nil, err
	}
}
