package egress

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listen serves control sockets on a fresh SOCK_SEQPACKET listener, as
// carapace-egress.socket would, for peers of uid peerUID.
func listen(t *testing.T, peerUID int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "egress.sock")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go ServeListener(ln, peerUID)
	return path
}

// passConn plays the helper's forwarder: it accepts a connection the
// "command" opens and passes the socket over helper.
func passConn(t *testing.T, helper *os.File) net.Conn {
	t.Helper()
	fwd, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Close()
	cmd, err := net.Dial("tcp", fwd.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted, err := fwd.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	f, err := accepted.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Sendmsg(int(helper.Fd()), []byte{0}, unix.UnixRights(int(f.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestRunnerConnectsToSocket: where the proxy unit's socket exists, the
// Runner connects to it (it has no command to start) and the command's
// connections are served and recorded there.
func TestRunnerConnectsToSocket(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "served") }))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	r := &Runner{Socket: listen(t, os.Getuid())} // no Argv: starting a process fails
	defer r.Close()
	pool, helper, err := seqpacketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer helper.Close()
	records := make(chan Record, 4)
	s, err := r.Open(SessionConfig{Allow: []string{host}}, pool, func(rec Record) { records <- rec }, nil)
	if err != nil {
		t.Fatalf("Open through the socket: %v", err)
	}
	cmd := passConn(t, helper)
	io.WriteString(cmd, "GET "+srv.URL+"/ HTTP/1.1\r\nHost: "+host+"\r\n\r\n")
	cmd.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, _ := io.ReadAll(cmd)
	cmd.Close()
	if !strings.Contains(string(got), "served") {
		t.Errorf("the command read %q, want the server's answer", got)
	}
	helper.Close()
	s.Wait(30 * time.Second)
	select {
	case rec := <-records:
		if rec.Decision != "allow" || rec.Addr != host {
			t.Errorf("record %+v, want an allowed connection to %s", rec, host)
		}
	default:
		t.Error("no record of the connection")
	}
	if r.Pid() != 0 {
		t.Errorf("the Runner started a process (pid %d) though the socket exists", r.Pid())
	}
}

// TestListenerRefusesOtherUID: a peer whose uid is not the code
// service's gets no control socket: the Runner's Open fails, naming why.
func TestListenerRefusesOtherUID(t *testing.T) {
	r := &Runner{Socket: listen(t, os.Getuid()+1)}
	defer r.Close()
	pool, helper, err := seqpacketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer helper.Close()
	if _, err := r.Open(SessionConfig{Allow: []string{"example.com"}}, pool, nil, nil); err == nil || !strings.Contains(err.Error(), "is not the code service's") {
		t.Fatalf("Open from the wrong uid: %v, want a refusal naming the uid", err)
	}
}

// TestSessionOpened: WaitOpened returns once the proxy says the session
// serves, while the command still runs (the session has not ended); and
// for a session the proxy cannot serve, only after the deny record saying
// why has been given to record — a command that made no connection waits
// for nothing else, and loses no record.
func TestSessionOpened(t *testing.T) {
	r := &Runner{Socket: listen(t, os.Getuid())}
	defer r.Close()
	open := func(cfg SessionConfig, record func(Record)) (*Session, *os.File) {
		t.Helper()
		pool, helper, err := seqpacketPair()
		if err != nil {
			t.Fatal(err)
		}
		s, err := r.Open(cfg, pool, record, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s, helper
	}
	s, helper := open(SessionConfig{Allow: []string{"example.com"}}, nil)
	s.WaitOpened(30 * time.Second)
	select {
	case <-s.ready:
	default:
		t.Fatal("WaitOpened returned without the proxy's word")
	}
	select {
	case <-s.done:
		t.Error("the session ended while the helper was still there")
	default:
	}
	helper.Close()
	s.Wait(30 * time.Second)

	var records []Record // written before ready closes: no lock needed after
	bad := SessionConfig{Allow: []string{"example.com"}, Routes: []RouteConfig{{Name: "gh", Upstream: "http://api.github.com"}}}
	s, helper = open(bad, func(rec Record) { records = append(records, rec) })
	defer helper.Close()
	s.WaitOpened(30 * time.Second)
	if len(records) != 1 || records[0].Decision != "deny" || !strings.Contains(records[0].Why, "bad session rules") {
		t.Errorf("records when WaitOpened returned: %+v, want the session's refusal", records)
	}
}
