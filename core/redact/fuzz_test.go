package redact

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzStream: no input panics the scanner, and a secret placed anywhere in
// fuzzed text, with the stream cut at fuzzed places, never comes out.
func FuzzStream(f *testing.F) {
	f.Add([]byte("plain text\n"), uint16(3), uint8(7))
	f.Add([]byte("key = "), uint16(0), uint8(1))
	f.Add([]byte("-----BEGIN \x00\xff ey sk s. q~"), uint16(5), uint8(2))
	s := Default()
	f.Fuzz(func(t *testing.T, text []byte, at uint16, chunk uint8) {
		s.Find(text)
		s.Redact(text)
		i := int(at) % (len(text) + 1)
		for _, secret := range []string{githubPAT, awsKey} {
			in := append(append(append([]byte{}, text[:i]...), " "+secret+" "...), text[i:]...)
			n := int(chunk)%64 + 1
			var out bytes.Buffer
			st := s.NewStream(func(b []byte) { out.Write(b) })
			for j := 0; j < len(in); j += n {
				st.Write(in[j:min(j+n, len(in))])
			}
			st.Close()
			if strings.Contains(out.String(), secret) {
				t.Fatalf("secret came out of %q: %q", in, out.String())
			}
		}
	})
}
