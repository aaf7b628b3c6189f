package swarm

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// upload is a block a peer asked for, queued for the writer.
type upload struct {
	index, begin, length uint32
}

// outQueue carries what the loop wants sent to one peer. The loop appends
// and never waits; the writer goroutine takes everything at once.
type outQueue struct {
	mu      sync.Mutex // guards ctrl, uploads, closed
	ctrl    []byte     // encoded control messages, in order
	uploads []upload
	closed  bool
	wake    chan struct{} // capacity 1: "there is something to send"
}

func (q *outQueue) push(fn func(ctrl []byte) []byte) {
	q.mu.Lock()
	if !q.closed {
		q.ctrl = fn(q.ctrl)
	}
	q.mu.Unlock()
	q.signal()
}

func (q *outQueue) pushUpload(u upload) {
	q.mu.Lock()
	if !q.closed {
		q.uploads = append(q.uploads, u)
	}
	q.mu.Unlock()
	q.signal()
}

// cancelUpload drops a queued upload; it reports whether it was queued.
func (q *outQueue) cancelUpload(u upload) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.uploads {
		if x == u {
			q.uploads = append(q.uploads[:i], q.uploads[i+1:]...)
			return true
		}
	}
	return false
}

// dropUploads empties the upload queue (we choked the peer) and returns
// what was dropped.
func (q *outQueue) dropUploads() []upload {
	q.mu.Lock()
	defer q.mu.Unlock()
	u := q.uploads
	q.uploads = nil
	return u
}

func (q *outQueue) queuedUploads() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.uploads)
}

// ctrlLen is how many bytes of control messages wait to be sent.
func (q *outQueue) ctrlLen() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ctrl)
}

func (q *outQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// take swaps out everything queued, reusing the caller's buffers.
func (q *outQueue) take(ctrl []byte, ups []upload) ([]byte, []upload, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ctrl, q.ctrl = q.ctrl, ctrl[:0]
	ups, q.uploads = q.uploads, ups[:0]
	return ctrl, ups, q.closed
}

// sentRequest is when a request went out and its place in the order.
type sentRequest struct {
	at  time.Time
	seq uint64
}

type orderedRequest struct {
	blk picker.Block
	seq uint64
}

// blockSet is a bounded set of blocks: past maxReleased it starts over, as
// a block released that long ago is not in flight any more.
type blockSet map[picker.Block]struct{}

const maxReleased = 4096

func (s *blockSet) add(b picker.Block) {
	if *s == nil || len(*s) >= maxReleased {
		*s = blockSet{}
	}
	(*s)[b] = struct{}{}
}

// take removes b and reports whether it was there.
func (s blockSet) take(b picker.Block) bool {
	if _, ok := s[b]; ok {
		delete(s, b)
		return true
	}
	return false
}

// conn is one peer connection. Fields below "loop-owned" belong to the
// torrent's loop goroutine; the reader and writer goroutines touch only the
// socket, the queue and the atomic counters.
type conn struct {
	id       picker.PeerID
	nc       net.Conn
	addr     netip.AddrPort
	incoming bool
	// encrypted is set when the stream is RC4 after an MSE handshake.
	encrypted bool
	utp       bool           // over uTP rather than TCP
	hs        wire.Handshake // the peer's handshake
	out       outQueue

	downloaded atomic.Int64 // block payload bytes received
	uploaded   atomic.Int64 // block payload bytes sent
	// fromFile, when set, counts the torrent's upload bytes that went
	// from file to socket by sendfile rather than through a buffer.
	fromFile *atomic.Int64

	// loop-owned
	connectedAt time.Time
	// lastActive is when a block last moved either way, as seen by the
	// once-a-second tick (movedAtTick: the byte total it saw then).
	lastActive     time.Time
	movedAtTick    int64
	amChoking      bool
	amInterested   bool
	peerChoking    bool
	peerInterested bool
	requests       map[picker.Block]sentRequest // sent, not yet answered
	// reqOrder lists requests in the order sent (answered ones are
	// dropped lazily from its head), reqSeq numbers them.
	reqOrder    []orderedRequest
	reqSeq      uint64
	answeredSeq uint64 // the latest request answered
	// released holds blocks we stopped waiting for (choke, snub, an
	// end-game cancel) that may still be in flight; unrequested counts
	// blocks that were neither.
	released    blockSet
	unrequested int
	lastBlockAt time.Time
	snubbed     bool
	downMeter   meter
	upMeter     meter
	reqq        int       // how many requests the peer accepts
	window      reqWindow // how many we keep out with it (window.go)
	reqCap      int       // the most its client takes, whatever reqq says
	clientName  string
	anyMessage  bool // the first message was seen (bitfield only allowed first)
	allowedFast map[uint32]bool
	// refused maps the pieces the peer rejected our requests for while
	// unchoking us to when we may ask it again (spreading.go).
	refused   map[int]time.Time
	haveCount int
	seed      bool
	closing   bool
	source    string // where we learned of the peer: incoming, tracker, manual, ...
	// peerExt maps extension names to the IDs the peer wants (BEP 10);
	// listenPort is the port it accepts connections on, when it said.
	peerExt    map[string]int
	listenPort int
	// sender is who the blame ledger holds to account for its blocks:
	// the address we dialled, or for an incoming connection its IP with
	// the listen port it gave before sending any block (else the port
	// it came from). Fixed from then on, so a liar cannot shed a record
	// by announcing another port.
	sender  netip.AddrPort
	pexSent map[netip.AddrPort]bool // what our PEX messages told it
	pexAt   time.Time               // when we last sent it PEX; zero: not yet
}

// listenAddr is where others can reach the peer: the address we dialled,
// or for an incoming connection its IP with the port it announced.
func (c *conn) listenAddr() (netip.AddrPort, bool) {
	if !c.incoming {
		return c.addr, true
	}
	if c.listenPort > 0 {
		return netip.AddrPortFrom(c.addr.Addr(), uint16(c.listenPort)), true
	}
	return netip.AddrPort{}, false
}

// The choke.Peer interface, read by the choker on the loop goroutine.

func (c *conn) ID() uint64             { return uint64(c.id) }
func (c *conn) Interested() bool       { return c.peerInterested }
func (c *conn) DownloadRate() float64  { return c.downMeter.rate(rateWindow) }
func (c *conn) UploadRate() float64    { return c.upMeter.rate(rateWindow) }
func (c *conn) Snubbed() bool          { return c.snubbed }
func (c *conn) ConnectedAt() time.Time { return c.connectedAt }

// connEvent is what a reader goroutine reports to the loop: a message or
// the connection's end.
type connEvent struct {
	c     *conn
	msg   wire.Message
	block *[]byte // pooled buffer holding msg.Data for piece messages
	err   error   // the connection ended
	// readFailed is set when the writer could not read upload from
	// storage: the event is the writer's, not a message.
	readFailed error
	upload     upload
}

// readLoop decodes messages and forwards them to the loop until the
// connection fails. Payloads that the reader reuses are copied; block
// payloads travel in pooled buffers the loop takes over.
//
// A piece message takes a disk credit before it goes to the loop, so a
// disk that falls behind stops the readers (and through TCP the peers),
// never the loop.
func (c *conn) readLoop(ctx context.Context, numPieces int, events chan<- connEvent, credit diskCredit, limit func(ctx context.Context, n int) error) {
	r := wire.NewReader(bufio.NewReaderSize(c.nc, 64<<10), numPieces)
	var pending *[]byte
	for {
		var m wire.Message
		// Peers must send something (at least a keep-alive) every two
		// minutes; three without a word means the connection is dead.
		c.nc.SetReadDeadline(time.Now().Add(3 * time.Minute))
		err := r.Read(&m, func(n int) []byte {
			pending = getBlock()
			return (*pending)[:n]
		})
		if err != nil {
			putBlock(pending)
			select {
			case events <- connEvent{c: c, err: err}:
			case <-ctx.Done():
			}
			return
		}
		ev := connEvent{c: c, msg: m}
		switch m.ID {
		case wire.Piece:
			ev.block, pending = pending, nil
			if limit != nil {
				if err := limit(ctx, len(m.Data)); err != nil {
					putBlock(ev.block)
					return
				}
			}
			if !credit.acquire(ctx) {
				putBlock(ev.block)
				return
			}
			c.downloaded.Add(int64(len(m.Data)))
		case wire.Bitfield, wire.Extended, wire.HashRequest, wire.Hashes, wire.HashReject:
			ev.msg.Payload = append([]byte(nil), m.Payload...)
		}
		select {
		case events <- ev:
		case <-ctx.Done():
			if ev.block != nil {
				putBlock(ev.block)
				credit.release()
			}
			return
		}
	}
}

// writeLoop sends queued control messages and uploads. Uploads are read
// from storage into pooled buffers and written with the header in one
// writev; the loop never waits for it.
//
// A block that cannot be read from storage is reported through
// readFailed and the writer goes on: the data went missing under us, the
// peer did nothing wrong.
func (c *conn) writeLoop(ctx context.Context, st piece.Storage, l *piece.Layout, limit func(ctx context.Context, n int) error, readFailed func(upload, error)) {
	var ctrl []byte
	var ups []upload
	hdr := make([]byte, 0, 13)
	var frame []byte // uTP only: header and block together
	keepAlive := time.NewTimer(90 * time.Second)
	defer keepAlive.Stop()
	fail := func(error) { c.nc.Close() }
	// Plain TCP from files: the kernel sends file ranges itself. RC4
	// must see every byte, and uTP is a user-space stream, so neither
	// can (their conns are not *net.TCPConn). dst is the socket's raw
	// conn for sendfile, nil where uploads go through a buffer.
	var dst syscall.RawConn
	fr, _ := st.(fileRanger)
	if tc, ok := c.nc.(*net.TCPConn); ok && fr != nil && !c.encrypted && !c.utp && haveSendfile {
		dst, _ = tc.SyscallConn() // nil if it cannot be had: buffered then
	}
	var fc uploadFile
	for {
		select {
		case <-c.out.wake:
		case <-keepAlive.C:
			c.out.push(wire.AppendKeepAlive)
			continue
		case <-ctx.Done():
			return
		}
		var closed bool
		ctrl, ups, closed = c.out.take(ctrl, ups)
		if closed {
			return
		}
		fc = uploadFile{} // sizes are read afresh for each batch
		c.nc.SetWriteDeadline(time.Now().Add(2 * time.Minute))
		if len(ctrl) > 0 {
			if _, err := c.nc.Write(ctrl); err != nil {
				fail(err)
				return
			}
		}
		for _, u := range ups {
			if dst != nil && !pastEnd(l, u) {
				switch sent, err := c.sendFile(ctx, dst, fr, l, u, hdr, &fc, limit); {
				case sent && err != nil:
					fail(err)
					return
				case sent:
					continue
				case err != nil:
					readFailed(u, err)
					continue
				}
			}
			buf := getBlock()
			data := (*buf)[:u.length]
			if err := readBlock(st, l, data, l.PieceOffset(int(u.index))+int64(u.begin)); err != nil {
				putBlock(buf)
				readFailed(u, err)
				continue
			}
			if limit != nil {
				if err := limit(ctx, len(data)); err != nil {
					putBlock(buf)
					return
				}
			}
			hdr = wire.AppendPieceHeader(hdr[:0], u.index, u.begin, len(data))
			var err error
			if c.utp {
				// One write: libutp sends each write's tail at once, so a
				// header written alone costs a packet of 13 bytes.
				frame = append(append(frame[:0], hdr...), data...)
				_, err = c.nc.Write(frame)
			} else {
				bufs := net.Buffers{hdr, data}
				_, err = bufs.WriteTo(c.nc)
			}
			putBlock(buf)
			if err != nil {
				fail(err)
				return
			}
			c.uploaded.Add(int64(len(data)))
		}
		keepAlive.Reset(90 * time.Second)
	}
}

// fileRanger is storage whose block ranges can go to a socket straight
// from the file (piece.FileStorage).
type fileRanger interface {
	FileRange(off int64, n int, fn func(f *os.File, fileOff int64) error) (bool, error)
}

// sendFile sends upload u as a piece message from its file with
// sendfile(2). sent says whether anything went out: with an error then,
// the connection is broken; without, the storage failed (or the range
// spans files: neither sent nor an error) and the caller reads instead.
func (c *conn) sendFile(ctx context.Context, dst syscall.RawConn, fr fileRanger, l *piece.Layout, u upload, hdr []byte, fc *uploadFile,
	limit func(ctx context.Context, n int) error) (sent bool, err error) {
	off := l.PieceOffset(int(u.index)) + int64(u.begin)
	n := int(u.length)
	var wrote bool
	handled, err := fr.FileRange(off, n, func(f *os.File, fileOff int64) error {
		if limit != nil {
			if err := limit(ctx, n); err != nil {
				wrote = true // stopping: the connection is done
				return err
			}
		}
		var err error
		wrote, err = sendFileRange(dst, wire.AppendPieceHeader(hdr[:0], u.index, u.begin, n), f, fileOff, n, fc)
		return err
	})
	if !handled && err == nil {
		return false, nil
	}
	if wrote && err == nil {
		c.uploaded.Add(int64(n))
		if c.fromFile != nil {
			c.fromFile.Add(int64(n))
		}
	}
	return wrote, err
}

// uploadFile is the file one upload batch last sent from, with its size
// and raw conn: consecutive blocks of a file then cost one fstat(2) per
// batch, not one each (the per-block fstat was an eighth of a seeder's
// CPU). A file truncated within a batch ends in sendfile's short count
// instead, which drops the connection.
type uploadFile struct {
	f    *os.File
	raw  syscall.RawConn
	size int64
}

// get returns f's raw conn and size, read once per batch.
func (fc *uploadFile) get(f *os.File) (syscall.RawConn, int64, error) {
	if fc.f != f {
		fi, err := f.Stat()
		if err != nil {
			return nil, 0, err
		}
		raw, err := f.SyscallConn()
		if err != nil {
			return nil, 0, err
		}
		*fc = uploadFile{f: f, raw: raw, size: fi.Size()}
	}
	return fc.raw, fc.size, nil
}

// isClosedErr reports errors that only mean the connection ended.
func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}
