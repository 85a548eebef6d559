//go:build linux

package file

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
)

// startUpload calls file.upload as token on the Unix socket and returns
// its result and the pipe's write end.
func (e *env) startUpload(path, mode, token string) (*UploadResult, *os.File, error) {
	b, _ := json.Marshal(map[string]any{"path": path, "mode": mode})
	res, err := e.m["file.upload"](context.Background(), &service.Call{Method: "file.upload", Params: b,
		Caller: service.Caller{Token: token, Via: service.ViaUnix}})
	if err != nil {
		return nil, nil, err
	}
	o := res.(*openedPipe)
	return o.Result().(*UploadResult), o.File(), nil
}

// commitUpload calls file.commit as token.
func (e *env) commitUpload(path, id, token string, n int64) (*WriteResult, error) {
	b, _ := json.Marshal(map[string]any{"path": path, "upload": id, "bytes": n})
	res, err := e.m["file.commit"](context.Background(), &service.Call{Method: "file.commit", Params: b,
		Caller: service.Caller{Token: token, Via: service.ViaUnix}})
	if err != nil {
		return nil, err
	}
	return res.(*WriteResult), nil
}

// names lists dir's entries.
func names(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	must(t, err)
	var out []string
	for _, d := range ents {
		out = append(out, d.Name())
	}
	return strings.Join(out, " ")
}

// TestUploadAtomic: until the commit nothing under any name holds the
// content, not even part of it; the commit puts it all in place, for a
// new file and over an old one (whose permission bits it keeps).
func TestUploadAtomic(t *testing.T) {
	e := newEnv(t)
	dir := e.docs + "/up"
	must(t, os.Mkdir(dir, 0o755))
	content := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB, more than the pipe holds
	for _, mode := range []string{"create", "overwrite"} {
		if mode == "overwrite" {
			must(t, os.Chmod(dir+"/f.bin", 0o640))
		}
		res, w, err := e.startUpload(dir+"/f.bin", mode, "tok")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(content[:1<<20]); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"create": "", "overwrite": "f.bin"}[mode]
		if got := names(t, dir); got != want {
			t.Fatalf("%s: during the upload the folder holds %q, want %q", mode, got, want)
		}
		if mode == "overwrite" {
			if b, _ := os.ReadFile(dir + "/f.bin"); !bytes.Equal(b, []byte("old")) {
				t.Fatalf("overwrite: the old file changed before the commit")
			}
		}
		if _, err := w.Write(content[1<<20:]); err != nil {
			t.Fatal(err)
		}
		w.Close()
		wr, err := e.commitUpload(dir+"/f.bin", res.Upload, "tok", int64(len(content)))
		if err != nil {
			t.Fatalf("%s: commit: %v", mode, err)
		}
		b, _ := os.ReadFile(dir + "/f.bin")
		if !bytes.Equal(b, content) || wr.Size != int64(len(content)) || names(t, dir) != "f.bin" {
			t.Fatalf("%s: after the commit the file has %d bytes (result %+v), folder %q", mode, len(b), wr, names(t, dir))
		}
		fi, _ := os.Stat(dir + "/f.bin")
		if wantPerm := map[string]os.FileMode{"create": 0o644, "overwrite": 0o640}[mode]; fi.Mode().Perm() != wantPerm {
			t.Errorf("%s: mode %v, want %v", mode, fi.Mode().Perm(), wantPerm)
		}
		must(t, os.WriteFile(dir+"/f.bin", []byte("old"), 0o644))
	}
}

// TestUploadAbandoned: a client that dies before the commit (its pipe
// closed, no commit), or one that sent fewer bytes than it says, leaves
// nothing in the folder; a commit by another token, or for another
// path, finds no upload.
func TestUploadAbandoned(t *testing.T) {
	e := newEnv(t)
	dir := e.docs + "/up"
	must(t, os.Mkdir(dir, 0o755))
	res, w, err := e.startUpload(dir+"/gone.txt", "create", "tok")
	must(t, err)
	w.Write([]byte("half of it"))
	w.Close() // the client is gone
	if got := names(t, dir); got != "" {
		t.Fatalf("an abandoned upload left %q", got)
	}
	if _, err := e.commitUpload(dir+"/gone.txt", res.Upload, "other", 10); errs.ReasonOf(err) != "no_upload" {
		t.Errorf("commit by another token: %v, want no_upload", err)
	}
	if _, err := e.commitUpload(dir+"/elsewhere.txt", res.Upload, "tok", 10); errs.ReasonOf(err) != "no_upload" {
		t.Errorf("commit of another path: %v, want no_upload", err)
	}
	res, w, err = e.startUpload(dir+"/short.txt", "create", "tok")
	must(t, err)
	w.Write([]byte("0123456789"))
	w.Close()
	if _, err := e.commitUpload(dir+"/short.txt", res.Upload, "tok", 11); errs.ReasonOf(err) != "short_upload" || errs.HintOf(err) == "" {
		t.Errorf("commit of fewer bytes than sent: %v, want short_upload with a hint", err)
	}
	if got := names(t, dir); got != "" {
		t.Fatalf("failed uploads left %q", got)
	}
	// An expired upload closes its file: nothing was ever named.
	res, w, err = e.startUpload(dir+"/late.txt", "create", "tok")
	must(t, err)
	w.Close()
	e.s.uploads.mu.Lock()
	u := e.s.uploads.m[res.Upload]
	e.s.uploads.mu.Unlock()
	<-u.done
	e.s.uploads.expire(res.Upload, u)
	if _, err := e.commitUpload(dir+"/late.txt", res.Upload, "tok", 0); errs.ReasonOf(err) != "no_upload" {
		t.Errorf("commit after expiry: %v, want no_upload", err)
	}
	if got := names(t, dir); got != "" {
		t.Fatalf("an expired upload left %q", got)
	}
}

// TestUploadSizeCap: past services.file.max_write the service stops
// reading and the commit is refused; nothing is written.
func TestUploadSizeCap(t *testing.T) {
	e := newEnv(t)
	e.s.maxWrite = 100 << 10
	res, w, err := e.startUpload(e.docs+"/big.bin", "create", "tok")
	must(t, err)
	if res.Max != 100<<10 {
		t.Errorf("max = %d", res.Max)
	}
	var sent int64
	chunk := make([]byte, 64<<10)
	for sent < 4<<20 {
		n, err := w.Write(chunk)
		sent += int64(n)
		if err != nil {
			break // the service closed its end
		}
	}
	w.Close()
	_, err = e.commitUpload(e.docs+"/big.bin", res.Upload, "tok", sent)
	if errs.KindOf(err) != errs.TooLarge || errs.HintOf(err) == "" {
		t.Errorf("commit past the cap: %v, want too large with a hint", err)
	}
	if _, err := os.Stat(e.docs + "/big.bin"); !os.IsNotExist(err) {
		t.Errorf("a refused upload left big.bin: %v", err)
	}
}

// TestUploadRefused: file.upload refuses what file.write refuses —
// deny-listed and deny-write names, paths outside the folders or through a
// link that leaves them, read-only folders, a token without PUT there, an
// existing file in create mode — and hands a pipe to no caller off the
// Unix socket; nothing outside changes.
func TestUploadRefused(t *testing.T) {
	e := newEnv(t)
	e.plantAttacks(t)
	before := e.protected()
	for _, c := range []struct{ path, reason string }{
		{"~/Documents/.env", "denied_by_rule"},
		{"~/Documents/x.secret", "denied_by_rule"},
		{"~/Documents/.git/hooks/pre-commit", "write_denied_by_rule"},
		{e.outside + "/new.txt", "outside_allowed"},
		{"~/Documents/../Documents-old/o", "outside_allowed"},
		{"~/Documents/Reference/new.txt", "read_only"},
		{"~/Notes/new.txt", "read_only"},
		{"~/Documents/a.txt", "exists"},
	} {
		_, w, err := e.startUpload(c.path, "create", "tok")
		if err == nil {
			w.Close()
			t.Errorf("upload %s succeeded, want %s", c.path, c.reason)
			continue
		}
		if errs.ReasonOf(err) != errs.Reason(c.reason) || errs.HintOf(err) == "" {
			t.Errorf("upload %s: %v, want %s with a hint", c.path, err, c.reason)
		}
	}
	// Links planted by plantAttacks that lead outside the folder.
	ents, _ := os.ReadDir(e.docs)
	for _, d := range ents {
		if d.Type()&os.ModeSymlink == 0 {
			continue
		}
		p := filepath.Join(e.docs, d.Name(), "x.txt")
		if _, w, err := e.startUpload(p, "overwrite", "tok"); err == nil {
			w.Close()
			if target, _ := os.Readlink(filepath.Join(e.docs, d.Name())); !strings.HasPrefix(filepath.Clean(filepath.Join(e.docs, target)), e.docs+"/") {
				t.Errorf("upload through the link %s (to %s) succeeded", d.Name(), target)
			}
		}
	}
	e.deny = func(verb, p string) bool { return verb == verbPut }
	if _, _, err := e.startUpload("~/Documents/new.txt", "create", "tok"); errs.KindOf(err) != errs.Forbidden || errs.HintOf(err) == "" {
		t.Errorf("upload without PUT in scope: %v, want forbidden with a hint", err)
	}
	e.deny = nil
	for _, via := range []service.Via{"websocket", "relay", "xpc"} {
		b, _ := json.Marshal(map[string]any{"path": "~/Documents/new.txt", "mode": "create"})
		_, err := e.m["file.upload"](context.Background(), &service.Call{Method: "file.upload", Params: b, Caller: service.Caller{Token: "t", Via: via}})
		if errs.ReasonOf(err) != "fd_not_allowed" || errs.HintOf(err) == "" {
			t.Errorf("upload via %s: %v, want fd_not_allowed with a hint", via, err)
		}
	}
	if after := e.protected(); after != before {
		t.Errorf("refused uploads changed protected files:\n%s\n---\n%s", before, after)
	}
}

// TestUploadCommitRechecksScope: a token whose PUT is gone by the commit
// (revoked, expired) commits nothing.
func TestUploadCommitRechecksScope(t *testing.T) {
	e := newEnv(t)
	res, w, err := e.startUpload("~/Documents/new.txt", "create", "tok")
	must(t, err)
	w.Write([]byte("x"))
	w.Close()
	e.deny = func(verb, p string) bool { return verb == verbPut }
	if _, err := e.commitUpload("~/Documents/new.txt", res.Upload, "tok", 1); errs.KindOf(err) != errs.Forbidden {
		t.Errorf("commit after the scope went: %v, want forbidden", err)
	}
	if _, err := os.Stat(e.docs + "/new.txt"); !os.IsNotExist(err) {
		t.Errorf("a refused commit left the file: %v", err)
	}
}
