package main

// What a caller over the WebSocket or the relay learns from the router's
// own methods, through the real binary: without a token, ping and echo
// only; with one, its own audiences and the services they open — never
// the owner's name or uid, the device id, pids or socket paths.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// leaks lists what an answer to a remote caller must not contain.
func leaks(t *testing.T, d *devStack) []string {
	t.Helper()
	pub, err := os.ReadFile(filepath.Join(d.dir, "state", "device.pub"))
	if err != nil {
		t.Fatal(err)
	}
	var dev struct {
		DeviceID string `json:"device_id"`
	}
	json.Unmarshal(pub, &dev)
	if dev.DeviceID == "" {
		t.Fatalf("no device id in %s", pub)
	}
	return []string{dev.DeviceID, d.dir, `"user"`, `"uid"`, `"pid"`, `"socket"`, `"caller_pid"`,
		`"pid":` + strconv.Itoa(servicePID(t, d, "file"))}
}

// checkRemote runs the checks on one entry; call sends a request in a
// session without a token (anon) or with the file token (authed).
func checkRemote(t *testing.T, d *devStack, entry string, anon, authed func(req string) string) {
	t.Helper()
	secrets := leaks(t, d)
	if got := anon(`{"jsonrpc":"2.0","id":1,"method":"ping"}`); !strings.Contains(got, `"pong":true`) {
		t.Errorf("%s: ping without a token: %s", entry, got)
	}
	if got := anon(`{"jsonrpc":"2.0","id":2,"method":"echo","params":{"x":1}}`); !strings.Contains(got, `"x":1`) {
		t.Errorf("%s: echo without a token: %s", entry, got)
	}
	for _, m := range []string{"whoami", "services", "rpc.methods"} {
		got := anon(`{"jsonrpc":"2.0","id":3,"method":"` + m + `"}`)
		if !strings.Contains(got, "-32001") || !strings.Contains(got, "token_required") || !strings.Contains(got, "hint") {
			t.Errorf("%s: %s without a token: %s", entry, m, got)
		}
		for _, s := range secrets {
			if strings.Contains(got, s) {
				t.Errorf("%s: %s without a token tells %q: %s", entry, m, s, got)
			}
		}
	}
	who := authed(`{"jsonrpc":"2.0","id":4,"method":"whoami"}`)
	if !strings.Contains(who, `"audiences":["file.local.gimme.tools"]`) || !strings.Contains(who, `"owner":false`) {
		t.Errorf("%s: whoami with a token: %s", entry, who)
	}
	svcs := authed(`{"jsonrpc":"2.0","id":5,"method":"services"}`)
	if !strings.Contains(svcs, `{"name":"file","up":true}`) || strings.Contains(svcs, `"shell"`) || strings.Contains(svcs, "entries") {
		t.Errorf("%s: services with a file token: %s", entry, svcs)
	}
	for _, got := range []string{who, svcs} {
		for _, s := range secrets {
			if strings.Contains(got, s) {
				t.Errorf("%s: a token holder is told %q: %s", entry, s, got)
			}
		}
	}
}

const remoteOwnerYAML = "services:\n  file: {enabled: true, paths: [~/Docs]}\n  shell: {enabled: true}\n  code: {enabled: false}\n"

func TestRemoteCallerLearnsLittleOverWebSocket(t *testing.T) {
	addr := freePort(t)
	d := startDevWith(t, remoteOwnerYAML, "websocket: {listen: \""+addr+"\"}\n", nil, nil)
	tok := issue(t, d, "file", "GET:~/Docs/*")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	anon, _, err := websocket.Dial(ctx, "ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer anon.CloseNow()
	authed, _, err := websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		t.Fatal(err)
	}
	defer authed.CloseNow()
	checkRemote(t, d, "websocket",
		func(req string) string { return wsCall(t, ctx, anon, req) },
		func(req string) string { return wsCall(t, ctx, authed, req) })
	// The owner on the Unix socket still sees everything.
	if out := mustCLI(t, d, "whoami"); !strings.Contains(out, currentUser(t)) {
		t.Errorf("whoami over the socket: %s", out)
	}
}

func TestRemoteCallerLearnsLittleOverRelay(t *testing.T) {
	rl := &testRelay{t: t, conns: make(chan *websocket.Conn, 4)}
	srv := httptest.NewServer(rl)
	defer srv.Close()
	url := "ws://" + strings.TrimPrefix(srv.URL, "http://") + "/tunnel"
	d := startDevWith(t, remoteOwnerYAML, "relay: {url: \""+url+"\"}\n", nil, nil)
	pubPEM, err := os.ReadFile(filepath.Join(d.dir, "state", "device.pub"))
	if err != nil {
		t.Fatal(err)
	}
	pub := parseDevicePub(t, pubPEM)
	rl.pub.Store(&pub)
	tok := issue(t, d, "file", "GET:~/Docs/*")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var c *websocket.Conn
	select {
	case c = <-rl.conns:
	case <-ctx.Done():
		t.Fatal("the router never dialled the relay")
	}
	defer c.CloseNow()
	// One session at a time, so each answer read is the request's.
	call := func(session string) func(string) string {
		return func(req string) string {
			b, _ := json.Marshal(map[string]any{"session": session, "message": json.RawMessage(req)})
			if err := c.Write(ctx, websocket.MessageText, b); err != nil {
				t.Fatal(err)
			}
			_, got, err := c.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return string(got)
		}
	}
	if got := call("authed")(`{"jsonrpc":"2.0","id":0,"method":"auth","params":{"token":"` + tok + `"}}`); !strings.Contains(got, `"result"`) {
		t.Fatalf("auth over the relay: %s", got)
	}
	checkRemote(t, d, "relay", call("anon"), call("authed"))
}
