package swarm

import (
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/swarm/spread"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// answer sends p a request for the first block of piece i and returns
// whether it was served (a piece) or turned down (a reject).
func askFirstBlock(h *harness, p *pipePeer, i int) bool {
	h.t.Helper()
	_, n := h.f.m.Layout.BlockSpan(i, 0)
	p.send(wire.AppendRequest(nil, wire.Request, uint32(i), 0, uint32(n)))
	m := p.expect("piece or reject", func(m *wire.Message) bool {
		return (m.ID == wire.Reject || m.ID == wire.Piece) && int(m.Index) == i
	})
	return m.ID == wire.Piece
}

// An initial seeder turns down, once, a piece it is sending to another
// peer, and one another peer holds while it is the one source of others;
// a second ask after RetryAfter is served. --no-spread, and a peer
// without the fast extension (which cannot be told no), are served.
func TestInitialSeederSpreadsPieces(t *testing.T) {
	var plain wire.Reserved
	for _, tc := range []struct {
		name    string
		cfg     func(*TorrentConfig)
		b       peerOpts
		refuses bool
	}{
		{"default", nil, peerOpts{}, true},
		{"no-spread", func(c *TorrentConfig) { c.NoSpread = true }, peerOpts{}, false},
		{"plain peer", nil, peerOpts{reserved: &plain}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{seed: true, cfg: tc.cfg})
			a, b := h.connect(peerOpts{}), h.connect(tc.b)
			for _, p := range []*pipePeer{a, b} {
				p.send(wire.AppendSimple(nil, wire.Interested))
				p.expectID(wire.Unchoke)
			}
			if !askFirstBlock(h, a, 0) {
				t.Fatal("the first asker of piece 0 was turned down")
			}
			if tc.b.reserved != nil { // no reject to wait for: a piece or nothing
				if !askFirstBlock(h, b, 0) {
					t.Fatal("a plain peer was turned down")
				}
				return
			}
			if got := askFirstBlock(h, b, 0); got == tc.refuses {
				t.Fatalf("piece 0, on its way to another peer: served %v", got)
			}
			if !askFirstBlock(h, b, 1) {
				t.Fatal("a piece nobody has was turned down")
			}
			h.tick(spread.DefaultConfig().RetryAfter)
			if !askFirstBlock(h, b, 0) {
				t.Fatal("asked again after RetryAfter, piece 0 was still turned down")
			}
			// Held by a peer, while pieces nobody has are left.
			a.send(wire.AppendIndex(nil, wire.Have, 1))
			c := h.connect(peerOpts{})
			c.send(wire.AppendSimple(nil, wire.Interested))
			c.expectID(wire.Unchoke)
			if got := askFirstBlock(h, c, 1); got == tc.refuses {
				t.Fatalf("piece 1, held by another peer: served %v", got)
			}
			if s := h.snapshot(); s.Violations != 0 || !b.connected() || !c.connected() {
				t.Fatalf("violations %d", s.Violations)
			}
		})
	}
}

// A peer that rejects a piece while unchoking us is not asked for it
// again until refuseFor has passed; the rest is asked of it meanwhile.
func TestARefusedPieceIsAskedElsewhereFirst(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	a := h.connect(peerOpts{})
	a.send(wire.AppendSimple(nil, wire.HaveAll))
	a.expectID(wire.Interested)
	a.send(wire.AppendSimple(nil, wire.Unchoke))
	first := a.expectID(wire.Request)
	a.send(wire.AppendRequest(nil, wire.Reject, first.Index, first.Begin, first.Length))
	content := h.content()
	// Answer everything else: the download gets all but the refused
	// piece, which is never asked again meanwhile.
	deadline := time.After(10 * time.Second)
	for want := h.f.m.Layout.NumPieces - 1; h.snapshot().Have < want; {
		for _, m := range a.drain() {
			if m.ID != wire.Request {
				continue
			}
			if m.Index == first.Index && m.Begin == first.Begin {
				t.Fatalf("asked again for the block of piece %d it refused", m.Index)
			}
			a.send(a.block(content, m.Index, m.Begin, m.Length))
		}
		select {
		case <-deadline:
			t.Fatalf("have %d of %d pieces", h.snapshot().Have, want)
		default:
		}
	}
	h.tick(refuseFor)
	m := a.expectID(wire.Request)
	if m.Index != first.Index || m.Begin != first.Begin {
		t.Fatalf("after refuseFor asked for piece %d at %d, want %d at %d", m.Index, m.Begin, first.Index, first.Begin)
	}
}

// While it is the one source of some pieces a seeder unchokes up to
// spreadSlots interested peers, not 4, so every leecher soon holds
// pieces to trade; --no-spread keeps the configured slots.
func TestInitialSeederUnchokesMorePeers(t *testing.T) {
	for _, noSpread := range []bool{false, true} {
		h := newHarness(t, harnessOpts{seed: true, cfg: func(c *TorrentConfig) { c.NoSpread = noSpread }})
		var peers []*pipePeer
		for range 6 {
			p := h.connect(peerOpts{})
			p.send(wire.AppendSimple(nil, wire.Interested))
			peers = append(peers, p)
		}
		unchoked := 0
		for _, p := range peers {
			for _, m := range p.drain() {
				if m.ID == wire.Unchoke {
					unchoked++
				}
			}
		}
		want := 6
		if noSpread {
			want = DefaultTorrentConfig("").UploadSlots
		}
		if unchoked != want {
			t.Errorf("no-spread %v: %d of 6 interested peers unchoked, want %d", noSpread, unchoked, want)
		}
	}
}
