package swarm

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// extHandshake returns a BEP 10 handshake asking us to use the given IDs.
func extHandshake(t testing.TB, m map[string]int) []byte {
	t.Helper()
	b, err := bencode.Marshal(map[string]any{"m": m})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMetadataRequestForHugePieceIsRejected(t *testing.T) {
	h := newHarness(t, harnessOpts{seed: true})
	p := h.connect(peerOpts{})
	p.sendExt(0, extHandshake(t, map[string]int{"ut_metadata": 2}))
	for _, piece := range []int{1 << 49, 1<<53 + 1, 1<<31 - 1, 1} {
		req, _ := bencode.Marshal(map[string]int{"msg_type": wire.MetadataRequest, "piece": piece})
		p.sendExt(wire.ExtMetadata, req)
		m := p.expect("ut_metadata reply", func(m *wire.Message) bool { return m.ID == wire.Extended && m.ExtID == 2 })
		got, err := wire.ParseMetadataMsg(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != wire.MetadataReject || got.Piece != piece {
			t.Fatalf("piece %d: got type %d piece %d, want a reject", piece, got.Type, got.Piece)
		}
	}
	// Piece 0 is still served: the loop survived.
	req, _ := bencode.Marshal(map[string]int{"msg_type": wire.MetadataRequest, "piece": 0})
	p.sendExt(wire.ExtMetadata, req)
	m := p.expect("ut_metadata data", func(m *wire.Message) bool { return m.ID == wire.Extended && m.ExtID == 2 })
	if got, _ := wire.ParseMetadataMsg(m.Payload); got.Type != wire.MetadataData {
		t.Fatalf("piece 0: type %d, want data", got.Type)
	}
}

func TestTruncatedFileUnderASeederIsAVisibleError(t *testing.T) {
	h := newHarness(t, harnessOpts{seed: true})
	l := h.f.m.Layout
	p := h.connect(peerOpts{})
	p.send(wire.AppendSimple(nil, wire.Interested))
	p.expectID(wire.Unchoke)
	// Someone truncates the data file under the running seeder.
	if err := os.Truncate(filepath.Join(h.f.dir, "h.bin"), l.PieceOffset(2)); err != nil {
		t.Fatal(err)
	}
	last := l.NumPieces - 1
	_, n := l.BlockSpan(last, 0)
	p.send(wire.AppendRequest(nil, wire.Request, uint32(last), 0, uint32(n)))
	m := p.expect("reject", func(m *wire.Message) bool { return m.ID == wire.Reject || m.ID == wire.Piece })
	if m.ID != wire.Reject {
		t.Fatal("a block of the truncated range was sent")
	}
	if !p.connected() {
		t.Fatal("the peer was dropped for our missing data")
	}
	s := h.snapshot()
	if s.State != StateError || !strings.Contains(s.Error, "shoal verify") {
		t.Fatalf("state %q error %q, want an error that says to run shoal verify", s.State, s.Error)
	}
	if s.Pieces[last] == PieceHave {
		t.Fatal("the unreadable piece is still shown as had")
	}
	// Asking again is refused, not a protocol violation.
	p.send(wire.AppendRequest(nil, wire.Request, uint32(last), 0, uint32(n)))
	p.expectID(wire.Reject)
	if !p.connected() || h.snapshot().Violations != 0 {
		t.Fatal("asking for a piece we had before is not the peer's fault")
	}
}

func TestUnskippingAFileRegainsInterest(t *testing.T) {
	const pl = 32 << 10
	h := newHarness(t, harnessOpts{pieceLen: pl, files: []piecetest.FileSpec{
		{Path: "t/a.bin", Size: 4 * pl}, {Path: "t/b.bin", Size: 4 * pl}, {Path: "t/c.bin", Size: 4 * pl}}})
	h.tor.SetFilePriority(1, picker.Skip)
	h.tor.SetFilePriority(2, picker.Skip)
	// The peer has a.bin and b.bin, not c.bin: it is no seed, so it stays
	// once a.bin is done.
	bf := piece.NewBitfield(12)
	for i := range 8 {
		bf.Set(i)
	}
	p := h.connect(peerOpts{})
	p.serve(h.content())
	p.send(append(wire.AppendPayload(nil, wire.Bitfield, 0, bf.Wire()), wire.AppendSimple(nil, wire.Unchoke)...))
	waitComplete(t, h.tor, 5*time.Second)
	h.tick(time.Second) // nothing left to want from it
	h.tor.SetFilePriority(1, picker.Normal)
	var have int
	deadline := time.Now().Add(5 * time.Second)
	for have < 8 && time.Now().Before(deadline) {
		have = h.snapshot().Have
		runtime.Gosched()
	}
	if have != 8 {
		t.Fatalf("%d pieces after un-skipping b.bin, want 8: interest was never regained", have)
	}
}

func TestAPanicOnTheLoopStopsOnlyThatTorrentAndReleasesItsPeers(t *testing.T) {
	h := newHarness(t, harnessOpts{seed: true})
	other := addTorrent(t, h.s, newFixture(t, 32<<10, piecetest.FileSpec{Path: "o.bin", Size: 1000}).m, t.TempDir())
	p := h.connect(peerOpts{})
	p.send(wire.AppendSimple(nil, wire.Interested))
	p.expectID(wire.Unchoke)
	h.tor.do(func() { panic("a bug") }) // as a bug on the loop would
	<-h.tor.Done()
	if err := h.tor.Err(); err == nil || !strings.Contains(err.Error(), "internal error") {
		t.Fatalf("torrent error %v, want an internal error", err)
	}
	p.waitGone()
	if n := h.s.conns.Load(); n != 0 {
		t.Fatalf("%d connections still counted by the session", n)
	}
	if !other.do(func() {}) {
		t.Fatal("the other torrent stopped too")
	}
}

func TestALostPieceDownloadedAgainIsServedAgain(t *testing.T) {
	h := newHarness(t, harnessOpts{seed: true})
	l := h.f.m.Layout
	content := h.content()
	p := h.connect(peerOpts{})
	p.send(wire.AppendSimple(nil, wire.Interested))
	p.expectID(wire.Unchoke)
	last := l.NumPieces - 1
	if err := os.Truncate(filepath.Join(h.f.dir, "h.bin"), l.PieceOffset(last)); err != nil {
		t.Fatal(err)
	}
	_, n := l.BlockSpan(last, 0)
	p.send(wire.AppendRequest(nil, wire.Request, uint32(last), 0, uint32(n)))
	p.expectID(wire.Reject)
	// A peer that has it: we are interested again and fetch it.
	healer := h.connect(peerOpts{})
	healer.serve(content)
	healer.send(wireHaveAllUnchoke())
	deadline := time.Now().Add(5 * time.Second)
	for h.snapshot().Pieces[last] != PieceHave && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if h.snapshot().Pieces[last] != PieceHave {
		t.Fatal("the lost piece was never fetched again")
	}
	p.send(wire.AppendRequest(nil, wire.Request, uint32(last), 0, uint32(n)))
	if m := p.expect("an answer", func(m *wire.Message) bool { return m.ID == wire.Reject || m.ID == wire.Piece }); m.ID != wire.Piece {
		t.Fatal("a piece verified again is still refused")
	}
}

func TestCompletedAnnounceTotalsAreCurrent(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	p := h.connect(peerOpts{})
	p.serve(h.content())
	p.send(wireHaveAllUnchoke())
	waitComplete(t, h.tor, 5*time.Second)
	// No tick has run (the clock is ours): the totals the completed
	// announce reads must be the whole download already.
	if got := h.tor.downloadedTotal.Load(); got != h.f.m.Layout.Total {
		t.Fatalf("downloaded total %d at completion, want %d", got, h.f.m.Layout.Total)
	}
}
