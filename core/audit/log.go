package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// SyncPolicy says when records reach the disk.
type SyncPolicy int

const (
	// SyncDeny, the default, fsyncs each deny record before Write returns
	// and allow records within SyncInterval, from a background goroutine.
	// Every record is written (in the kernel) before Write returns, so a
	// crash of the router loses nothing; a power cut may lose allow
	// records of the last SyncInterval.
	SyncDeny SyncPolicy = iota
	// SyncAlways fsyncs every record before Write returns.
	SyncAlways
	// SyncNever leaves flushing to the kernel (tests, benchmarks).
	SyncNever
)

// Options configures a Log. Zero values take the defaults.
type Options struct {
	MaxSize      int64         // rotate before the active file exceeds it (16 MiB)
	MaxFiles     int           // rotated files kept (20); older ones are removed
	Sync         SyncPolicy    // SyncDeny
	SyncInterval time.Duration // SyncDeny's bound for allow records (200ms)
}

const (
	// ActiveName is the file records are appended to; rotated files are
	// ActiveName + "." + a six-digit sequence number, oldest lowest.
	ActiveName      = "audit.log"
	defaultMaxSize  = 16 << 20
	defaultMaxFiles = 20
	defaultInterval = 200 * time.Millisecond
	fileMode        = 0o640
)

// Log appends records to the chain in a directory. It is safe for
// concurrent use.
type Log struct {
	dir  string
	opt  Options
	mu   sync.Mutex
	f    *os.File
	size int64
	seq  uint64
	prev string
	// dirty is set when an allow record has not been fsynced yet.
	dirty bool
	err   error // the last background sync error, reported by the next Write
	done  chan struct{}
	wg    sync.WaitGroup
	// TornBytes is how many bytes of an incomplete last line (a crash
	// mid-write) Open cut off the active file.
	TornBytes int64
}

// Open opens the log in dir (creating dir, 0750) and finds the end of the
// chain: the last record of the active file, or of the newest rotated
// file.
func Open(dir string, opt Options) (*Log, error) {
	if opt.MaxSize <= 0 {
		opt.MaxSize = defaultMaxSize
	}
	if opt.MaxFiles == 0 {
		opt.MaxFiles = defaultMaxFiles
	}
	if opt.SyncInterval <= 0 {
		opt.SyncInterval = defaultInterval
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, unwritable(dir, err)
	}
	l := &Log{dir: dir, opt: opt, prev: Genesis, done: make(chan struct{})}
	if err := l.openActive(); err != nil {
		return nil, err
	}
	if opt.Sync == SyncDeny {
		l.wg.Add(1)
		go l.syncLoop()
	}
	return l, nil
}

func (l *Log) openActive() error {
	path := filepath.Join(l.dir, ActiveName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, fileMode)
	if err != nil {
		return unwritable(path, err)
	}
	size, torn, last, err := lastLine(f)
	if err == nil && torn > 0 {
		size -= torn
		err = f.Truncate(size)
	}
	if err != nil {
		f.Close()
		return unwritable(path, err)
	}
	l.f, l.size, l.TornBytes = f, size, torn
	if last == nil {
		if last, err = l.lastRotatedLine(); err != nil {
			f.Close()
			return err
		}
	}
	if last != nil {
		var r Record
		if err := json.Unmarshal(last, &r); err != nil {
			f.Close()
			return errs.E("audit.open", errs.Failed, errs.Reason("audit_corrupt"),
				errs.Hint("run carapace audit verify; move the damaged log aside to start a new chain"),
				fmt.Errorf("last record in %s: %w", l.dir, err))
		}
		l.seq, l.prev = r.Seq, hashLine(last)
	}
	return nil
}

// lastLine returns f's size, the length of an incomplete last line, and
// the last complete line (nil if none). Records are bounded, so the last
// 64 KiB always hold it.
func lastLine(f *os.File) (size, torn int64, last []byte, err error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, nil, err
	}
	size = fi.Size()
	off := max(size-64<<10, 0)
	buf := make([]byte, size-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return 0, 0, nil, err
	}
	if i := bytes.LastIndexByte(buf, '\n'); i < len(buf)-1 {
		torn = int64(len(buf) - 1 - i)
		buf = buf[:i+1]
	}
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	if len(buf) == 0 {
		return size, torn, nil, nil
	}
	return size, torn, buf[bytes.LastIndexByte(buf, '\n')+1:], nil
}

func (l *Log) lastRotatedLine() ([]byte, error) {
	files, err := rotated(l.dir)
	if err != nil || len(files) == 0 {
		return nil, err
	}
	f, err := os.Open(files[len(files)-1])
	if err != nil {
		return nil, unwritable(files[len(files)-1], err)
	}
	defer f.Close()
	_, _, last, err := lastLine(f)
	return last, err
}

// Write appends r, filling Seq, Prev and (if zero) Time. It returns an
// error, and the caller must refuse the call it describes, when the record
// could not be written or synced as the policy requires: a full disk or an
// unwritable log fails closed.
func (l *Log) Write(r Record) error {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Time = r.Time.UTC()
	r.clean()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return unwritable(l.dir, errors.New("log is closed"))
	}
	if err := l.err; err != nil {
		l.err = nil
		return unwritable(l.dir, err)
	}
	r.Seq, r.Prev = l.seq+1, l.prev
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("audit: encode record: %w", err)
	}
	if l.size > 0 && l.size+int64(len(line))+1 > l.opt.MaxSize {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	if err := l.append(line); err != nil {
		return err
	}
	l.seq, l.prev = r.Seq, hashLine(line)
	return l.syncFor(r.Decision)
}

// append writes line and its newline in one write; on failure it cuts the
// file back so no torn line is left behind.
func (l *Log) append(line []byte) error {
	n, err := l.f.Write(append(line, '\n'))
	if err != nil {
		if n > 0 {
			l.f.Truncate(l.size)
		}
		return unwritable(l.f.Name(), err)
	}
	l.size += int64(n)
	return nil
}

func (l *Log) syncFor(decision string) error {
	switch {
	case l.opt.Sync == SyncAlways, l.opt.Sync == SyncDeny && decision != Allow:
		l.dirty = false
		if err := l.f.Sync(); err != nil {
			return unwritable(l.f.Name(), err)
		}
	case l.opt.Sync == SyncDeny:
		l.dirty = true
	}
	return nil
}

func (l *Log) syncLoop() {
	defer l.wg.Done()
	t := time.NewTicker(l.opt.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
			l.syncDirty()
		}
	}
}

// syncDirty fsyncs outside the lock, so writers do not wait for the disk.
// A file closed meanwhile (rotation, Close) was synced by its closer.
func (l *Log) syncDirty() {
	l.mu.Lock()
	f, dirty := l.f, l.dirty
	l.dirty = false
	l.mu.Unlock()
	if !dirty || f == nil {
		return
	}
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
	}
}

// Close syncs and closes the log.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.f == nil {
		l.mu.Unlock()
		return nil
	}
	close(l.done)
	err := l.f.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	l.mu.Unlock()
	l.wg.Wait()
	return err
}

// Head returns the last record's seq and line hash: with them an outside
// copy can tell a log cut at its end (which the chain alone cannot show).
func (l *Log) Head() (seq uint64, hash string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq, l.prev
}

func unwritable(path string, err error) error {
	return errs.E("audit.write", errs.Unavailable, errs.Reason("audit_unavailable"),
		errs.Hint("the audit log "+path+" cannot be written (disk full? permissions?); calls are refused until it can"),
		err)
}
