package swarm

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// Scenario tests of one torrent's loop through the harness: each runs in
// milliseconds, with the clock moved by hand.

// requestsOf counts the requests the loop has outstanding with the peer.
func (h *harness) requestsOf(p *pipePeer) int {
	n := -1
	h.do(func(l *loop) {
		if c := l.connByAddr(p.addr); c != nil {
			n = len(c.requests)
		}
	})
	return n
}

func TestSilentPeerIsSnubbedAndItsBlocksGoToOthers(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	silent := h.connect(peerOpts{})
	silent.send(wireHaveAllUnchoke())
	silent.drain()
	if n := h.requestsOf(silent); n != minPipeline {
		t.Fatalf("%d requests out, want %d", n, minPipeline)
	}
	h.tick(snubAfter + time.Second)
	var snubbed bool
	h.do(func(l *loop) { snubbed = l.connByAddr(silent.addr).snubbed })
	if !snubbed {
		t.Fatal("a peer that sat on our requests for a minute is not snubbed")
	}
	// Its requests are free again: an honest peer gets them all.
	honest := h.connect(peerOpts{})
	honest.serve(h.content())
	honest.send(wireHaveAllUnchoke())
	waitComplete(t, h.tor, 5*time.Second)
	if n := h.requestsOf(silent); n > 1 {
		t.Fatalf("the snubbed peer still has %d requests, want one at a time", n)
	}
}

func TestRejectedBlocksAreRequestedElsewhere(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	rejecter := h.connect(peerOpts{})
	var rejects atomic.Int64
	rejecter.serveWith(func(m *wire.Message) []byte {
		if m.ID != wire.Request {
			return nil
		}
		rejects.Add(1)
		return wire.AppendRequest(nil, wire.Reject, m.Index, m.Begin, m.Length)
	})
	// A reject for a block never requested is ignored, not a violation.
	rejecter.send(append(wireHaveAllUnchoke(), wire.AppendRequest(nil, wire.Reject, 0, 0, wire.MaxBlock)...))
	honest := h.connect(peerOpts{})
	honest.serve(h.content())
	honest.send(wireHaveAllUnchoke())
	waitComplete(t, h.tor, 5*time.Second)
	if rejects.Load() == 0 {
		t.Fatal("the rejecting peer was never asked")
	}
	if h.snapshot().Violations != 0 {
		t.Fatal("rejects from a fast-extension peer were treated as a violation")
	}
}

func TestRejectWithoutFastExtensionIsAViolation(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	var plain wire.Reserved // no fast extension, no BEP 10
	p := h.connect(peerOpts{reserved: &plain})
	p.send(wire.AppendRequest(nil, wire.Reject, 0, 0, wire.MaxBlock))
	p.waitGone()
	if v := h.snapshot().Violations; v != 1 {
		t.Fatalf("violations %d, want 1", v)
	}
}

func TestEndgameCancelsTheOtherRequester(t *testing.T) {
	// Two pieces of two and one blocks. The slow peer has only the first
	// and is asked for both its blocks; the fast one gets the second
	// piece, then end-game asks it for the first piece's blocks too, and
	// its answers cancel the slow peer's requests.
	h := newHarness(t, harnessOpts{files: []piecetest.FileSpec{{Path: "e.bin", Size: 3 * wire.MaxBlock}}, pieceLen: 2 * wire.MaxBlock})
	slow := h.connect(peerOpts{})
	slow.send(append(wire.AppendPayload(nil, wire.Bitfield, 0, []byte{0x80}), wire.AppendSimple(nil, wire.Unchoke)...))
	slow.drain()
	if n := h.requestsOf(slow); n != 2 {
		t.Fatalf("%d requests to the slow peer, want 2", n)
	}
	fast := h.connect(peerOpts{})
	fast.serve(h.content())
	fast.send(wireHaveAllUnchoke())
	waitComplete(t, h.tor, 5*time.Second)
	cancels := 0
	for _, m := range slow.drain() {
		if m.ID == wire.Cancel {
			cancels++
		}
	}
	if cancels != 2 {
		t.Fatalf("%d cancels sent to the slow peer, want 2", cancels)
	}
	// Its late answers crossed our cancels: forgiven, not unrequested.
	content := h.content()
	slow.send(slow.block(content, 0, 0, wire.MaxBlock))
	slow.drain()
	h.do(func(l *loop) {
		if c := l.connByAddr(slow.addr); c == nil || c.unrequested != 0 {
			t.Error("a block that crossed our cancel counted as unrequested, or its sender was dropped")
		}
	})
}

func TestPauseChokesEveryoneAndResumeUnchokes(t *testing.T) {
	h := newHarness(t, harnessOpts{seed: true})
	p := h.connect(peerOpts{})
	p.send(wire.AppendSimple(nil, wire.Interested))
	p.expectID(wire.Unchoke)
	if !h.tor.Pause() {
		t.Fatal("pause failed")
	}
	p.expectID(wire.Choke)
	_, n := h.f.m.Layout.BlockSpan(0, 0)
	p.send(wire.AppendRequest(nil, wire.Request, 0, 0, uint32(n)))
	if m := p.expect("an answer", func(m *wire.Message) bool { return m.ID == wire.Reject || m.ID == wire.Piece }); m.ID != wire.Reject {
		t.Fatal("a paused torrent uploaded")
	}
	if s := h.snapshot(); s.State != StatePaused {
		t.Fatalf("state %q, want paused", s.State)
	}
	h.tor.Resume()
	p.expectID(wire.Unchoke)
	p.send(wire.AppendRequest(nil, wire.Request, 0, 0, uint32(n)))
	p.expectID(wire.Piece)
}

func TestDiskFullIsAnErrorAndStopsRequesting(t *testing.T) {
	h := newHarness(t, harnessOpts{storage: func(l *piece.Layout, dir string) (storage, error) {
		return &failingStorage{memStorage: &memStorage{MemStorage: piece.NewMemStorage(l)}, err: syscall.ENOSPC}, nil
	}})
	p := h.connect(peerOpts{})
	p.serve(h.content())
	p.send(wireHaveAllUnchoke())
	deadline := time.Now().Add(5 * time.Second)
	var s *Snapshot
	for s = h.snapshot(); s.State != StateError && time.Now().Before(deadline); s = h.snapshot() {
		runtime.Gosched()
	}
	if s.State != StateError || !strings.Contains(s.Error, "no space left") {
		t.Fatalf("state %q error %q, want a disk-full error", s.State, s.Error)
	}
	p.drain()
	before := p.served.Load()
	h.tick(time.Second)
	p.drain()
	if n := p.served.Load() - before; n != 0 {
		t.Fatalf("%d more blocks requested with a full disk", n)
	}
}

// failingStorage fails every write with err.
type failingStorage struct {
	*memStorage
	err error
}

func (s *failingStorage) WriteAt(p []byte, off int64) (int, error) {
	return 0, fmt.Errorf("write data file: %w", s.err)
}

func TestChokeWithoutFastExtensionReleasesRequests(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	var plain wire.Reserved
	p := h.connect(peerOpts{reserved: &plain})
	full := piece.FullBitfield(h.f.m.Layout.NumPieces)
	p.send(append(wire.AppendPayload(nil, wire.Bitfield, 0, full.Wire()), wire.AppendSimple(nil, wire.Unchoke)...))
	p.drain()
	if n := h.requestsOf(p); n == 0 {
		t.Fatal("nothing requested after unchoke")
	}
	p.send(wire.AppendSimple(nil, wire.Choke))
	p.drain()
	if n := h.requestsOf(p); n != 0 {
		t.Fatalf("%d requests kept after a plain choke discarded them", n)
	}
	// Unchoked again, it is asked again and its answers are kept.
	p.serve(h.content())
	p.send(wire.AppendSimple(nil, wire.Unchoke))
	waitComplete(t, h.tor, 5*time.Second)
}

func TestChokeWithFastExtensionKeepsRequests(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	p := h.connect(peerOpts{})
	p.send(wireHaveAllUnchoke())
	p.drain()
	before := h.requestsOf(p)
	p.send(wire.AppendSimple(nil, wire.Choke))
	p.drain()
	if n := h.requestsOf(p); n != before {
		t.Fatalf("%d requests after a fast-extension choke, want %d kept until rejected", n, before)
	}
}

func TestSharedBadPieceEndsInTheLiarsBan(t *testing.T) {
	// Pieces of two blocks. The liar is asked first and rejects the
	// second block of every piece, so the honest peer finishes those:
	// each piece fails with two senders and both go on parole. On parole
	// each downloads whole pieces alone, and the liar's next bad piece
	// bans it.
	h := newHarness(t, harnessOpts{})
	honest := liarThenHonest(h, "127.0.4.1", "127.0.4.2")
	waitComplete(t, h.tor, 5*time.Second)
	s := h.snapshot()
	// The liar is banned once it sends a whole piece of its own; the
	// honest peer, on parole too, may finish everything before that.
	if s.HashFails == 0 || s.Banned > 1 {
		t.Fatalf("banned %d, hash failures %d", s.Banned, s.HashFails)
	}
	h.do(func(lp *loop) {
		if lp.blame.Banned(honest.addr) {
			t.Error("the honest peer was banned")
		}
	})

	h.do(func(lp *loop) { h.sameData(lp.t.cfg.Dir) })
}

// A liar on the same IP as an honest seeder (one host, one NAT) is
// banned alone: the honest one stays and the download completes (the
// liar sends nothing else). Before senders were address and port, its
// ban dropped both and the download never finished.
func TestALiarSharingAnIPBansOnlyItself(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	honest := liarThenHonest(h, "127.0.4.1", "127.0.4.1")
	waitComplete(t, h.tor, 5*time.Second)
	h.do(func(lp *loop) {
		if lp.blame.Banned(honest.addr) || lp.blame.BannedIP(honest.addr.Addr()) {
			t.Error("the honest peer on the liar's IP was banned")
		}
		h.sameData(lp.t.cfg.Dir)
	})
}

// liarThenHonest connects a liar and then an honest seeder. The liar is
// asked first and sends garbage, rejecting the second block of every
// piece until it is on parole, so the honest peer finishes those: each
// piece fails with two senders and both go on parole, where the liar's
// next bad piece is its own.
func liarThenHonest(h *harness, liarIP, honestIP string) (honest *pipePeer) {
	liar := h.connect(peerOpts{ip: liarIP})
	liar.serveWith(func(m *wire.Message) []byte {
		if m.ID != wire.Request {
			return nil
		}
		if int(m.Begin) > 0 && !isParole(h, liar) {
			return wire.AppendRequest(nil, wire.Reject, m.Index, m.Begin, m.Length)
		}
		return garbage(m.Index, m.Begin, int(m.Length))
	})
	liar.send(wireHaveAllUnchoke())
	liar.drain()
	honest = h.connect(peerOpts{ip: honestIP})
	honest.serve(h.content())
	honest.send(wireHaveAllUnchoke())
	return honest
}

// isParole reports whether the loop has p on parole (from p's own
// goroutine, through the loop).
func isParole(h *harness, p *pipePeer) bool {
	var on bool
	h.tor.do(func() { on = h.tor.loopState().blame.OnParole(p.addr) })
	return on
}
