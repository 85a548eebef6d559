package xpcbridge

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzWriteSplit checks that however the bytes are chunked into writes,
// the messages sent are exactly the non-empty lines.
func FuzzWriteSplit(f *testing.F) {
	f.Add([]byte(`{"a":1}`+"\n"+`{"b"`), []byte(`:2}`+"\n\n"), uint8(3))
	f.Add([]byte("\n\n\n"), []byte("x"), uint8(0))
	f.Fuzz(func(t *testing.T, a, b []byte, cut uint8) {
		c, ep := newTestConn()
		data := append(append([]byte{}, a...), b...)
		i := int(cut) % (len(data) + 1)
		for _, chunk := range [][]byte{data[:i], data[i:]} {
			if _, err := c.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		var want []string
		lines := bytes.Split(data, []byte("\n"))
		for _, l := range lines[:len(lines)-1] { // the last has no newline yet
			if len(l) > 0 {
				want = append(want, string(l))
			}
		}
		if strings.Join(ep.sent, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("sent %q, want %q", ep.sent, want)
		}
	})
}

// FuzzRequirement checks that Requirement either refuses its input or
// returns a requirement of the expected shape: no input can inject a
// clause.
func FuzzRequirement(f *testing.F) {
	f.Add("ABCDE12345", "file")
	f.Add("ABCDE12345", `file"] exists or entitlement["x`)
	f.Add(`X" or anchor apple`, "router")
	f.Fuzz(func(t *testing.T, team, svc string) {
		r := Requirement(team, svc)
		if r == "" {
			return
		}
		if !requirementShape.MatchString(r) || strings.Count(r, " and ") != 3 || strings.Contains(r, " or ") {
			t.Errorf("Requirement(%q, %q) = %q", team, svc, r)
		}
	})
}
