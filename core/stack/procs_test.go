package stack

import "testing"

func TestServiceProcs(t *testing.T) {
	for _, c := range []struct {
		name     string
		def, out int
	}{
		{"file", 1, 1}, {"file", 2, 2}, {"file", 4, 2}, {"file", 8, 2}, {"file", 12, 3}, {"file", 64, 16},
		// Services that start processes keep the runtime's default.
		{"code", 2, 2}, {"shell", 8, 8}, {"app", 1, 1},
	} {
		if got := ServiceProcs(c.name, c.def); got != c.out {
			t.Errorf("ServiceProcs(%q, %d) = %d, want %d", c.name, c.def, got, c.out)
		}
	}
}

func TestServiceGC(t *testing.T) {
	for name, want := range map[string]bool{"file": true, "code": false, "shell": false, "app": false, "nosuch": false} {
		if got := ServiceGC(name); got != want {
			t.Errorf("ServiceGC(%q) = %v, want %v", name, got, want)
		}
	}
}
