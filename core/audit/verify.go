package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Report summarises a verified log.
type Report struct {
	Files    []string
	Records  int
	FirstSeq uint64
	LastSeq  uint64
	// LastHash is the hash of the last record: compare it, with LastSeq,
	// against a copy kept elsewhere to detect a log cut at its end.
	LastHash string
	// Genesis reports whether the chain starts at the first record ever
	// written; when false, older files were rotated away (or removed).
	Genesis bool
	// Checkpoints counts the signed checkpoints (VerifyCheckpoints checks
	// their signatures); LastCheckpoint is the seq of the last one, and
	// Unvouched how many records follow it.
	Checkpoints    int    `json:"checkpoints"`
	LastCheckpoint uint64 `json:"last_checkpoint,omitempty"`
	Unvouched      int    `json:"unvouched"`
}

// Break says where and why a chain is broken.
type Break struct {
	File string
	Line int // 1-based
	Why  string
}

func (b *Break) Error() string {
	return fmt.Sprintf("audit chain broken at %s line %d: %s", b.File, b.Line, b.Why)
}

// Verify checks the chain in path: a log directory (every file, in chain
// order, links checked across files) or a single file (its own records;
// the link into its first record is taken on trust). It returns a *Break
// for the first break it finds, another error if a file cannot be read.
func Verify(path string) (Report, error) { return verify(path, nil) }

// VerifyCheckpoints is Verify that also checks every checkpoint's
// signature with the device's public key: a file rewritten before a
// checkpoint, even with every hash re-chained, fails there.
func VerifyCheckpoints(path string, pub ed25519.PublicKey) (Report, error) {
	return verify(path, pub)
}

func verify(path string, pub ed25519.PublicKey) (Report, error) {
	var files []string
	fi, err := os.Stat(path)
	if err != nil {
		return Report{}, err
	}
	if fi.IsDir() {
		if files, err = Files(path); err != nil {
			return Report{}, err
		}
	} else {
		files = []string{path}
	}
	v := verifier{rep: Report{Files: files}, pub: pub}
	for _, f := range files {
		if err := v.file(f); err != nil {
			return v.rep, err
		}
	}
	return v.rep, nil
}

type verifier struct {
	rep  Report
	pub  ed25519.PublicKey // checks checkpoints' signatures when set
	prev string            // hash of the last line seen; "" before the first
	seq  uint64
}

func (v *verifier) file(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return v.data(filepath.Base(path), b)
}

// data checks the records in b, the contents of the file called name.
func (v *verifier) data(name string, b []byte) error {
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n := bytes.Count(b, []byte("\n")) + 1
		return &Break{name, n, "the last line is incomplete (a crash mid-write, or a cut)"}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if why := v.line(sc.Bytes()); why != "" {
			return &Break{name, n, why}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// line checks one record and advances the chain; it returns why it is
// broken, or "".
func (v *verifier) line(line []byte) string {
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return "not a record: " + err.Error()
	}
	if r.Decision != Allow && r.Decision != Deny && r.Decision != Prompt && r.Decision != Checkpoint {
		return fmt.Sprintf("decision %q is not allow, deny, prompt or checkpoint", r.Decision)
	}
	switch {
	case v.prev == "" && r.Seq == 1 && r.Prev != Genesis:
		return "the first record does not start from the genesis hash"
	case v.prev == "":
		v.rep.FirstSeq, v.rep.Genesis = r.Seq, r.Seq == 1
	case r.Prev != v.prev:
		return fmt.Sprintf("record %d does not link to the record before it (edited, inserted or removed records)", r.Seq)
	case r.Seq != v.seq+1:
		return fmt.Sprintf("sequence jumps from %d to %d", v.seq, r.Seq)
	}
	if r.Decision == Checkpoint {
		if v.pub != nil {
			if why := checkCheckpoint(&r, v.pub); why != "" {
				return why
			}
		}
		v.rep.Checkpoints++
		v.rep.LastCheckpoint, v.rep.Unvouched = r.Seq, -1
	}
	v.rep.Unvouched++
	v.prev, v.seq = hashLine(line), r.Seq
	v.rep.Records++
	v.rep.LastSeq, v.rep.LastHash = r.Seq, v.prev
	return ""
}
