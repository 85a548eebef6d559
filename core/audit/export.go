package audit

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Exporter sends audit records to a log pipeline besides the file:
// journald, the macOS unified log, a syslog collector. The file stays the
// source of truth: an exporter gets records only once they are in it,
// from its own goroutine, and one that fails or falls behind costs the
// file nothing (Exports).
type Exporter interface {
	// Name names the exporter in `carapace status` and doctor.
	Name() string
	// Export sends one record: its line (JSON, no newline) and its
	// fields (Fields).
	Export(line []byte, f []Field) error
	Close() error
}

// Field is one key of a record, as its text.
type Field struct{ Key, Value string }

// Fields returns a record line's keys and values in the line's order:
// strings as they are, numbers as written, objects (redacted) as JSON.
func Fields(line []byte) ([]Field, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var out []Field
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		s := string(v)
		if len(v) > 0 && v[0] == '"' {
			json.Unmarshal(v, &s)
		}
		out = append(out, Field{Key: k.(string), Value: s})
	}
	return out, nil
}

// Get returns the value of key in f, or "".
func Get(f []Field, key string) string {
	for _, x := range f {
		if x.Key == key {
			return x.Value
		}
	}
	return ""
}

// Summary is the one-line message of a record: "deny file.read
// /home/a/x (scope) agent=codex".
func Summary(f []Field) string {
	var b strings.Builder
	b.WriteString(Get(f, "decision"))
	for _, k := range []string{"method", "resource"} {
		if v := Get(f, k); v != "" {
			b.WriteString(" " + v)
		}
	}
	if r := Get(f, "reason"); r != "" {
		b.WriteString(" (" + r + ")")
	}
	if a := Get(f, "agent"); a != "" {
		b.WriteString(" agent=" + a)
	}
	return b.String()
}

// exportQueue is how many records an exporter may fall behind before
// records are left out of its export (never out of the file).
const exportQueue = 8192

// Exports hands every record written to the file to each exporter, each
// from its own bounded queue: a slow or failing exporter falls behind,
// then skips records (counted, shown in status and doctor), and never
// delays a call or the file.
type Exports struct {
	outs []*exportOut
	wg   sync.WaitGroup
}

type exportOut struct {
	e  Exporter
	q  chan []byte
	mu sync.Mutex
	st ExportStatus
}

// ExportStatus is an exporter's state.
type ExportStatus struct {
	Name     string    `json:"name"`
	Sent     uint64    `json:"sent"`
	Failed   uint64    `json:"failed"`  // records it could not send
	Dropped  uint64    `json:"dropped"` // records left out: the queue was full
	Queued   int       `json:"queued"`  // records waiting
	LastErr  string    `json:"last_error,omitempty"`
	LastSent time.Time `json:"last_sent,omitzero"`
}

// Healthy reports whether the exporter keeps up: nothing failed or
// dropped since its last success, and its queue is not filling.
func (s ExportStatus) Healthy() bool {
	return s.LastErr == "" && s.Queued < exportQueue/2
}

// NewExports starts one goroutine per exporter.
func NewExports(es ...Exporter) *Exports {
	x := &Exports{}
	for _, e := range es {
		o := &exportOut{e: e, q: make(chan []byte, exportQueue)}
		o.st.Name = e.Name()
		x.outs = append(x.outs, o)
		x.wg.Add(1)
		go func() { defer x.wg.Done(); o.run() }()
	}
	return x
}

// Written takes the lines just written to the file (each ending in a
// newline). It copies them and never blocks.
func (x *Exports) Written(lines []byte) {
	if x == nil {
		return
	}
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		if i < 0 {
			i = len(lines)
		}
		line := bytes.Clone(lines[:i])
		for _, o := range x.outs {
			select {
			case o.q <- line:
			default:
				o.mu.Lock()
				o.st.Dropped++
				o.st.LastErr = "queue full: records skipped (they are in the file)"
				o.mu.Unlock()
			}
		}
		lines = lines[min(i+1, len(lines)):]
	}
}

func (o *exportOut) run() {
	for line := range o.q {
		f, err := Fields(line)
		if err == nil {
			err = o.e.Export(line, f)
		}
		o.mu.Lock()
		if err != nil {
			o.st.Failed++
			o.st.LastErr = err.Error()
		} else {
			o.st.Sent++
			o.st.LastSent = time.Now()
			if o.st.Dropped == 0 {
				o.st.LastErr = ""
			}
		}
		o.mu.Unlock()
	}
}

// Status returns each exporter's state, by name.
func (x *Exports) Status() []ExportStatus {
	if x == nil {
		return nil
	}
	out := make([]ExportStatus, 0, len(x.outs))
	for _, o := range x.outs {
		o.mu.Lock()
		s := o.st
		o.mu.Unlock()
		s.Queued = len(o.q)
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Close sends what is queued, within wait, and closes the exporters.
func (x *Exports) Close(wait time.Duration) {
	if x == nil {
		return
	}
	for _, o := range x.outs {
		close(o.q)
	}
	done := make(chan struct{})
	go func() { x.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
	}
	for _, o := range x.outs {
		o.e.Close()
	}
}

// FieldName turns a record key into a journald field name: CARAPACE_
// and the key in capitals (CARAPACE_DECISION, CARAPACE_DURATION_US).
func FieldName(key string) string {
	var b strings.Builder
	b.WriteString("CARAPACE_")
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteString("_" + strconv.Itoa(int(r)))
		}
	}
	return b.String()
}
