package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxSessionID bounds a session id chosen by the relay.
const MaxSessionID = 128

// Frame is one tunnel frame, in either direction:
//
//	{"session": "<id>", "message": <a JSON-RPC message or batch>}
//	{"session": "<id>", "close": true}
//
// Exactly one of Message and Close is set. Unknown members are ignored, so
// a relay may add its own (a trace id) without breaking older routers.
type Frame struct {
	Session string          `json:"session"`
	Message json.RawMessage `json:"message,omitempty"`
	Close   bool            `json:"close,omitempty"`
}

// DecodeFrame parses and checks one frame received from the relay.
func DecodeFrame(b []byte) (Frame, error) {
	var f Frame
	if err := json.Unmarshal(b, &f); err != nil {
		return Frame{}, fmt.Errorf("relay frame: %w", err)
	}
	if err := checkSession(f.Session); err != nil {
		return Frame{}, err
	}
	hasMsg := len(f.Message) > 0 && !bytes.Equal(f.Message, []byte("null"))
	switch {
	case hasMsg && f.Close:
		return Frame{}, errors.New("relay frame: both message and close")
	case !hasMsg && !f.Close:
		return Frame{}, errors.New("relay frame: neither message nor close")
	}
	if !hasMsg {
		f.Message = nil
	}
	return f, nil
}

func checkSession(id string) error {
	switch {
	case id == "":
		return errors.New("relay frame: no session id")
	case len(id) > MaxSessionID:
		return fmt.Errorf("relay frame: session id over %d bytes", MaxSessionID)
	}
	return nil
}

// appendMessage appends the frame carrying msg for session id.
func appendMessage(dst []byte, id string, msg []byte) []byte {
	dst = append(dst, `{"session":`...)
	dst = appendString(dst, id)
	dst = append(dst, `,"message":`...)
	dst = append(dst, msg...)
	return append(dst, '}')
}

// appendClose appends the frame that ends session id.
func appendClose(dst []byte, id string) []byte {
	dst = append(dst, `{"session":`...)
	dst = appendString(dst, id)
	return append(dst, `,"close":true}`...)
}

func appendString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}

// sessionOf finds the session id at the start of a frame too large to
// parse whole: {"session": "<id>", ...}, with "session" the first member,
// as this package and the documented format write it. It reports false
// when the prefix does not start that way.
func sessionOf(prefix []byte) (string, bool) {
	d := json.NewDecoder(bytes.NewReader(prefix))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	if t, err := d.Token(); err != nil || t != "session" {
		return "", false
	}
	t, err := d.Token()
	id, ok := t.(string)
	if err != nil || !ok || checkSession(id) != nil {
		return "", false
	}
	return id, true
}
