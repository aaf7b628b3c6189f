package swarm

import (
	"crypto/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/shoal-torrent/shoal/piece/piecetest"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

// garbage returns a piece message of random bytes for one block.
func garbage(index, begin uint32, n int) []byte {
	data := make([]byte, n)
	rand.Read(data)
	return append(wire.AppendPieceHeader(nil, index, begin, n), data...)
}

func TestUnrequestedBlocksAreDroppedAndTheDownloadCompletes(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	l := h.f.m.Layout
	honest := h.connect(peerOpts{})
	honest.send(append(wire.AppendSimple(nil, wire.HaveAll), wire.AppendSimple(nil, wire.Unchoke)...))
	h.do(func(*loop) {}) // the loop has sent its requests to the honest peer
	// The liar claims everything and, while those requests are out,
	// sends garbage for the last block of every piece.
	liar := h.connect(peerOpts{ip: "127.0.2.1"})
	liar.send(wire.AppendSimple(nil, wire.HaveAll))
	for i := range l.NumPieces {
		b := l.NumBlocks(i) - 1
		begin, n := l.BlockSpan(i, b)
		liar.send(garbage(uint32(i), uint32(begin), n))
	}
	liar.drain()
	honest.serve(h.content())
	waitComplete(t, h.tor, 5*time.Second)
	s := h.snapshot()
	if s.HashFails != 0 {
		t.Fatalf("%d hash failures: unrequested garbage reached the hash check", s.HashFails)
	}
	if s.Wasted == 0 {
		t.Fatal("the unrequested blocks were not counted as wasted")
	}
	h.do(func(lp *loop) { h.sameData(lp.t.cfg.Dir) })
}

func TestPeerThatKeepsSendingUnrequestedBlocksIsDropped(t *testing.T) {
	h := newHarness(t, harnessOpts{files: nil, pieceLen: 16 << 10})
	l := h.f.m.Layout
	p := h.connect(peerOpts{})
	p.send(wire.AppendSimple(nil, wire.HaveAll))
	for i := 0; i <= maxUnrequested; i++ {
		begin, n := l.BlockSpan(i%l.NumPieces, 0)
		p.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := p.nc.Write(garbage(uint32(i%l.NumPieces), uint32(begin), n)); err != nil {
			break // dropped already
		}
	}
	p.waitGone()
	if s := h.snapshot(); s.Violations != 1 {
		t.Fatalf("violations %d, want 1", s.Violations)
	}
}

func TestStalledDiskNeverBlocksTheLoop(t *testing.T) {
	gate := make(chan struct{})
	h := newHarness(t, harnessOpts{pieceLen: 64 << 10, files: []piecetest.FileSpec{{Path: "slow.bin", Size: 6 << 20}},
		storage: newMemStorage(gate)})
	open := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(open) // before the session closes, even on failure
	content := h.content()
	var peers []*pipePeer
	for range 20 {
		p := h.connect(peerOpts{})
		p.serve(content)
		p.send(append(wire.AppendSimple(nil, wire.HaveAll), wire.AppendSimple(nil, wire.Unchoke)...))
		peers = append(peers, p)
	}
	// Every peer answers its 16 requests: 320 blocks, more than the hash
	// workers' queues hold, fewer than the disk credits.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int64
		for _, p := range peers {
			n += p.served.Load()
		}
		if n >= 20*minPipeline {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers served %d blocks, want %d", n, 20*minPipeline)
		}
		runtime.Gosched()
	}
	// The disk writes nothing; the loop must still answer at once.
	for range 3 {
		if !h.doWithin(2*time.Second, func(*loop) {}) {
			t.Fatal("the torrent loop is blocked behind a stalled disk")
		}
	}
	open()
	waitComplete(t, h.tor, 10*time.Second)
}

func TestRequestsStayUnderThePeersLimit(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	p := h.connect(peerOpts{})
	b, _ := bencode.Marshal(map[string]any{"m": map[string]int{}, "reqq": 10})
	p.sendExt(0, b)
	p.send(wireHaveAllUnchoke())
	p.drain()
	// Transmission refuses its own last request slot: keep a margin.
	if n := h.requestsOf(p); n != 9 {
		t.Fatalf("%d requests out with a peer that accepts 10, want 9", n)
	}
}

func TestABlockThePeerSkippedIsAskedForAgain(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	content := h.content()
	p := h.connect(peerOpts{})
	var skipped atomic.Bool
	p.serveWith(func(m *wire.Message) []byte {
		if m.ID != wire.Request {
			return nil
		}
		if !skipped.Swap(true) {
			return nil // the first one: lost on the way, or rejected without a word
		}
		return p.block(content, m.Index, m.Begin, m.Length)
	})
	p.send(wireHaveAllUnchoke())
	// Every other block arrives; the skipped one is asked for again
	// once it has waited a while.
	deadline := time.Now().Add(5 * time.Second)
	for p.served.Load() < int64(h.f.m.Layout.NumBlocks(0)*h.f.m.Layout.NumPieces-2) && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	p.drain()
	h.tick(skippedAge + time.Second)
	waitComplete(t, h.tor, 5*time.Second)
}

// Every block a peer answers opens the window by one (slow start), without
// waiting for the once-a-second rate: a peer that answered 100 of our
// first 16 and later requests then has 116 out, where a window that grows
// only with the measured rate would still hold 16.
func TestWindowGrowsWithEveryBlockAnswered(t *testing.T) {
	h := newHarness(t, harnessOpts{pieceLen: 256 << 10, files: []piecetest.FileSpec{{Path: "w.bin", Size: 16 << 20}}})
	content := h.content()
	p := h.connect(peerOpts{})
	b, _ := bencode.Marshal(map[string]any{"m": map[string]int{}, "reqq": 2000})
	p.sendExt(0, b)
	var answered atomic.Int64
	p.serveWith(func(m *wire.Message) []byte {
		if m.ID != wire.Request || answered.Add(1) > 100 {
			return nil // from the 101st on, the peer sits on them
		}
		return p.block(content, m.Index, m.Begin, m.Length)
	})
	p.send(wireHaveAllUnchoke())
	deadline := time.Now().Add(5 * time.Second)
	for h.requestsOf(p) != minPipeline+100 {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests out after 100 answered, want %d", h.requestsOf(p), minPipeline+100)
		}
		runtime.Gosched()
	}
}
