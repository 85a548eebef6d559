package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cliIO runs the CLI against the stack with stdin, returning raw stdout.
func (d *devStack) cliIO(stdin io.Reader, args ...string) (stdout []byte, stderr string, code int) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket, "PATH=/usr/bin:/bin"}
	var o, e bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		d.t.Fatal(err)
	}
	return o.Bytes(), e.String(), code
}

func fileStack(t *testing.T) (*devStack, string) {
	d := startDev(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n", nil)
	return d, filepath.Join(d.home, "Docs")
}

// TestFileCLIBigRoundTrip writes 5 MiB of random bytes from stdin, through
// file.upload's pipe and in chunks, and reads them back, through the
// descriptor and through chunks.
func TestFileCLIBigRoundTrip(t *testing.T) {
	d, docs := fileStack(t)
	want := make([]byte, 5<<20)
	rand.Read(want)
	big := filepath.Join(docs, "big.bin")
	for _, via := range []string{"chunks", "fd"} {
		args := []string{"file", "write", big, "-", "--json", "--mode", "overwrite"}
		if via == "chunks" {
			args = append(args, "--chunks")
		}
		out, errOut, code := d.cliIO(bytes.NewReader(want), args...)
		var wr struct {
			Bytes  int64
			Chunks int
			Size   int64
			Via    string
		}
		if code != 0 || json.Unmarshal(out, &wr) != nil || wr.Bytes != 5<<20 || wr.Size != 5<<20 || wr.Via != via || (via == "chunks") != (wr.Chunks >= 2) {
			t.Fatalf("write via %s: %d %s %s\n%s", via, code, out, errOut, d.stderr)
		}
		if got, _ := os.ReadFile(big); !bytes.Equal(got, want) {
			t.Fatalf("the file written via %s differs from the input", via)
		}
		if via == "chunks" {
			os.Remove(big)
		}
	}
	for _, tc := range []struct {
		args []string
		via  string
	}{
		{[]string{"file", "read", big, "--json"}, "fd"},
		{[]string{"file", "read", big, "--chunks", "--json"}, "chunks"},
	} {
		out, errOut, code := d.cliIO(nil, tc.args...)
		var rep struct {
			Via   string
			Bytes int64
		}
		if code != 0 || json.Unmarshal([]byte(errOut), &rep) != nil || rep.Via != tc.via || rep.Bytes != 5<<20 {
			t.Fatalf("%v: %d, report %s", tc.args, code, errOut)
		}
		if !bytes.Equal(out, want) {
			t.Fatalf("%v: %d bytes differ from what was written", tc.args, len(out))
		}
	}
	// -o FILE, and the report on stdout then.
	local := filepath.Join(t.TempDir(), "copy")
	out, errOut, code := d.cliIO(nil, "file", "read", big, "-o", local, "-v")
	if got, _ := os.ReadFile(local); code != 0 || !bytes.Equal(got, want) || !strings.Contains(errOut, "via fd") {
		t.Fatalf("read -o: %d %s %s", code, out, errOut)
	}
	// A multi-chunk overwrite replaces the file whole and leaves no part file.
	want2 := bytes.Repeat([]byte("0123456789abcdef"), 100_000)
	if _, errOut, code := d.cliIO(bytes.NewReader(want2), "file", "write", big, "-"); code != 1 || !strings.Contains(errOut, "--mode overwrite") {
		t.Fatalf("create over an existing file: %d %s", code, errOut)
	}
	if _, errOut, code := d.cliIO(bytes.NewReader(want2), "file", "write", big, "-", "--mode", "overwrite"); code != 0 {
		t.Fatalf("overwrite: %d %s", code, errOut)
	}
	if got, _ := os.ReadFile(big); !bytes.Equal(got, want2) {
		t.Fatal("overwrite left other content")
	}
	if ents, _ := os.ReadDir(docs); len(ents) != 1 {
		t.Fatalf("files left in Docs: %v", ents)
	}
}

func TestFileCLIOperations(t *testing.T) {
	d, docs := fileStack(t)
	run := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := d.cliIO(strings.NewReader(stdin), args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
		return string(out)
	}
	run("hello needle\n", "file", "write", docs+"/a.txt", "-")
	run("more\n", "file", "write", docs+"/a.txt", "-", "--mode", "append")
	if out := run("", "file", "read", docs+"/a.txt"); out != "hello needle\nmore\n" {
		t.Fatalf("read after append: %q", out)
	}
	run("", "file", "mkdir", "-p", docs+"/x/y")
	run("", "file", "mv", docs+"/a.txt", docs+"/x/y/b.txt")
	var st struct{ Type, Path string }
	json.Unmarshal([]byte(run("", "file", "stat", docs+"/x/y/b.txt", "--json")), &st)
	if st.Type != "file" || st.Path != docs+"/x/y/b.txt" {
		t.Fatalf("stat: %+v", st)
	}
	var ls struct{ Entries []struct{ Name, Type string } }
	json.Unmarshal([]byte(run("", "file", "ls", docs+"/x/y", "--json", "--glob", "*.txt")), &ls)
	if len(ls.Entries) != 1 || ls.Entries[0].Name != "b.txt" {
		t.Fatalf("ls: %+v", ls)
	}
	if out := run("", "file", "find", docs, "needle"); !strings.Contains(out, "b.txt:1:hello needle") {
		t.Fatalf("find: %q", out)
	}
	run("other\n", "file", "write", docs+"/c.txt", "-")
	for _, via := range [][]string{nil, {"--chunks"}} { // file.upload, file.write
		run("durable\n", append([]string{"file", "write", docs + "/d.txt", "-", "--sync", "--mode", "overwrite"}, via...)...)
		if out := run("", "file", "read", docs+"/d.txt"); out != "durable\n" {
			t.Fatalf("read after write --sync %v: %q", via, out)
		}
	}
	if _, errOut, code := d.cliIO(nil, "file", "mv", docs+"/c.txt", docs+"/x/y/b.txt"); code != 1 || !strings.Contains(errOut, "hint:") {
		t.Fatalf("mv onto a file without --replace: %d %s", code, errOut)
	}
	run("", "file", "mv", docs+"/c.txt", docs+"/x/y/b.txt", "--replace")
	if _, errOut, code := d.cliIO(nil, "file", "rm", docs+"/x"); code != 1 || !strings.Contains(errOut, "hint:") {
		t.Fatalf("rm of a directory without -r: %d %s", code, errOut)
	}
	run("", "file", "rm", "-r", docs+"/x")
	if _, err := os.Stat(docs + "/x"); !os.IsNotExist(err) {
		t.Fatalf("rm -r left %v", err)
	}
}

// TestFileCLIRefusals: each refusal exits with its code and a hint.
func TestFileCLIRefusals(t *testing.T) {
	d, docs := fileStack(t)
	os.WriteFile(docs+"/.env", []byte("SECRET=1\n"), 0o600)
	os.WriteFile(docs+"/ok.txt", []byte("ok\n"), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		// The owner's own CLI cannot even mint a token outside the folders.
		{[]string{"file", "read", "/etc/passwd"}, 1, "`/etc/passwd` is outside your allowed folders"},
		{[]string{"file", "read", docs + "/.env"}, 1, "denied_by_rule"},
		{[]string{"file", "read", docs + "/.env", "--chunks"}, 1, "denied_by_rule"},
		{[]string{"file", "read", docs + "/../Docs-old/x"}, 1, "Docs-old/x` is outside your allowed folders"},
		{[]string{"file", "read", docs + "/nope"}, 1, "not_found"},
		{[]string{"file", "write", docs + "/.env", "--mode", "overwrite", "-"}, 1, "denied_by_rule"},
		{[]string{"file", "rm", docs}, 1, "allowed_folder"},
		{[]string{"file", "read"}, 2, "one path"},
		{[]string{"file", "read", docs + "/ok.txt", "--mode", "append"}, 2, "carapace file read"},
		{[]string{"file", "write", docs + "/n.txt", "--mode", "bogus", "-"}, 2, "unknown mode"},
		{[]string{"file", "read", docs + "/ok.txt", "--socket", filepath.Join(t.TempDir(), "none.sock")}, 3, "router down"},
	} {
		out, errOut, code := d.cliIO(strings.NewReader("x"), tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "hint:") {
			t.Errorf("%v: exit %d, stderr %q, want exit %d with %q and a hint", tc.args, code, errOut, tc.code, tc.want)
		}
		if bytes.Contains(out, []byte("SECRET")) {
			t.Errorf("%v leaked: %s", tc.args, out)
		}
	}
}
