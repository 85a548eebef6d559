package file

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"sync"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/fsafe"
	"github.com/gimme-tools/carapace/core/service"
)

// A write at disk speed, for a caller on the local Unix socket:
//
//	file.upload {path, mode}  → {upload, max, fd: true} + a pipe's write end
//	(the caller writes the content into the pipe and closes it)
//	file.commit {path, upload, bytes} → {size, mtime}
//
// The service opens an unnamed file (O_TMPFILE) in the target's directory
// and splices the pipe into it: the caller never holds a descriptor of the
// file itself, so nothing it does after the commit can change what was
// checked. Commit checks the size cap and that every byte the caller sent
// arrived, then gives the file its name atomically (linkat; for overwrite,
// a temporary name renamed over the target). Until then the file has no
// name: no reader sees a part, and a caller that dies leaves nothing (the
// file vanishes with its descriptor when the upload expires). The path is
// checked at upload as file.write checks it (scope, deny and deny-write
// rules, read-only folders, links inside the folder) and the caller's
// token again at commit. Elsewhere (the WebSocket, the relay, macOS)
// file.upload is refused and file.write in chunks remains.

// Upload limits.
const (
	maxUploads   = 16               // pending uploads at once, per service
	uploadIdle   = time.Minute      // longest wait for the next byte
	commitWithin = 10 * time.Minute // after the last byte, for the commit
	uploadPipe   = 1 << 20          // the pipe's buffer (F_SETPIPE_SZ)
)

type uploadParams struct {
	Path string `json:"path"`
	Mode string `json:"mode"` // "create" or "overwrite"
	Sync bool   `json:"sync"` // flush before the name is given, even to a new file
}

// UploadResult is file.upload's JSON result; the pipe's write end travels
// beside it on the Unix socket (SCM_RIGHTS).
type UploadResult struct {
	Upload string `json:"upload"` // the id file.commit names
	Max    int64  `json:"max"`    // the size cap, in bytes
	FD     bool   `json:"fd"`     // always true: take the descriptor passed with this answer
}

type commitParams struct {
	Path   string `json:"path"`
	Upload string `json:"upload"`
	Bytes  int64  `json:"bytes"` // how many bytes the caller wrote into the pipe
}

// upload is one pending upload.
type upload struct {
	t         target
	token     string // the caller's token: only its holder commits
	overwrite bool
	sync      bool // flush before naming: asked for, or an existing file is replaced
	perm      uint32
	dir       *fsafe.Dir
	tmp       *os.File
	r         *os.File      // the pipe's read end, which the pump drains
	done      chan struct{} // closed when the pump stops
	n         int64         // bytes spliced, when done
	err       error         // why the splice stopped, when done
}

// close stops the pump, if it still runs, and closes the file: the
// unnamed file goes with its last descriptor.
func (u *upload) close() {
	if u.r != nil {
		u.r.Close()
		<-u.done
	}
	u.tmp.Close()
	u.dir.Close()
}

// uploads are the pending uploads by id.
type uploads struct {
	mu sync.Mutex
	m  map[string]*upload
}

func (us *uploads) add(u *upload) (string, bool) {
	us.mu.Lock()
	defer us.mu.Unlock()
	if len(us.m) >= maxUploads {
		return "", false
	}
	if us.m == nil {
		us.m = map[string]*upload{}
	}
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	us.m[id] = u
	return id, true
}

// take removes and returns the upload id when token holds it for abs.
func (us *uploads) take(id, token, abs string) *upload {
	us.mu.Lock()
	defer us.mu.Unlock()
	u := us.m[id]
	if u == nil || u.token != token || u.t.abs != abs {
		return nil
	}
	delete(us.m, id)
	return u
}

// expire drops upload id unless it has been taken.
func (us *uploads) expire(id string, u *upload) {
	us.mu.Lock()
	if us.m[id] != u {
		us.mu.Unlock()
		return
	}
	delete(us.m, id)
	us.mu.Unlock()
	u.close()
}

// openedPipe is file.upload's answer: the result and the pipe's write end,
// which the service host passes with it (rpcserver.FileResult).
type openedPipe struct {
	res UploadResult
	w   *os.File
}

func (o *openedPipe) Result() any    { return &o.res }
func (o *openedPipe) File() *os.File { return o.w }

func (s *Service) upload(ctx context.Context, call *service.Call) (any, error) {
	const op = "file.upload"
	var p uploadParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	t, err := s.resolve(call, op, verbPut, p.Path)
	if err != nil {
		return nil, err
	}
	if p.Mode != "create" && p.Mode != "overwrite" {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonBadMode,
			errs.Hint(`mode must be "create" or "overwrite" (append with file.write)`), fmt.Errorf("mode %q", p.Mode))
	}
	if t.rel == "" {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonIsDirectory, errs.Hint("name a file inside the folder"))
	}
	if v := call.Caller.Via; v != "" && v != service.ViaUnix {
		return nil, errs.E(op, errs.Forbidden, errs.ReasonFDNotAllowed,
			errs.Hint("descriptors are handed over only on the local Unix socket; write with file.write in chunks instead"))
	}
	dir, name, err := t.f.root.Parent(t.rel, s.check(call, op, verbPut, t))
	if err != nil {
		return nil, fsError(op, err)
	}
	u := &upload{t: t, token: call.Caller.Token, overwrite: p.Mode == "overwrite", sync: p.Sync, perm: 0o644, dir: dir, done: make(chan struct{})}
	if err := s.checkTarget(op, t, dir, name, u); err != nil {
		dir.Close()
		return nil, err
	}
	if u.tmp, err = dir.OpenTmpfile(0o600); err != nil {
		dir.Close()
		if errors.Is(err, errors.ErrUnsupported) {
			return nil, errs.E(op, errs.Failed, errs.ReasonNoFD, errs.Hint("this system cannot make unnamed files; write with file.write in chunks instead"), err)
		}
		return nil, fsError(op, err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		u.close()
		return nil, fsError(op, err)
	}
	u.r = r
	id, ok := s.uploads.add(u)
	if !ok {
		r.Close()
		w.Close()
		u.r = nil // no pump to wait for
		u.close()
		return nil, errs.E(op, errs.RateLimited, errs.ReasonTooManyUploads, map[string]any{"max": maxUploads},
			errs.Hint(fmt.Sprintf("%d uploads are pending; commit or abandon one, or try again in a minute", maxUploads)))
	}
	setPipeSize(w, uploadPipe)
	go func() {
		u.n, u.err = pump(u.tmp, r, s.maxWrite, uploadIdle, u.sync)
		r.Close()
		close(u.done)
		time.AfterFunc(commitWithin, func() { s.uploads.expire(id, u) })
	}()
	return &openedPipe{res: UploadResult{Upload: id, Max: s.maxWrite, FD: true}, w: w}, nil
}

// checkTarget refuses an upload file.write would refuse before writing:
// an existing name in create mode, a directory; it keeps an existing
// file's permission bits in u, and marks u to be flushed before it
// replaces that file.
func (s *Service) checkTarget(op string, t target, dir *fsafe.Dir, name string, u *upload) error {
	old, err := dir.Lstat(name)
	switch {
	case err == nil && !u.overwrite:
		return errs.E(op, errs.Failed, errs.ReasonExists, errs.Hint(`use mode "overwrite" to replace it`), fmt.Errorf("%s exists", t.abs))
	case err == nil && old.Mode.IsDir():
		return errs.E(op, errs.InvalidParams, errs.ReasonIsDirectory, errs.Hint("name a file, not a directory"), fmt.Errorf("%s is a directory", t.abs))
	case err == nil && old.Mode.IsRegular():
		u.perm = uint32(old.Mode.Perm())
		u.sync = true
	case err == nil:
		u.sync = true // a link or another kind of file: its name is replaced
	case err != nil && !os.IsNotExist(err):
		return fsError(op, err)
	}
	return nil
}

func (s *Service) commit(ctx context.Context, call *service.Call) (any, error) {
	const op = "file.commit"
	var p commitParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	t, err := s.resolve(call, op, verbPut, p.Path)
	if err != nil {
		return nil, err
	}
	u := s.uploads.take(p.Upload, call.Caller.Token, t.abs)
	if u == nil {
		return nil, errs.E(op, errs.NotFound, errs.ReasonNoUpload,
			errs.Hint("no pending upload of this path by this token has that id (it may have expired); upload again"))
	}
	defer u.close()
	select {
	case <-u.done:
	case <-ctx.Done():
		return nil, errs.E(op, errs.Failed, errs.ReasonCancelled, errs.Hint("close the upload's descriptor before you commit"), ctx.Err())
	}
	switch {
	case errors.Is(u.err, errUploadTooLarge):
		return nil, s.tooLarge(op, u.n)
	case u.err != nil:
		return nil, errs.E(op, errs.Failed, errs.ReasonUploadFailed, errs.Hint("upload again"), u.err)
	case u.n != p.Bytes:
		return nil, errs.E(op, errs.Failed, errs.ReasonShortUpload, map[string]any{"received": u.n},
			errs.Hint("the service received a different number of bytes than you sent; upload again"),
			fmt.Errorf("received %d bytes, the caller sent %d", u.n, p.Bytes))
	}
	info, err := s.link(u)
	if err != nil {
		if os.IsExist(err) {
			return nil, errs.E(op, errs.Failed, errs.ReasonExists, errs.Hint(`use mode "overwrite" to replace it`), err)
		}
		return nil, fsError(op, err)
	}
	return &WriteResult{Size: info.Size, Mtime: FormatMtime(info.ModTime)}, nil
}

// link gives u's file the target's name: at once in create mode (linkat
// fails if the name exists), through a temporary name renamed over the
// target for overwrite. It flushes the file (and then the directory)
// first when u.sync says so or when the rename finds a name to replace:
// a crash never leaves the name of a file that existed pointing at less
// than its old content. A new file is named as soon as its bytes are in
// the page cache, as cp leaves one (see docs/file.md, "Durability").
func (s *Service) link(u *upload) (fsafe.Info, error) {
	if err := u.tmp.Chmod(os.FileMode(u.perm)); err != nil {
		return fsafe.Info{}, err
	}
	if u.sync {
		if err := flushFile(u.tmp); err != nil {
			return fsafe.Info{}, err
		}
	}
	info, err := fsafe.Stat(u.tmp)
	if err != nil {
		return fsafe.Info{}, err
	}
	name := path.Base(u.t.rel)
	if !u.overwrite {
		if err := u.dir.Link(u.tmp, name); err != nil {
			return fsafe.Info{}, err
		}
		return info, u.syncDir()
	}
	var b [8]byte
	rand.Read(b[:])
	tmp := tempPrefix + hex.EncodeToString(b[:]) + ".tmp"
	if err := u.dir.Link(u.tmp, tmp); err != nil {
		return fsafe.Info{}, err
	}
	if testHookBeforeRename != nil {
		testHookBeforeRename()
	}
	if err := renameFlushed(u.dir, tmp, name, u.tmp, &u.sync); err != nil {
		u.dir.Remove(tmp, false)
		return fsafe.Info{}, err
	}
	return info, u.syncDir()
}

func (u *upload) syncDir() error {
	if !u.sync {
		return nil
	}
	return u.dir.Sync()
}

// renameFlushed renames from over to in dir. Unless *synced, it first
// tries without replacing; when to exists after all (made since the
// upload or write began), it flushes f, sets *synced and replaces it.
func renameFlushed(dir *fsafe.Dir, from, to string, f *os.File, synced *bool) error {
	if !*synced {
		err := fsafe.Rename(dir, from, dir, to, false)
		if !os.IsExist(err) {
			return err
		}
		if err := flushFile(f); err != nil {
			return err
		}
		*synced = true
	}
	return fsafe.Rename(dir, from, dir, to, true)
}

// errUploadTooLarge stops a splice that passed the size cap.
var errUploadTooLarge = errors.New("upload larger than the size cap")
