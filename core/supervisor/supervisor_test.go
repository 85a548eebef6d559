package supervisor

import (
	"context"
	"testing"
	"time"
)

// TestRestart: Restart ends the named children's processes and each comes
// back (a new pid, OnRestart told); a child not named keeps its process.
func TestRestart(t *testing.T) {
	sh := func(name string) Child {
		return Child{Name: name, Path: "/bin/sh", Args: []string{"sh", "-c", "echo READY=1 >&3; exec 3>&-; exec sleep 600"}}
	}
	back := make(chan string, 4)
	s := &Supervisor{OnRestart: func(name string) { back <- name }}
	if err := s.Start(context.Background(), []Child{sh("a"), sh("b")}); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(5 * time.Second)
	a0, b0 := s.Status("a"), s.Status("b")
	if !a0.Up || !b0.Up {
		t.Fatalf("not up: %+v %+v", a0, b0)
	}
	if got := s.Restart("a"); len(got) != 1 || got[0] != "a" {
		t.Fatalf("Restart(a) = %v", got)
	}
	select {
	case name := <-back:
		if name != "a" {
			t.Fatalf("OnRestart(%s), want a", name)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("a did not come back within 60s")
	}
	if a1 := s.Status("a"); !a1.Up || a1.PID == a0.PID || a1.Restarts != 1 {
		t.Errorf("a after restart: %+v (before: pid %d)", a1, a0.PID)
	}
	if b1 := s.Status("b"); b1.PID != b0.PID || b1.Restarts != 0 {
		t.Errorf("b was restarted too: %+v", b1)
	}
	if got := s.Restart(); len(got) != 2 {
		t.Errorf("Restart() = %v, want both", got)
	}
}
