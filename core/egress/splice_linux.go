package egress

import (
	"errors"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A download moves from the server's connection to the command's through
// a pipe of the proxy's, with splice(2): the kernel passes the pages, the
// proxy never copies a byte. What it costs is wake-ups: each time the
// server's connection turns readable the proxy wakes, moves what came and
// sleeps again, and the command, handed each piece, wakes as often. On
// loopback at full speed that is a wake-up every ~40 KiB on each side,
// and on a VM a context switch is dear (docs/network.md, "The download").
//
// So while a flow is a bulk one — a read brought at least bulkRead bytes
// — the proxy asks the kernel not to wake it before bulkLowat bytes wait
// (SO_RCVLOWAT; the end of the stream, a reset or an error wake it at
// once), and it moves them in one piece. A pause shorter than bulkLowat
// (the tail of a response on a kept-alive connection, a server that waits
// for the client) would then wait for nothing, so the wait has a deadline,
// bulkWait: when it passes, the low-water mark goes back to one byte and
// what waits is moved at once. A bulk flow's tail can be held at most
// bulkWait longer; a flow that never brings bulkRead bytes at a time (an
// interactive protocol, anything slower than the loopback) never waits.
const (
	bulkRead  = 128 << 10
	bulkLowat = 512 << 10
	bulkWait  = time.Millisecond
	pipeSize  = 1 << 20
)

// spliceDown moves from's bytes to to until from ends, either side fails
// or the command's budget is spent (to is then closed), and returns how
// many it moved; false when it could not start (no pipe), for the caller
// to copy instead.
func (p *Proxy) spliceDown(to, from *net.TCPConn) (n int64, ok bool) {
	rfrom, err1 := from.SyscallConn()
	rto, err2 := to.SyscallConn()
	if err1 != nil || err2 != nil {
		return 0, false
	}
	pfd, err := getPipe()
	if err != nil {
		return 0, false
	}
	empty := true // pfd holds no byte: it may serve another connection
	defer func() { putPipe(pfd, empty) }()
	lowat := 1
	setLowat := func(v int) {
		rfrom.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVLOWAT, v) })
		lowat = v
	}
	for {
		want := p.reserve(pipeSize)
		if want == 0 {
			to.Close()
			return n, true
		}
		var got int64
		var rerr error
		err := rfrom.Read(func(fd uintptr) bool {
			got, rerr = unix.Splice(int(fd), nil, pfd[1], nil, int(want), unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			return rerr != unix.EAGAIN
		})
		got = max(got, 0)       // -1 with an error
		p.bytes.Add(got - want) // give back what this step did not move
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// A bulk flow paused with less than bulkLowat waiting.
			setLowat(1)
			from.SetReadDeadline(time.Time{})
			continue
		}
		if err != nil || rerr != nil || got == 0 {
			return n, true // the end, or an error
		}
		empty = false
		for left := got; left > 0; {
			var w int64
			var werr error
			err := rto.Write(func(fd uintptr) bool {
				w, werr = unix.Splice(pfd[0], nil, int(fd), nil, int(left), unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
				return werr != unix.EAGAIN
			})
			w = max(w, 0)
			if err != nil || werr != nil || w == 0 {
				return n, true // the command went away
			}
			left -= w
			n += w
		}
		empty = true
		if got >= bulkRead && lowat == 1 {
			setLowat(bulkLowat)
		}
		if lowat > 1 {
			from.SetReadDeadline(time.Now().Add(bulkWait))
		}
	}
}

// pipes are empty pipes of pipeSize kept for the next connections: a new
// one is four system calls (pipe2, fcntl, two closes) per connection.
var pipes = make(chan [2]int, 16)

func getPipe() ([2]int, error) {
	select {
	case p := <-pipes:
		return p, nil
	default:
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return p, err
	}
	unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, pipeSize) // a smaller pipe only means more steps
	return p, nil
}

// putPipe keeps p for another connection when it is empty and there is
// room, else closes it.
func putPipe(p [2]int, empty bool) {
	if empty {
		select {
		case pipes <- p:
			return
		default:
		}
	}
	unix.Close(p[0])
	unix.Close(p[1])
}
