package shell

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRememberForms(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`{"id":"a","allow":true}`:                    0,
		`{"id":"a","allow":true,"remember":true}`:    DefaultRemember,
		`{"id":"a","allow":true,"remember":false}`:   0,
		`{"id":"a","allow":true,"remember":60000}`:   time.Minute,
		`{"id":"a","allow":true,"remember":"2m"}`:    2 * time.Minute,
		`{"id":"a","allow":true,"remember_ms":1000}`: time.Second,
	} {
		var p DecideParams
		if err := json.Unmarshal([]byte(in), &p); err != nil {
			t.Fatal(err)
		}
		got, err := p.rememberFor()
		if err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	var p DecideParams
	json.Unmarshal([]byte(`{"remember":"soon"}`), &p)
	if _, err := p.rememberFor(); err == nil {
		t.Error(`remember "soon" accepted`)
	}
}
