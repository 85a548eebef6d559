//go:build linux

package file

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/gimme-tools/carapace/core/service"
)

// countFlushes counts flushFile's calls until the test ends, and records
// whether each came before the rename that names the file.
func countFlushes(t *testing.T) (flushes *int, beforeRename *int) {
	var n, before int
	renamed := false
	oldFlush, oldHook := flushFile, testHookBeforeRename
	flushFile = func(f *os.File) error {
		n++
		if !renamed {
			before++
		}
		return f.Sync()
	}
	testHookBeforeRename = func() { renamed = true }
	t.Cleanup(func() { flushFile, testHookBeforeRename = oldFlush, oldHook })
	return &n, &before
}

// TestWriteFlushesWhatItReplaces: a write that replaces an existing file
// flushes the new content before the rename, so a crash leaves the old
// file or the whole new one; a new file is named without a flush, as cp
// leaves one, unless the caller asks for sync. The same for file.write and
// for file.upload's descriptor path.
func TestWriteFlushesWhatItReplaces(t *testing.T) {
	e := newEnv(t)
	p := e.docs + "/durable.txt"
	for _, c := range []struct {
		name   string
		exists bool
		mode   string
		sync   bool
		want   int
	}{
		{"new file, create", false, "create", false, 0},
		{"new file, overwrite", false, "overwrite", false, 0},
		{"new file, create, sync", false, "create", true, 1},
		{"existing file, overwrite", true, "overwrite", false, 1},
		{"existing file, overwrite, sync", true, "overwrite", true, 1},
	} {
		for _, via := range []string{"file.write", "file.upload"} {
			os.Remove(p)
			if c.exists {
				must(t, os.WriteFile(p, []byte("old"), 0o644))
			}
			n, before := countFlushes(t)
			content := []byte("new content, " + c.name)
			if via == "file.write" {
				e.ok("file.write", map[string]any{"path": p, "content": string(content), "mode": c.mode, "sync": c.sync}, nil)
			} else {
				b, _ := json.Marshal(map[string]any{"path": p, "mode": c.mode, "sync": c.sync})
				caller := service.Caller{Token: "tok", Via: service.ViaUnix}
				res, err := e.m["file.upload"](context.Background(), &service.Call{Method: "file.upload", Params: b, Caller: caller})
				if err != nil {
					t.Fatalf("%s via %s: %v", c.name, via, err)
				}
				o := res.(*openedPipe)
				o.File().Write(content)
				o.File().Close()
				if _, err := e.commitUpload(p, o.Result().(*UploadResult).Upload, "tok", int64(len(content))); err != nil {
					t.Fatalf("%s via %s: commit: %v", c.name, via, err)
				}
			}
			if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
				t.Fatalf("%s via %s: the file holds %q", c.name, via, got)
			}
			if *n != c.want {
				t.Errorf("%s via %s: %d flushes, want %d", c.name, via, *n, c.want)
			}
			if c.exists && *before != *n {
				t.Errorf("%s via %s: %d of %d flushes came after the rename over the old file", c.name, via, *n-*before, *n)
			}
		}
	}
}

// TestReplaceMadeMeanwhileIsFlushed: an overwrite that began on a new name
// still flushes before it renames over a file someone made at that name
// since (the rename without replace finds it).
func TestReplaceMadeMeanwhileIsFlushed(t *testing.T) {
	e := newEnv(t)
	p := e.docs + "/meanwhile.txt"
	n, _ := countFlushes(t)
	var atRename int
	testHookBeforeRename = func() {
		atRename = *n
		must(t, os.WriteFile(p, []byte("made meanwhile"), 0o644))
	}
	e.ok("file.write", map[string]any{"path": p, "content": "the write", "mode": "overwrite"}, nil)
	if got, _ := os.ReadFile(p); string(got) != "the write" {
		t.Fatalf("the file holds %q", got)
	}
	if atRename != 0 || *n != 1 {
		t.Fatalf("flushes: %d before the rename, %d in all; want 0 and 1 (flushed when the name turned out taken)", atRename, *n)
	}
}
