package install

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestParseGetfacl(t *testing.T) {
	out := []byte("# file: /a\\040b\n# owner: root\nuser::rwx\nuser:_gimme_file:rwx\nmask::rwx\nother::r-x\n\n" +
		"# file: /c\nuser::rwx\ngroup::r-x\nmask::rwx\nother::r-x\ndefault:user::rwx\ndefault:other::r-x\n\n")
	b := parseGetfacl(out)
	if len(b) != 2 || b[0].path != "/a b" || !b[0].namedAccess || b[0].namedDefault {
		t.Fatalf("parse = %+v", b)
	}
	if b[1].namedAccess || !b[1].hasMask || !b[1].hasDefault || b[1].namedDefault {
		t.Errorf("second block = %+v", b[1])
	}
}

func FuzzParseGetfacl(f *testing.F) {
	f.Add([]byte("# file: /a\\040b\nuser:x:rwx\nmask::rwx\n"))
	f.Add([]byte("# file: \\\ndefault:group:g:r\n"))
	f.Fuzz(func(t *testing.T, b []byte) { parseGetfacl(b) })
}

// TestGrantRevokeRoundTrip grants a real folder to a real user with
// setfacl and takes it back: the tree's ACLs are as before, and a file
// the user created belongs to the owner again.
func TestGrantRevokeRoundTrip(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make files of another uid")
	}
	if _, err := exec.LookPath("setfacl"); err != nil {
		t.Skip("setfacl not installed (apt-get install acl)")
	}
	svc, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	dir := filepath.Join(t.TempDir(), "My Docs")
	os.MkdirAll(filepath.Join(dir, "sub"), 0o750)
	os.WriteFile(filepath.Join(dir, "sub", "f"), []byte("x"), 0o640)
	before := getfacl(t, dir)
	g := Grant{Path: dir, User: "nobody", Owner: "root"}
	if err := (Plan(grantSteps(g))).Run(&strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(getfacl(t, dir), "user:nobody:rwx") {
		t.Fatal("grant did not add the entry")
	}
	made := filepath.Join(dir, "sub", "made-by-service")
	os.WriteFile(made, nil, 0o600)
	uid, _ := strconv.Atoi(svc.Uid)
	os.Chown(made, uid, uid)
	if err := (Plan(revokeSteps(g, uid, 0, 0))).Run(&strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(made)
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 {
		t.Errorf("file made by the service still belongs to uid %d", st.Uid)
	}
	os.Remove(made)
	if after := getfacl(t, dir); after != before {
		t.Errorf("ACLs differ after revoke:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func getfacl(t *testing.T, dir string) string {
	out, err := exec.Command("getfacl", "-R", "-p", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
