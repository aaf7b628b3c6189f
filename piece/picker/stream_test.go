package picker

import (
	"slices"
	"testing"
)

// A reader's window is picked before rarest-first's choice, in order.
func TestWindowsFirst(t *testing.T) {
	p := newTest(t, 0, 20*pieceSize)
	p.AddPeer(1)
	p.PeerHaveAll(1)
	p.SetWindows([]Window{{First: 15, End: 18}})
	got := piecesOf(p.Pick(nil, 1, 6))
	if !slices.Equal(got, []int{15, 16, 17}) {
		t.Fatalf("picked %v, want the window 15,16,17 first", got)
	}
	p.check(t)
}

// Two readers: the first listed is served first; windows are clipped to
// the torrent.
func TestWindowsOrderAndClip(t *testing.T) {
	p := newTest(t, 0, 10*pieceSize)
	p.AddPeer(1)
	p.PeerHaveAll(1)
	p.SetWindows([]Window{{First: 8, End: 40}, {First: -3, End: 1}})
	got := piecesOf(p.Pick(nil, 1, 6))
	if !slices.Equal(got, []int{8, 9, 0}) {
		t.Fatalf("picked %v, want 8, 9 then 0", got)
	}
	p.check(t)
}

// The piece a reader waits on, once all out with a slow peer, is asked of
// a second peer too; whichever answers first wins and the other is told to
// cancel.
func TestWindowHeadDuplicated(t *testing.T) {
	p := newTest(t, 0, 10*pieceSize)
	for _, id := range []PeerID{1, 2} {
		p.AddPeer(id)
		p.PeerHaveAll(id)
	}
	p.SetWindows([]Window{{First: 4, End: 5}})
	slow := p.Pick(nil, 1, 2)
	if !slices.Equal(piecesOf(slow), []int{4}) {
		t.Fatalf("slow peer got %v", slow)
	}
	fast := p.Pick(nil, 2, 2)
	if !slices.Equal(fast, slow) {
		t.Fatalf("second peer got %v, want the same blocks of piece 4 %v", fast, slow)
	}
	o := p.Received(2, fast[0])
	if !o.Useful || !slices.Equal(o.Cancel, []PeerID{1}) {
		t.Fatalf("outcome %+v: want useful and a cancel to peer 1", o)
	}
	p.check(t)
	// Outside the window nothing is duplicated.
	p.SetWindows(nil)
	for _, b := range p.Pick(nil, 2, 40) {
		if b.Piece == 4 {
			t.Fatalf("block %v of piece 4 asked twice without a reader", b)
		}
	}
	p.check(t)
}

// A whole-piece peer (a web seed) gets whole pieces nobody else shares,
// and keeps others off them; others' started pieces are not given to it.
func TestWholePieces(t *testing.T) {
	p := newTest(t, 0, 10*pieceSize)
	for _, id := range []PeerID{1, 2} {
		p.AddPeer(id)
		p.PeerHaveAll(id)
	}
	p.SetWholePieces(2, true)
	peer := p.Pick(nil, 1, 1) // half of a piece
	if len(peer) != 1 {
		t.Fatalf("peer got %v", peer)
	}
	web := p.Pick(nil, 2, 4)
	for _, b := range web {
		if b.Piece == peer[0].Piece {
			t.Fatalf("web seed given a block %v of a piece the peer started", b)
		}
	}
	if len(web) != 4 || len(piecesOf(web)) != 2 {
		t.Fatalf("web seed got %v, want two whole pieces", web)
	}
	for _, b := range p.Pick(nil, 1, 40) {
		if slices.Contains(piecesOf(web), b.Piece) {
			t.Fatalf("peer given block %v of the web seed's piece", b)
		}
	}
	p.check(t)
	// Even in a window, the web seed's pieces stay its own.
	p.SetWindows([]Window{{First: web[0].Piece, End: web[0].Piece + 1}})
	for _, b := range p.Pick(nil, 1, 40) {
		if b.Piece == web[0].Piece {
			t.Fatalf("window gave the peer block %v of the web seed's piece", b)
		}
	}
	p.check(t)
}

// A web seed's new pieces run on from the first one picked, so one
// ranged request covers them.
func TestWholePiecesContiguous(t *testing.T) {
	p := newTest(t, 0, 40*pieceSize)
	p.AddPeer(1)
	p.PeerHaveAll(1)
	p.SetWholePieces(1, true)
	got := piecesOf(p.Pick(nil, 1, 8))
	if len(got) != 4 {
		t.Fatalf("picked %v", got)
	}
	for k := 1; k < len(got); k++ {
		if got[k] != got[k-1]+1 && got[k-1] != 39 {
			t.Fatalf("picked %v: not a run", got)
		}
	}
	p.check(t)
}
