package swarm

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// The loop harness drives one torrent's loop through in-memory connections
// (net.Pipe) with a fake clock and no tickers: a scenario runs in
// milliseconds, and every tick happens when the test says.

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// harness is one torrent under test.
type harness struct {
	t     testing.TB
	f     *fixture
	s     *Session
	tor   *Torrent
	clock *fakeClock
	peers int
}

// harnessOpts shapes a harness torrent.
type harnessOpts struct {
	seed     bool // start with the fixture's data (a seeder); else empty
	pieceLen int64
	files    []piecetest.FileSpec
	// storage, when set, replaces the files on disk.
	storage func(l *piece.Layout, dir string) (storage, error)
	cfg     func(*TorrentConfig)
	// version makes a v2-only or hybrid torrent; v1 by default.
	version meta.Version
	// session changes the session's config before it starts.
	session func(*SessionConfig)
	// trackers become the torrent's announce tiers.
	trackers [][]string
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	if o.pieceLen == 0 {
		o.pieceLen = 32 << 10
	}
	if len(o.files) == 0 {
		o.files = []piecetest.FileSpec{{Path: "h.bin", Size: 8*32<<10 + 5000}}
	}
	h := &harness{t: t, clock: &fakeClock{now: time.Unix(1_700_000_000, 0)}}
	if o.version != meta.VersionV1 {
		h.f = newFixtureV(t, o.version, o.pieceLen, o.files...)
	} else {
		h.f = newFixture(t, o.pieceLen, o.files...)
	}
	// The loop's tests speak TCP with hand-written peers; dials to
	// their made-up addresses fail at once over TCP, not after a uTP
	// timeout.
	mods := []func(*SessionConfig){withoutUTP}
	if o.session != nil {
		mods = append(mods, o.session)
	}
	h.s = newTestSession(t, mods...)
	h.s.now, h.s.manualTicks = h.clock.Now, true
	dir := t.TempDir()
	if o.seed {
		dir = h.f.dir
	}
	h.f.m.Trackers = o.trackers
	cfg := DefaultTorrentConfig(dir)
	cfg.DisableTrackers = len(o.trackers) == 0
	cfg.openStorage = o.storage
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	tor, err := h.s.Add(h.f.m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.tor = tor
	h.do(func(*loop) {}) // the loop has checked its data and serves
	if o.seed {
		waitComplete(t, tor, 5*time.Second)
	}
	return h
}

// do runs fn on the loop goroutine.
func (h *harness) do(fn func(l *loop)) {
	h.t.Helper()
	if !h.tor.do(func() { fn(h.tor.loopState()) }) {
		h.t.Fatalf("torrent loop is gone: %v", h.tor.Err())
	}
}

// tick moves the clock by d and runs the loop's once-a-second work.
func (h *harness) tick(d time.Duration) {
	now := h.clock.advance(d)
	h.do(func(l *loop) { l.tick(now); l.publish(now) })
}

// snapshot publishes and returns a fresh snapshot.
func (h *harness) snapshot() *Snapshot {
	h.do(func(l *loop) { l.publish(l.now()) })
	return h.tor.Snapshot()
}

// pipePeer is the test's end of an in-memory connection.
type pipePeer struct {
	t    testing.TB
	h    *harness
	nc   net.Conn
	addr netip.AddrPort
	msgs chan wire.Message
	gone chan struct{} // closed when the loop's side hung up
	// served counts the blocks serve has written.
	served atomic.Int64
	// serving is set once serveWith owns msgs; drain then waits for its
	// marker on markers instead of reading msgs itself.
	serving atomic.Bool
	markers chan struct{}
}

// peerOpts shapes a pipe peer's handshake.
type peerOpts struct {
	ip       string // its address as the loop sees it; default 127.0.1.N
	reserved *wire.Reserved
	incoming *bool
	peerID   *[20]byte
}

// connect hands the loop a handshaken connection from a new peer. The peer
// reads everything the loop sends into msgs, so the loop's writer never
// waits on the test.
func (h *harness) connect(o peerOpts) *pipePeer {
	h.t.Helper()
	h.peers++
	ip := netip.AddrFrom4([4]byte{127, 0, 1, byte(h.peers)})
	if o.ip != "" {
		ip = netip.MustParseAddr(o.ip)
	}
	srv, cli := net.Pipe()
	p := &pipePeer{t: h.t, h: h, nc: cli, addr: netip.AddrPortFrom(ip, uint16(40000+h.peers)),
		msgs: make(chan wire.Message, 1<<14), gone: make(chan struct{}), markers: make(chan struct{}, 16)}
	hs := wire.Handshake{Reserved: wire.OurReserved(), InfoHash: h.f.m.InfoHash}
	if o.reserved != nil {
		hs.Reserved = *o.reserved
	}
	rand.Read(hs.PeerID[:])
	if o.peerID != nil {
		hs.PeerID = *o.peerID
	}
	c := &conn{nc: srv, addr: p.addr, incoming: o.incoming == nil || *o.incoming, source: "incoming", hs: hs}
	h.t.Cleanup(func() { cli.Close() })
	go func() {
		defer close(p.gone)
		r := wire.NewReader(cli, h.f.m.Layout.NumPieces)
		for {
			var m wire.Message
			if r.Read(&m, func(n int) []byte { return make([]byte, n) }) != nil {
				return
			}
			if m.Payload != nil {
				m.Payload = append([]byte(nil), m.Payload...)
			}
			p.msgs <- m
		}
	}()
	h.s.conns.Add(1)
	select {
	case h.tor.conns <- c:
	case <-time.After(5 * time.Second):
		h.t.Fatal("loop did not adopt the connection")
	}
	return p
}

// send writes raw wire bytes to the loop.
func (p *pipePeer) send(b []byte) {
	p.t.Helper()
	p.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("send to loop: %v", err)
	}
}

// sendExt sends an extended message with the given extension ID.
func (p *pipePeer) sendExt(id byte, payload []byte) {
	p.send(wire.AppendPayload(nil, wire.Extended, id, payload))
}

// expect waits for the first message that matches, skipping others.
func (p *pipePeer) expect(what string, match func(*wire.Message) bool) wire.Message {
	p.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-p.msgs:
			if match(&m) {
				return m
			}
		case <-p.gone:
			p.t.Fatalf("connection closed while waiting for %s", what)
		case <-deadline:
			p.t.Fatalf("no %s within 5s", what)
		}
	}
}

// expectID waits for a message of the given kind.
func (p *pipePeer) expectID(id wire.ID) wire.Message {
	p.t.Helper()
	return p.expect(fmt.Sprint("message ", id), func(m *wire.Message) bool { return m.ID == id })
}

// drain returns every message the loop sent before this call, once the
// loop has handled everything the peer sent: a marker goes out behind
// them on the same queue, and the writer keeps order.
func (p *pipePeer) drain() []wire.Message {
	p.t.Helper()
	p.send(wire.AppendKeepAlive(nil)) // returns once the reader took it
	p.h.do(func(*loop) {})            // the loop handled what came before
	p.h.do(func(l *loop) {
		if c := l.connByAddr(p.addr); c != nil {
			c.out.push(func(b []byte) []byte { return wire.AppendPayload(b, wire.Extended, 255, harnessMarker) })
		}
	})
	var out []wire.Message
	deadline := time.After(5 * time.Second)
	if p.serving.Load() {
		select {
		case <-p.markers:
		case <-p.gone:
		case <-deadline:
			p.t.Fatal("no marker within 5s")
		}
		return nil
	}
	for {
		select {
		case m := <-p.msgs:
			if isMarker(&m) {
				return out
			}
			out = append(out, m)
		case <-p.gone:
			return out
		case <-deadline:
			p.t.Fatal("no marker within 5s")
		}
	}
}

var harnessMarker = []byte("harness-marker")

func isMarker(m *wire.Message) bool {
	return m.ID == wire.Extended && m.ExtID == 255 && string(m.Payload) == string(harnessMarker)
}

// waitGone waits until the loop closed the connection.
func (p *pipePeer) waitGone() {
	p.t.Helper()
	select {
	case <-p.gone:
	case <-time.After(5 * time.Second):
		p.t.Fatal("the loop kept a connection it should have dropped")
	}
}

// connected reports whether the loop still holds the peer's connection.
func (p *pipePeer) connected() bool {
	var ok bool
	p.h.do(func(l *loop) {
		for _, c := range l.conns {
			ok = ok || c.addr == p.addr
		}
	})
	return ok
}

// conn returns the loop's side of the peer (call only inside h.do).
func (l *loop) connByAddr(a netip.AddrPort) *conn {
	for _, c := range l.conns {
		if c.addr == a {
			return c
		}
	}
	return nil
}

// content is the fixture's torrent data, all files in order.
func (h *harness) content() []byte {
	h.t.Helper()
	var out []byte
	for _, f := range h.f.m.Layout.Files {
		b, err := os.ReadFile(filepath.Join(append([]string{h.f.dir}, f.Path...)...))
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

// serve answers the loop's requests with data from content until the
// connection ends; it takes over the peer's message stream.
func (p *pipePeer) serve(content []byte) {
	p.serveWith(func(m *wire.Message) []byte {
		if m.ID != wire.Request {
			return nil
		}
		return p.block(content, m.Index, m.Begin, m.Length)
	})
}

// block encodes a piece message carrying content's bytes for a request.
func (p *pipePeer) block(content []byte, index, begin, length uint32) []byte {
	off := p.h.f.m.Layout.PieceOffset(int(index)) + int64(begin)
	return append(wire.AppendPieceHeader(nil, index, begin, int(length)), content[off:off+int64(length)]...)
}

// serveWith answers every message from the loop with what answer returns
// (nil: nothing). drain still works: it then returns no messages.
func (p *pipePeer) serveWith(answer func(*wire.Message) []byte) {
	p.serving.Store(true)
	go func() {
		for {
			select {
			case m := <-p.msgs:
				if isMarker(&m) {
					p.markers <- struct{}{}
					continue
				}
				if b := answer(&m); b != nil {
					if _, err := p.nc.Write(b); err != nil {
						return
					}
					if m.ID == wire.Request {
						p.served.Add(1)
					}
				}
			case <-p.gone:
				return
			}
		}
	}()
}

// sameData checks the torrent's storage holds content, once complete.
func (h *harness) sameData(dir string) {
	h.t.Helper()
	sameContent(h.t, h.f, dir)
}

// memStorage is in-memory storage the loop can use, with an optional gate
// that holds every write until it is closed (a disk that stalled).
type memStorage struct {
	*piece.MemStorage
	gate   chan struct{}
	writes atomic.Int64
}

func newMemStorage(gate chan struct{}) func(l *piece.Layout, dir string) (storage, error) {
	return func(l *piece.Layout, dir string) (storage, error) {
		return &memStorage{MemStorage: piece.NewMemStorage(l), gate: gate}, nil
	}
}

func (m *memStorage) WriteAt(p []byte, off int64) (int, error) {
	m.writes.Add(1)
	if m.gate != nil {
		<-m.gate
	}
	return m.MemStorage.WriteAt(p, off)
}

func (m *memStorage) Stats() ([]piece.FileStat, error) { return nil, nil }
func (m *memStorage) CreateFiles() error               { return nil }

// doWithin runs fn on the loop unless the loop does not get to it in time.
func (h *harness) doWithin(d time.Duration, fn func(l *loop)) bool {
	ran := make(chan struct{})
	go h.tor.do(func() { fn(h.tor.loopState()); close(ran) })
	select {
	case <-ran:
		return true
	case <-time.After(d):
		return false
	}
}

// wireHaveAllUnchoke is the opening of a seed that serves at once.
func wireHaveAllUnchoke() []byte {
	return append(wire.AppendSimple(nil, wire.HaveAll), wire.AppendSimple(nil, wire.Unchoke)...)
}
