package service

import (
	"encoding/json"
	"testing"

	"github.com/gimme-tools/carapace/core/errs"
)

func TestDecode(t *testing.T) {
	type P struct {
		Path string `json:"path"`
		N    int    `json:"n"`
	}
	for _, tc := range []struct {
		in   string
		ok   bool
		path string
	}{
		{`{"path":"/a","n":1}`, true, "/a"},
		{``, true, ""},
		{`null`, true, ""},
		{`{"path":"/a","bogus":1}`, false, ""},
		{`["/a"]`, false, ""},
		{`{"n":"x"}`, false, ""},
		{`{"path":"/a"} {}`, false, ""},
	} {
		var p P
		err := Decode(json.RawMessage(tc.in), &p)
		if (err == nil) != tc.ok {
			t.Errorf("Decode(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if err != nil && errs.KindOf(err) != errs.InvalidParams {
			t.Errorf("Decode(%q) kind = %v, want InvalidParams", tc.in, errs.KindOf(err))
		}
		if err == nil && p.Path != tc.path {
			t.Errorf("Decode(%q) path = %q", tc.in, p.Path)
		}
	}
}

func TestTableDuplicatePanics(t *testing.T) {
	var tb Table
	tb.Register("a.b", nil)
	defer func() {
		if recover() == nil {
			t.Fatal("second Register did not panic")
		}
	}()
	tb.Register("a.b", nil)
}
