// Package units generates every file systemd needs to run Carapace
// installed: the sysusers.d and tmpfiles.d entries, one socket and one
// service unit per capability service, and the per-owner drop-ins that
// open exactly the configured folders. The files are Go data, rendered
// here, so the .deb, the installer and the tests cannot drift apart.
package units

import (
	"bytes"
	"fmt"
	"io/fs"
)

// Directive is one "Key=Value" line of a unit file.
type Directive struct {
	Key, Value string
}

// Section is one "[Name]" section of a unit file, in order.
type Section struct {
	Name       string
	Directives []Directive
}

// File is a file to install: its absolute path, mode and content.
type File struct {
	Path    string
	Mode    fs.FileMode
	Content []byte
}

// Render writes sections in systemd's unit syntax under a header comment.
func Render(header string, sections []Section) []byte {
	var b bytes.Buffer
	if header != "" {
		fmt.Fprintf(&b, "# %s\n", header)
	}
	for i, s := range sections {
		if i > 0 || header != "" {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "[%s]\n", s.Name)
		for _, d := range s.Directives {
			fmt.Fprintf(&b, "%s=%s\n", d.Key, d.Value)
		}
	}
	return b.Bytes()
}

// Get returns the values of key in section name, in order.
func Get(sections []Section, name, key string) []string {
	var out []string
	for _, s := range sections {
		if s.Name != name {
			continue
		}
		for _, d := range s.Directives {
			if d.Key == key {
				out = append(out, d.Value)
			}
		}
	}
	return out
}

// kv builds directives from alternating keys and values.
func kv(pairs ...string) []Directive {
	if len(pairs)%2 != 0 {
		panic("units: odd number of key/value strings")
	}
	out := make([]Directive, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Directive{pairs[i], pairs[i+1]})
	}
	return out
}
