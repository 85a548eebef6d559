package code

import (
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/service"
)

// egressGrace is how long the answer waits, after the command, for its
// connections' records: each connection ends with the command (its
// socket's other end is the command's), so this is rarely waited for.
const egressGrace = 5 * time.Second

// netSession serves one command's connections: the helper passes each
// TCP connection the command opens to its forwarder, as a descriptor, over
// the pool's end of its descriptor 5; the proxy (core/egress), with the
// owner's rules for the command's directory, decides and relays it, and
// each connection becomes an audit record (service.Decide, by
// audit.ByEgress).
type netSession struct {
	proxy *egress.Proxy
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
	sock  *os.File
}

func newNetSession(call *service.Call, rules egress.Rules, routes *egress.Routes) *netSession {
	ns := &netSession{conns: map[net.Conn]bool{}}
	ns.proxy = &egress.Proxy{Rules: rules, Routes: routes, Record: func(r egress.Record) {
		service.Decide(call, service.Decision{Decision: r.Decision, By: audit.ByEgress, Reason: describe(r)})
	}}
	return ns
}

// describe is a connection's audit reason: what, where to, how much, why.
// A credential route's use names the route, the path sent upstream and
// the upstream's status.
func describe(r egress.Record) string {
	if r.Route != "" {
		return fmt.Sprintf("network route %s: %s %s:%d%s → %d, up %d B, down %d B: %s", r.Route, r.Method, r.Host, r.Port, r.Path, r.Status, r.Up, r.Down, r.Why)
	}
	to := r.Addr
	if to == "" {
		to = "-"
	}
	return fmt.Sprintf("network %s %s:%d → %s, up %d B, down %d B: %s", r.Method, r.Host, r.Port, to, r.Up, r.Down, r.Why)
}

// serve takes the pool's end of the helper's descriptor 5 (Command.Egress).
func (ns *netSession) serve(sock *os.File) {
	ns.sock = sock
	ns.wg.Add(1)
	go func() {
		defer ns.wg.Done()
		defer sock.Close()
		for {
			c, err := egress.Receive(sock)
			if err != nil {
				return
			}
			if c == nil {
				continue
			}
			ns.mu.Lock()
			ns.conns[c] = true
			ns.mu.Unlock()
			ns.wg.Add(1)
			go func() {
				defer ns.wg.Done()
				ns.proxy.ServeConn(c)
				ns.mu.Lock()
				delete(ns.conns, c)
				ns.mu.Unlock()
			}()
		}
	}()
}

// wait waits, after the command, for its connections to end and be
// recorded; past egressGrace it closes what is left.
func (ns *netSession) wait() {
	done := make(chan struct{})
	go func() { ns.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(egressGrace):
	}
	ns.mu.Lock()
	for c := range ns.conns {
		c.Close()
	}
	ns.mu.Unlock()
	if ns.sock != nil {
		ns.sock.Close()
	}
	<-done
}
