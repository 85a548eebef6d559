package peer

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestStatusConfined(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   bool
	}{
		{"Name:\tbash\nNoNewPrivs:\t0\nSeccomp:\t0\n", false},
		{"NoNewPrivs:\t1\nSeccomp:\t0\n", true},
		{"NoNewPrivs:\t0\nSeccomp:\t2\n", true},
		{"Name:\tx\n", false},
	} {
		if got := statusConfined([]byte(tc.status)); got != tc.want {
			t.Errorf("%q: got %v", tc.status, got)
		}
	}
}

// TestFromConn reads our own credentials over a real socket pair, and a
// confined peer's: setpriv --no-new-privs marks it.
func TestFromConn(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accept := func() Creds {
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cr, err := FromConn(c)
		if err != nil {
			t.Fatal(err)
		}
		return cr
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cr := accept()
	if cr.UID != os.Geteuid() || cr.PID != os.Getpid() || cr.Confined {
		t.Fatalf("own creds %+v", cr)
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not installed")
	}
	cmd := exec.Command(setpriv, "--no-new-privs", "python3", "-c",
		"import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(2)", sock)
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start confined peer:", err)
	}
	defer cmd.Wait()
	if cr := accept(); !cr.Confined {
		t.Fatalf("no-new-privs peer not seen as confined: %+v", cr)
	}
}
