package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/gimme-tools/carapace/core/errs"
)

// Report is what Inspect learns about a token.
type Report struct {
	Header   map[string]any `json:"header,omitempty"` // decoded, not trusted
	Claims   map[string]any `json:"claims,omitempty"` // decoded, not trusted
	Accepted bool           `json:"accepted"`         // Verify would accept it now
	Reason   errs.Reason    `json:"reason,omitempty"` // why not
	Hint     string         `json:"hint,omitempty"`
	Error    string         `json:"error,omitempty"`
}

// Inspect decodes raw without trusting it and reports whether Verify would
// accept it now for its own audience, and if not why. It consumes nothing
// and does not touch the cache of verified tokens.
func (v *Verifier) Inspect(raw string) Report {
	var r Report
	if len(raw) <= MaxTokenSize {
		parts := strings.Split(raw, ".")
		if len(parts) == 3 {
			r.Header = decodePart(parts[0])
			r.Claims = decodePart(parts[1])
		}
	}
	aud := ""
	if a, ok := r.Claims["aud"].(string); ok {
		aud = a
	}
	_, err := v.verify(raw, aud, true, false)
	r.Accepted = err == nil
	if err != nil {
		r.Reason, r.Hint, r.Error = errs.ReasonOf(err), errs.HintOf(err), err.Error()
	}
	return r
}

func decodePart(s string) map[string]any {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if d.Decode(&m) != nil {
		return nil
	}
	return m
}
