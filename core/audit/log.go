package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
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
	ActiveName = "audit.log"
	// DefaultMaxSize is the size the active file rotates at by default.
	DefaultMaxSize  = 16 << 20
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

	// Group commit: records are chained and queued under mu; one writer
	// at a time (the leader) writes everything queued in one write(2),
	// and every Write returns only once its own record is in the file, or
	// with the error that kept it out.
	cond        *sync.Cond
	pending     []byte // queued lines, not yet written
	spare       []byte
	flushing    bool   // a leader is writing, outside mu
	flushedSeq  uint64 // the last record written to the file
	flushedPrev string // its hash
	epoch       uint64 // bumped when a write fails: queued records are void
	failErr     error  // why the last epoch ended
	done        chan struct{}
	wg          sync.WaitGroup
	// TornBytes is how many bytes of an incomplete last line (a crash
	// mid-write) Open cut off the active file.
	TornBytes int64
}

// Open opens the log in dir (creating dir, 0750) and finds the end of the
// chain: the last record of the active file, or of the newest rotated
// file.
func Open(dir string, opt Options) (*Log, error) {
	if opt.MaxSize <= 0 {
		opt.MaxSize = DefaultMaxSize
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
	l.cond = sync.NewCond(&l.mu)
	if err := l.openActive(); err != nil {
		return nil, err
	}
	l.flushedSeq, l.flushedPrev = l.seq, l.prev
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
			return errs.E("audit.open", errs.Failed, errs.ReasonAuditCorrupt,
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
	seq, err := l.lockAndQueue(&r)
	defer l.mu.Unlock()
	if err != nil {
		return err
	}
	if err := l.waitWritten(seq, true); err != nil {
		return err
	}
	return l.syncFor(r.Decision)
}

// Ticket identifies a queued record: its seq within the epoch it was
// queued in (a failed write voids the records queued with it, and their
// seqs are reused in the next epoch).
type Ticket struct{ epoch, seq uint64 }

// Seq is the seq the queued record has in the log once it is written.
func (t Ticket) Seq() uint64 { return t.seq }

// Queue chains r and queues it without waiting for it to be written, and
// returns its Ticket. The caller must not act on the decision r records
// before Flush has returned nil for a range that includes the ticket: the
// router queues the record of an allowed call, and its connection to the
// service flushes the log just before the write that carries the call, so
// one write(2) carries the records of every call in that batch and no
// caller waits (docs/internals.md, "The audit write rule"). Queue is for
// allow records; a deny goes through Write (SyncDeny fsyncs it).
func (l *Log) Queue(r Record) (Ticket, error) {
	seq, err := l.lockAndQueue(&r)
	defer l.mu.Unlock()
	if err != nil {
		return Ticket{}, err
	}
	if l.opt.Sync == SyncDeny {
		l.dirty = true
	}
	return Ticket{l.epoch, seq}, nil
}

// Flush returns once the records of every ticket in [oldest, newest]
// (as Tickets.Take returns them) are in the file (and, with SyncAlways,
// on the disk), or with the error that kept one out: then the calls they
// record must not go ahead. A range that reaches back before a failed
// write fails too, even if its oldest records had been written: after a
// failure, being refused once more is the safe mistake.
func (l *Log) Flush(oldest, newest Ticket) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if oldest.epoch != l.epoch || newest.epoch != l.epoch {
		if l.failErr != nil {
			return l.failErr
		}
		return unwritable(l.dir, errors.New("queued records were lost"))
	}
	// The caller gathered its batch already (a service connection's
	// writer, just before its write): no need to yield for more.
	if err := l.waitWritten(newest.seq, false); err != nil {
		return err
	}
	if l.opt.Sync == SyncAlways {
		return l.syncFor(Allow)
	}
	return nil
}

// Tickets gathers the tickets of calls queued for one write: Add as each
// call is queued, Take just before the write (then Flush the range).
type Tickets struct {
	mu             sync.Mutex
	has            bool
	oldest, newest Ticket
}

// Add records t.
func (ts *Tickets) Add(t Ticket) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if !ts.has || t.epoch < ts.oldest.epoch || (t.epoch == ts.oldest.epoch && t.seq < ts.oldest.seq) {
		ts.oldest = t
	}
	if !ts.has || t.epoch > ts.newest.epoch || (t.epoch == ts.newest.epoch && t.seq > ts.newest.seq) {
		ts.newest = t
	}
	ts.has = true
}

// Take returns the range added since the last Take, and whether there
// was anything.
func (ts *Tickets) Take() (oldest, newest Ticket, ok bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	oldest, newest, ok = ts.oldest, ts.newest, ts.has
	ts.has = false
	return
}

// bodies are the buffers records' bodies are encoded into, outside the
// lock.
var bodies = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// prepare fills r's Time (if zero), clips its fields and encodes its
// body (appendBody) into a buffer from bodies: the work of a record that
// needs no lock.
func prepare(r *Record) *[]byte {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Time = r.Time.UTC()
	r.clean()
	b := bodies.Get().(*[]byte)
	*b = appendBody((*b)[:0], r)
	return b
}

// lockAndQueue prepares r outside the lock, then takes l.mu (the caller
// releases it) and queues r's line; it returns r's seq.
func (l *Log) lockAndQueue(r *Record) (uint64, error) {
	body := prepare(r)
	defer bodies.Put(body)
	l.mu.Lock()
	return l.queueLocked(*body)
}

// queueLocked chains a record (body is its prepared body: appendBody)
// and queues its line; it returns the record's seq. mu is held.
func (l *Log) queueLocked(body []byte) (uint64, error) {
	if l.f == nil {
		return 0, unwritable(l.dir, errors.New("log is closed"))
	}
	if err := l.err; err != nil {
		l.err = nil
		return 0, unwritable(l.dir, err)
	}
	// The line is assembled in place at the end of the queue.
	start := len(l.pending)
	l.pending = appendLine(l.pending, l.seq+1, body, l.prev)
	if start > 0 || l.size > 0 {
		if l.size+int64(len(l.pending))+1 > l.opt.MaxSize {
			// Rotation needs the queue written first, into the old file.
			l.pending = l.pending[:start]
			if err := l.drainLocked(); err != nil {
				return 0, err
			}
			if err := l.rotate(); err != nil {
				return 0, err
			}
			start = len(l.pending)
			l.pending = appendLine(l.pending, l.seq+1, body, l.prev)
		}
	}
	l.seq, l.prev = l.seq+1, hashLine(l.pending[start:])
	l.pending = append(l.pending, '\n')
	return l.seq, nil
}

// waitWritten returns once record seq is in the file: it leads a write of
// everything queued when no write is under way, else waits for the
// leader. A failed write voids the records queued with it (they were never
// written and their chain is rolled back); each of their Writes fails.
// gather makes a leader yield first so that more records join its write.
func (l *Log) waitWritten(seq uint64, gather bool) error {
	ep := l.epoch
	for l.flushedSeq < seq && l.epoch == ep {
		if l.flushing {
			l.cond.Wait()
			continue
		}
		l.flushOnce(gather)
	}
	if l.epoch != ep {
		return l.failErr
	}
	return nil
}

// flushOnce writes what is queued, releasing mu around the write(2).
// mu is held; no other write is under way.
func (l *Log) flushOnce(gather bool) {
	l.flushing = true
	if gather {
		// Group commit: the leader first lets the goroutines that are
		// ready to run now (other calls being decided) queue their
		// records, so that under load one write(2) carries many.
		l.mu.Unlock()
		runtime.Gosched()
		l.mu.Lock()
	}
	f, buf := l.f, l.pending
	lastSeq, lastPrev := l.seq, l.prev
	l.pending = l.spare[:0]
	l.mu.Unlock()
	n, err := f.Write(buf)
	l.mu.Lock()
	l.flushing = false
	l.spare = buf[:0]
	if err != nil {
		if n > 0 {
			f.Truncate(l.size) // leave no torn line
		}
		l.seq, l.prev = l.flushedSeq, l.flushedPrev
		l.pending = l.pending[:0]
		l.epoch++
		l.failErr = unwritable(f.Name(), err)
	} else {
		l.size += int64(n)
		l.flushedSeq, l.flushedPrev = lastSeq, lastPrev
	}
	l.cond.Broadcast()
}

// drainLocked writes until nothing is queued (others may queue while a
// write is under way) and no write is under way.
func (l *Log) drainLocked() error {
	ep := l.epoch
	for l.flushing || len(l.pending) > 0 {
		if l.flushing {
			l.cond.Wait()
			continue
		}
		l.flushOnce(false)
	}
	if l.epoch != ep {
		return l.failErr
	}
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
	l.drainLocked()
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
	return errs.E("audit.write", errs.Unavailable, errs.ReasonAuditUnavailable,
		errs.Hint("the audit log "+path+" cannot be written (disk full? permissions?); calls are refused until it can"),
		err)
}
