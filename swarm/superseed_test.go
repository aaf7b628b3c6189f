package swarm

import (
	"testing"
	"time"

	"github.com/anacrolix/torrent"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

func superSeeding(c *TorrentConfig) { c.SuperSeed = true }

// haves returns the pieces announced by have messages among ms, and fails
// on any whole-torrent announcement (bitfield, have-all).
func haves(t *testing.T, ms []wire.Message) []int {
	t.Helper()
	var out []int
	for _, m := range ms {
		switch m.ID {
		case wire.Bitfield, wire.HaveAll:
			t.Fatalf("a super-seeder sent %v", m.ID)
		case wire.Have:
			out = append(out, int(m.Index))
		}
	}
	return out
}

func TestSuperSeederRevealsOnePieceAtATime(t *testing.T) {
	h := newHarness(t, harnessOpts{seed: true, cfg: superSeeding})
	l := h.f.m.Layout
	a := h.connect(peerOpts{})
	opening := a.drain()
	sawNone := false
	for _, m := range opening {
		sawNone = sawNone || m.ID == wire.HaveNone
	}
	if !sawNone {
		t.Fatalf("a fast peer was not told have-none: %v", opening)
	}
	ha := haves(t, opening)
	if len(ha) != 1 {
		t.Fatalf("first peer shown pieces %v, want one", ha)
	}
	pa := ha[0]
	b := h.connect(peerOpts{})
	hb := haves(t, b.drain())
	if len(hb) != 1 || hb[0] == pa {
		t.Fatalf("second peer shown %v; the first was shown %d", hb, pa)
	}
	pb := hb[0]

	// A piece it was not shown is refused, the one it was is served.
	a.send(wire.AppendSimple(nil, wire.Interested))
	a.expectID(wire.Unchoke)
	_, n := l.BlockSpan(pb, 0)
	a.send(wire.AppendRequest(nil, wire.Request, uint32(pb), 0, uint32(n)))
	if m := a.expect("reject", func(m *wire.Message) bool { return m.ID == wire.Reject || m.ID == wire.Piece }); m.ID != wire.Reject {
		t.Fatal("served a piece the peer was never shown")
	}
	_, n = l.BlockSpan(pa, 0)
	a.send(wire.AppendRequest(nil, wire.Request, uint32(pa), 0, uint32(n)))
	a.expectID(wire.Piece)

	// The first peer has its piece: nothing more until another has it.
	a.send(wire.AppendIndex(nil, wire.Have, uint32(pa)))
	if got := haves(t, a.drain()); len(got) != 0 {
		t.Fatalf("shown %v before its piece reached anyone else", got)
	}
	b.send(wire.AppendIndex(nil, wire.Have, uint32(pa)))
	b.drain()
	got := haves(t, a.drain())
	if len(got) != 1 || got[0] == pa || got[0] == pb {
		t.Fatalf("after its piece reached the second peer the first was shown %v (had %d, other %d)", got, pa, pb)
	}
	if s := h.snapshot(); s.Violations != 0 || !a.connected() {
		t.Fatalf("violations %d, connected %v", s.Violations, a.connected())
	}
}

func TestSuperSeederSendsPlainPeersNoBitfield(t *testing.T) {
	h := newHarness(t, harnessOpts{seed: true, cfg: superSeeding})
	var plain wire.Reserved // no fast extension: no have-none either
	p := h.connect(peerOpts{reserved: &plain})
	ms := p.drain()
	for _, m := range ms {
		if m.ID == wire.HaveNone {
			t.Fatal("have-none sent to a peer without the fast extension")
		}
	}
	if got := haves(t, ms); len(got) != 1 {
		t.Fatalf("shown %v, want one piece", got)
	}
}

func TestAnacrolixDownloadsFromASuperSeeder(t *testing.T) {
	f := newFixture(t, 128<<10, interopFiles...)
	s := newTestSession(t)
	cfg := DefaultTorrentConfig(f.dir)
	cfg.DisableTrackers, cfg.SuperSeed = true, true
	seeder, err := s.Add(f.m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitComplete(t, seeder, 10*time.Second)

	// Alone with the seeder, anacrolix is shown each next piece as soon
	// as it has the last: nobody else is there to pass it on to.
	dl := t.TempDir()
	cl := anacrolixClient(t, dl, false)
	at := anacrolixTorrent(t, cl, f)
	at.AddPeers([]torrent.PeerInfo{{Addr: torrent.StringAddr(s.Addr().String()), Trusted: true}})
	at.DownloadAll()
	waitAnacrolix(t, at, seeder, 60*time.Second)
	cl.Close()
	sameContent(t, f, dl)
	if snap := seeder.Snapshot(); snap.Violations != 0 {
		t.Fatalf("violations %d", snap.Violations)
	}
}
