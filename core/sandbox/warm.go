package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Warm returns how to start a helper before its command is known (a
// "warm" helper): it waits for a Request on descriptor 3, then behaves
// exactly like the helper Wrap names; after the command it may wait for
// another. It is set by the platform package; nil means no warm start on
// this platform.
//
// On Linux Argv is [helper, "sandbox-exec", "--warm"]. The caller starts
// it in a new session with one end of a Unix stream socket as descriptor
// 3 and an almost empty environment. The helper writes one byte there
// when it is ready; for each command the caller sends the encoded
// Request after its length (4 bytes, big-endian), with the command's
// stdout, stderr and, when Request.Stdin is set, stdin (SCM_RIGHTS), and
// the helper answers with two bytes, the exit code and flags, one of
// which says it waits for another request of the same kind
// (Spec.ReuseKey). A helper whose socket closes without a request exits
// at once (status 2), so a warm helper never outlives the process that
// started it by more than that. docs/internals.md writes down this
// handshake.
var Warm func() (WarmStart, error)

// WarmStart is how to start a warm helper.
type WarmStart struct {
	Argv []string
	// Attr, when set, returns the process attributes to start the helper
	// with (the caller adds Setsid): on Linux a mount namespace of its
	// own, and a user namespace when not root, in which the helper
	// mounts .git/hooks and .git/config read-only itself. Where starting
	// with them fails (user namespaces turned off), start it without:
	// the helper then falls back to a second stage for such commands.
	Attr func() *syscall.SysProcAttr
	// Fallback, when set, is Attr without the network namespace: where
	// only that fails, helpers keep their mount namespace (.git
	// protection, a private devpts) and commands get no network.
	Fallback func() *syscall.SysProcAttr
}

// Request is what a warm helper reads: the words Wrap would have put
// after "sandbox-exec", and the environment, working directory and stdin
// the helper would otherwise have been started with.
type Request struct {
	Args []string `json:"args"` // --spec S -- CMD ARGS…
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
	// Stdin reports whether the request comes with a stdin descriptor
	// for the command; false gives it /dev/null, as an unstarted
	// exec.Cmd would.
	Stdin bool `json:"stdin"`
}

// maxRequest bounds an encoded Request: a Spec's bound plus the command
// line and environment a kernel would accept.
const maxRequest = maxEncoded + 4<<20

// Encode returns r as one JSON document.
func (r Request) Encode() []byte {
	b, _ := json.Marshal(r) // strings and slices only: cannot fail
	return b
}

// DecodeRequest parses what Encode wrote, strictly: no unknown fields,
// no trailing data, no NUL bytes, an absolute directory and NAME=value
// environment entries. Args are checked by the helper's own parser.
func DecodeRequest(b []byte) (Request, error) {
	var r Request
	if len(b) > maxRequest {
		return r, fmt.Errorf("sandbox request: %d bytes, more than %d", len(b), maxRequest)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Request{}, fmt.Errorf("sandbox request: %w", err)
	}
	if dec.More() {
		return Request{}, errors.New("sandbox request: trailing data")
	}
	if !strings.HasPrefix(r.Dir, "/") || strings.ContainsRune(r.Dir, 0) {
		return Request{}, fmt.Errorf("sandbox request: directory %q is not absolute", r.Dir)
	}
	for _, kv := range r.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" || strings.ContainsRune(kv, 0) {
			return Request{}, fmt.Errorf("sandbox request: bad environment entry %q", kv)
		}
	}
	for _, a := range r.Args {
		if strings.ContainsRune(a, 0) {
			return Request{}, errors.New("sandbox request: NUL byte in an argument")
		}
	}
	return r, nil
}
