package picker

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shoal-torrent/shoal/piece"
)

// newTest builds a picker over files of the given sizes with 2-block pieces.
func newTest(t testing.TB, randomFirst int, sizes ...int64) *Picker {
	t.Helper()
	var files []piece.File
	for i, s := range sizes {
		files = append(files, piece.File{Path: []string{fmt.Sprint(i)}, Length: s})
	}
	l, err := piece.NewLayout(2*piece.BlockSize, files)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(l, piece.NewBitfield(l.NumPieces), Config{RandomFirst: randomFirst, EndgameRequesters: 2, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const pieceSize = 2 * piece.BlockSize

func haves(p *Picker, id PeerID, pieces ...int) {
	p.AddPeer(id)
	for _, i := range pieces {
		p.PeerHave(id, i)
	}
}

func piecesOf(blocks []Block) []int {
	var out []int
	for _, b := range blocks {
		if len(out) == 0 || out[len(out)-1] != b.Piece {
			out = append(out, b.Piece)
		}
	}
	return out
}

// complete receives every block of the pieces and verifies them.
func complete(t *testing.T, p *Picker, id PeerID, blocks []Block) {
	t.Helper()
	for _, b := range blocks {
		if o := p.Received(id, b); o.PieceComplete {
			p.PieceVerified(b.Piece)
		}
	}
	p.check(t)
}

func TestRarestFirst(t *testing.T) {
	p := newTest(t, 0, 4*pieceSize)
	haves(p, 1, 0, 1, 2, 3)
	haves(p, 2, 0, 1, 2)
	haves(p, 3, 1, 2)
	// Availability: 3 -> 1, 0 -> 2, 1 and 2 -> 3.
	got := piecesOf(p.Pick(nil, 1, 4))
	if !slices.Equal(got, []int{3, 0}) {
		t.Fatalf("picked %v, want the rarest [3 0]", got)
	}
	p.check(t)
	// A peer leaving changes rarity: without 2, piece 0 is as rare as 3.
	p.RemovePeer(3)
	p.check(t)
	if p.Availability(1) != 2 || p.Availability(0) != 2 || p.Availability(3) != 1 {
		t.Fatalf("availability %d %d %d", p.Availability(0), p.Availability(1), p.Availability(3))
	}
}

func TestRandomFirstPieces(t *testing.T) {
	firsts := map[int]bool{}
	for seed := range uint64(20) {
		p := newTest(t, 4, 16*pieceSize)
		p.rng = rand.New(rand.NewPCG(seed, seed))
		haves(p, 1, seq(16)...)
		haves(p, 2, 0) // piece 0 is the most common; rarest first would never pick it
		blocks := p.Pick(nil, 1, 2)
		firsts[blocks[0].Piece] = true
	}
	if len(firsts) < 5 {
		t.Fatalf("first pieces were not random: %v", firsts)
	}
}

func TestRarestAfterRandomStart(t *testing.T) {
	p := newTest(t, 1, 4*pieceSize)
	haves(p, 1, 0, 1, 2, 3)
	haves(p, 2, 0, 1, 2)
	haves(p, 3, 0, 1)
	first := p.Pick(nil, 1, 2)
	complete(t, p, 1, first)
	// One piece verified: from now on strictly rarest among the rest.
	var wantOrder []int
	for _, i := range []int{3, 2, 0, 1} {
		if i != first[0].Piece {
			wantOrder = append(wantOrder, i)
		}
	}
	got := piecesOf(p.Pick(nil, 1, 6))
	if !slices.Equal(got, wantOrder) {
		t.Fatalf("picked %v after random start %d, want %v", got, first[0].Piece, wantOrder)
	}
}

func TestPartialPiecesFinishFirst(t *testing.T) {
	p := newTest(t, 0, 4*pieceSize)
	haves(p, 1, 0, 1, 2, 3)
	haves(p, 2, 0, 1, 2)
	haves(p, 3, 1, 2)
	haves(p, 4, 1)
	one := p.Pick(nil, 1, 1) // first block of rarest piece 3
	if one[0] != (Block{3, 0}) {
		t.Fatalf("picked %v", one)
	}
	// Peer 5 has everything: it must finish piece 3 before starting 0.
	haves(p, 5, 0, 1, 2, 3)
	got := p.Pick(nil, 5, 2)
	if got[0] != (Block{3, 1}) || got[1].Piece != 0 {
		t.Fatalf("picked %v, want piece 3's last block then piece 0", got)
	}
	p.check(t)
}

func TestStrictPriority(t *testing.T) {
	// File 0: pieces 0-1; file 1: pieces 2-3 (high); file 2: piece 4.
	p := newTest(t, 0, 2*pieceSize, 2*pieceSize, pieceSize)
	p.SetFilePriority(1, High)
	haves(p, 1, 0, 1, 2, 3, 4)
	haves(p, 2, 2, 3) // high pieces are the most common, still first
	got := piecesOf(p.Pick(nil, 1, 10))
	if !slices.Equal(got[:2], []int{2, 3}) && !slices.Equal(got[:2], []int{3, 2}) {
		t.Fatalf("picked %v, want high-priority pieces 2 and 3 first", got)
	}
	p.check(t)
}

func TestLowPriorityComesAfterNormal(t *testing.T) {
	// File 0: pieces 0-1 (low); file 1: pieces 2-3; file 2: piece 4.
	p := newTest(t, 0, 2*pieceSize, 2*pieceSize, pieceSize)
	p.SetFilePriority(0, Low)
	haves(p, 1, 0, 1, 2, 3, 4)
	haves(p, 2, 2, 3, 4) // normal pieces are the commonest, still before low
	got := piecesOf(p.Pick(nil, 1, 10))
	if slices.Sort(got[:3]); !slices.Equal(got[:3], []int{2, 3, 4}) || !slices.Contains(got[3:], 0) || !slices.Contains(got[3:], 1) {
		t.Fatalf("picked %v, want normal pieces 2-4, then low ones 0 and 1", got)
	}
	if p.Wanted() != 5 {
		t.Fatalf("low pieces not wanted: %d", p.Wanted())
	}
	p.check(t)
}

func TestSkippedFiles(t *testing.T) {
	// Piece 1 is shared by file 0 (skipped) and file 1 (normal), which
	// runs 100 bytes into piece 3.
	p := newTest(t, 0, pieceSize+100, 2*pieceSize)
	p.SetFilePriority(0, Skip)
	p.check(t)
	haves(p, 1, 0)
	if p.Interesting(1) {
		t.Fatal("a peer with only skipped pieces is interesting")
	}
	if got := p.Pick(nil, 1, 10); len(got) != 0 {
		t.Fatalf("picked skipped piece: %v", got)
	}
	haves(p, 2, 0, 1, 2, 3)
	got := piecesOf(p.Pick(nil, 2, 10))
	slices.Sort(got)
	if !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("picked %v, want the shared piece 1, then 2 and 3 only", got)
	}
	if p.Wanted() != 3 {
		t.Fatalf("wanted %d", p.Wanted())
	}
	// Un-skipping makes piece 0 wanted again.
	p.SetFilePriority(0, Normal)
	p.check(t)
	if !p.Interesting(1) || p.Wanted() != 4 {
		t.Fatal("un-skipped file not wanted")
	}
}

func TestSequential(t *testing.T) {
	p := newTest(t, 4, 8*pieceSize)
	p.SetSequential(true)
	haves(p, 1, seq(8)...)
	haves(p, 2, 7)
	got := piecesOf(p.Pick(nil, 1, 6))
	if !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("picked %v, want [0 1 2]", got)
	}
	complete(t, p, 1, p.Pick(nil, 1, 0))
}

func TestEndgame(t *testing.T) {
	p := newTest(t, 0, pieceSize+100) // piece 0: 2 blocks, piece 1: 1 block
	haves(p, 1, 0, 1)
	haves(p, 2, 0, 1)
	a := p.Pick(nil, 1, 10)
	if len(a) != 3 || !p.Endgame() {
		t.Fatalf("picked %v, endgame %v", a, p.Endgame())
	}
	b := p.Pick(nil, 2, 10)
	if len(b) != 3 {
		t.Fatalf("end-game gave peer 2 %v, want the same 3 blocks", b)
	}
	if more := p.Pick(nil, 2, 10); len(more) != 0 {
		t.Fatalf("same block requested twice from one peer: %v", more)
	}
	haves(p, 3, 0, 1)
	if more := p.Pick(nil, 3, 10); len(more) != 0 {
		t.Fatalf("more than EndgameRequesters peers: %v", more)
	}
	o := p.Received(2, Block{1, 0})
	if !o.Useful || !o.PieceComplete || !slices.Equal(o.Cancel, []PeerID{1}) {
		t.Fatalf("outcome %+v, want cancel to peer 1", o)
	}
	if o := p.Received(1, Block{1, 0}); o.Useful {
		t.Fatal("a duplicate block was useful")
	}
	p.check(t)
}

func TestRemovePeerReleasesBlocks(t *testing.T) {
	p := newTest(t, 0, 2*pieceSize)
	haves(p, 1, 0, 1)
	haves(p, 2, 0, 1)
	if got := p.Pick(nil, 1, 4); len(got) != 4 {
		t.Fatal(got)
	}
	if got := p.Pick(nil, 2, 4); len(got) != 4 {
		t.Fatalf("end-game duplicates: %v", got)
	}
	p.RemovePeer(1)
	p.RemovePeer(2)
	p.check(t)
	if p.Endgame() {
		t.Fatal("still in end-game with every request released")
	}
	haves(p, 3, 0, 1)
	if got := p.Pick(nil, 3, 10); len(got) != 4 {
		t.Fatalf("released blocks not picked again: %v", got)
	}
	p.check(t)
}

func TestPieceFailedIsPickedAgain(t *testing.T) {
	p := newTest(t, 0, pieceSize)
	haves(p, 1, 0)
	blocks := p.Pick(nil, 1, 2)
	var o Outcome
	for _, b := range blocks {
		o = p.Received(1, b)
	}
	if !o.PieceComplete {
		t.Fatal("piece not complete")
	}
	p.PieceFailed(0)
	p.check(t)
	if got := p.Pick(nil, 1, 2); len(got) != 2 {
		t.Fatalf("failed piece not picked again: %v", got)
	}
}

func TestParoleMakesPiecesExclusive(t *testing.T) {
	p := newTest(t, 0, 2*pieceSize)
	haves(p, 1, 0, 1)
	haves(p, 2, 0, 1)
	p.SetParole(1, true)
	a := p.Pick(nil, 1, 1) // one block of a piece, now peer 1's alone
	if owner, ok := p.Exclusive(a[0].Piece); !ok || owner != 1 {
		t.Fatal("a parole peer's piece is not exclusive")
	}
	for _, b := range p.Pick(nil, 2, 10) {
		if b.Piece == a[0].Piece {
			t.Fatalf("peer 2 got block %v of peer 1's exclusive piece", b)
		}
	}
	// The parole peer does not join peer 2's piece while peer 2 works on it.
	for _, b := range p.Pick(nil, 1, 10) {
		if b.Piece != a[0].Piece {
			t.Fatalf("parole peer got block %v of a shared piece", b)
		}
	}
	p.check(t)
	// An abandoned shared piece may be adopted by a parole peer, and is
	// then its own.
	other := 1 - a[0].Piece
	for b := range 2 {
		p.Release(2, Block{other, b})
	}
	if got := p.Pick(nil, 1, 10); len(got) != 2 || got[0].Piece != other {
		t.Fatalf("parole peer did not adopt the abandoned piece: %v", got)
	}
	if owner, ok := p.Exclusive(other); !ok || owner != 1 {
		t.Fatal("adopted piece is not exclusive")
	}
	for b := range 2 {
		p.Release(1, Block{other, b})
	}
	p.check(t)
	p.RemovePeer(1)
	if _, ok := p.Exclusive(a[0].Piece); ok {
		t.Fatal("exclusive piece outlived its owner")
	}
	if got := p.Pick(nil, 2, 10); !slices.Contains(piecesOf(got), a[0].Piece) {
		t.Fatalf("orphaned piece not picked: %v", got)
	}
	p.check(t)
}

func TestParolePeerNeverTakesOverAHalfReceivedPiece(t *testing.T) {
	p := newTest(t, 0, 2*pieceSize)
	haves(p, 1, 0, 1)
	haves(p, 2, 0, 1)
	a := p.Pick(nil, 2, 2) // peer 2 takes both blocks of one piece
	if len(a) != 2 || a[0].Piece != a[1].Piece {
		t.Fatalf("picked %v", a)
	}
	p.Received(2, a[0])
	p.Release(2, a[1]) // peer 2 leaves half of it behind
	p.SetParole(1, true)
	for _, b := range p.Pick(nil, 1, 10) {
		if b.Piece == a[0].Piece {
			t.Fatalf("parole peer got block %v of a piece another peer sent data for", b)
		}
	}
	p.check(t)
}

func TestAbandonedParolePieceIsOpenToOthers(t *testing.T) {
	p := newTest(t, 0, 2*pieceSize)
	haves(p, 1, 0, 1)
	haves(p, 2, 0, 1)
	p.SetParole(1, true)
	a := p.Pick(nil, 1, 3) // all of one piece and a block of the other
	p.Received(1, a[0])
	if got := p.Pick(nil, 2, 10); len(got) != 0 {
		t.Fatalf("peer 2 got %v of the parole peer's pieces", got)
	}
	// The parole peer chokes us or is snubbed but stays connected.
	for _, b := range a {
		p.Release(1, b)
	}
	reset := p.Abandon(nil, 1)
	// The piece it sent part of starts over (another sender would make
	// two); the one it sent nothing of is simply open.
	if len(reset) != 1 || reset[0] != a[0].Piece {
		t.Fatalf("pieces started over: %v, want [%d]", reset, a[0].Piece)
	}
	if _, ok := p.Exclusive(a[0].Piece); ok {
		t.Fatal("the piece is still reserved for a peer that abandoned it")
	}
	if got := p.Pick(nil, 2, 10); len(got) != 4 {
		t.Fatalf("peer 2 got %v, want all four blocks", got)
	}
	p.check(t)
}

func TestAbandonedPieceIsNoStallWhenEveryoneIsOnParole(t *testing.T) {
	p := newTest(t, 0, 1*pieceSize)
	haves(p, 1, 0)
	haves(p, 2, 0)
	p.SetParole(1, true)
	p.SetParole(2, true)
	a := p.Pick(nil, 1, 1)
	p.Received(1, a[0])
	p.Release(1, a[0])
	p.Abandon(nil, 1)
	if got := p.Pick(nil, 2, 10); len(got) != 2 {
		t.Fatalf("peer 2 got %v: nobody may finish the abandoned piece (end-game %v)", got, p.Endgame())
	}
	p.check(t)
}

func TestHaveAllAndBitfield(t *testing.T) {
	p := newTest(t, 0, 4*pieceSize)
	haves(p, 1, 2)
	p.PeerHaveAll(1) // a have before have_all must not count twice
	bf := piece.NewBitfield(4)
	bf.Set(0)
	p.PeerBitfield(2, bf)
	p.PeerBitfield(3, piece.FullBitfield(4))
	p.check(t)
	want := []int{3, 2, 2, 2}
	for i, w := range want {
		if p.Availability(i) != w {
			t.Fatalf("availability of %d is %d, want %d", i, p.Availability(i), w)
		}
	}
	p.RemovePeer(1)
	p.RemovePeer(3)
	p.check(t)
	if p.Availability(0) != 1 || p.Availability(1) != 0 {
		t.Fatal("seed removal wrong")
	}
}

// TestRandomOperationsKeepInvariants runs long random event sequences and
// checks the picker's internal bookkeeping after each.
func TestRandomOperationsKeepInvariants(t *testing.T) {
	verified, endgames, dups := 0, 0, 0
	defer func() {
		// The run must reach the states worth checking, or it proves
		// nothing.
		if verified < 50 || endgames < 10 || dups < 10 {
			t.Errorf("random runs too tame: %d verified, %d end-game steps, %d cancels", verified, endgames, dups)
		}
	}()
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 7))
		p := newTest(t, r.IntN(3), int64(r.IntN(20)+1)*pieceSize/3, int64(r.IntN(20)+1)*pieceSize/2, 1000)
		n := p.layout.NumPieces
		outstanding := map[PeerID][]Block{}
		for step := 0; step < 400; step++ {
			id := PeerID(r.IntN(5))
			switch r.IntN(11) {
			case 0:
				p.PeerHave(id, r.IntN(n))
			case 1:
				if r.IntN(4) == 0 {
					p.PeerHaveAll(id)
				}
			case 2:
				if r.IntN(3) == 0 {
					p.RemovePeer(id)
					delete(outstanding, id)
				}
			case 3, 4:
				outstanding[id] = p.Pick(outstanding[id], id, r.IntN(6))
			case 5, 6:
				if bs := outstanding[id]; len(bs) > 0 {
					k := r.IntN(len(bs))
					blk := bs[k]
					o := p.Received(id, blk)
					outstanding[id] = slices.Delete(bs, k, k+1)
					dups += len(o.Cancel)
					if o.PieceComplete {
						if r.IntN(5) == 0 {
							p.PieceFailed(blk.Piece)
						} else {
							p.PieceVerified(blk.Piece)
							verified++
						}
					}
				}
			case 7:
				if bs := outstanding[id]; len(bs) > 0 {
					p.Release(id, bs[0])
					if r.IntN(2) == 0 {
						p.Refuse(id, bs[0].Piece)
					}
					outstanding[id] = bs[1:]
				} else {
					p.Unrefuse(id, r.IntN(n))
				}
			case 8:
				p.SetFilePriority(r.IntN(3), Priority(r.IntN(4)))
			case 9:
				p.SetSequential(r.IntN(2) == 0)
			case 10:
				p.Interesting(id)
				p.SetParole(id, r.IntN(4) == 0)
			}
			if p.Endgame() {
				endgames++
			}
			p.check(t)
		}
	}
}

// check verifies the picker's internal invariants.
func (p *Picker) check(t testing.TB) {
	t.Helper()
	inLevel := 0
	for lv := range p.levels {
		o := &p.levels[lv]
		for k, i32 := range o.pieces {
			i := int(i32)
			inLevel++
			if p.pos[i] != int32(k) {
				t.Fatalf("level %d: piece %d at %d, pos says %d", lv, i, k, p.pos[i])
			}
			if levelOf(p.prio[i]) != lv || p.prio[i] == Skip || p.have.Has(i) || !p.wanted.Has(i) {
				t.Fatalf("piece %d in level %d with prio %d have %v", i, lv, p.prio[i], p.have.Has(i))
			}
			a := int(p.avail[i])
			if k < int(o.start[min(a, len(o.start)-1)]) || k >= int(o.bucketEnd(a)) {
				t.Fatalf("level %d: piece %d (avail %d) at %d outside its bucket %v", lv, i, a, k, o.start)
			}
		}
		if !slices.IsSorted(o.start) {
			t.Fatalf("bucket starts out of order: %v", o.start)
		}
	}
	if inLevel != p.wanted.Count() {
		t.Fatalf("%d pieces ordered, %d wanted", inLevel, p.wanted.Count())
	}
	avail := make([]int32, len(p.avail))
	seeds := 0
	for _, ps := range p.peers {
		if ps.seed {
			seeds++
			continue
		}
		for i := ps.has.NextSet(0); i >= 0; i = ps.has.NextSet(i + 1) {
			avail[i]++
		}
	}
	if !slices.Equal(avail, p.avail) || seeds != p.seeds {
		t.Fatalf("availability drifted: %v vs %v, seeds %d vs %d", avail, p.avail, seeds, p.seeds)
	}
	unreq := 0
	for i := p.wanted.NextSet(0); i >= 0; i = p.wanted.NextSet(i + 1) {
		unreq += p.freeBlocks(i)
	}
	for i, pp := range p.partial {
		free, rec := 0, 0
		for b, bs := range pp.blocks {
			if bs.received {
				rec++
			} else if bs.nreq == 0 {
				free++
			}
			if int(bs.nreq) != min(int(bs.nreq), 1)+len(p.dups[Block{i, b}]) {
				t.Fatalf("block %d/%d: nreq %d with %d duplicates", i, b, bs.nreq, len(p.dups[Block{i, b}]))
			}
		}
		if free != pp.free || rec != pp.received {
			t.Fatalf("piece %d: free %d/%d received %d/%d", i, free, pp.free, rec, pp.received)
		}
	}
	if unreq != p.unrequested {
		t.Fatalf("unrequested %d, counted %d", p.unrequested, unreq)
	}
	if len(p.partials) != len(p.partial) {
		t.Fatalf("%d partial pieces listed, %d held", len(p.partials), len(p.partial))
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestAHalfReceivedPieceIsNoStallWhenEveryoneIsOnParole(t *testing.T) {
	p := newTest(t, 0, 1*pieceSize)
	haves(p, 1, 0)
	haves(p, 2, 0)
	a := p.Pick(nil, 1, 2)
	p.Received(1, a[0])
	p.Release(1, a[1]) // rejected; then both go on parole
	p.SetParole(1, true)
	p.SetParole(2, true)
	got := p.Pick(nil, 2, 10)
	if len(got) != 2 {
		t.Fatalf("peer 2 got %v: nobody may finish the half-received piece", got)
	}
	if r := p.TakeRestarted(nil); len(r) != 1 || r[0] != 0 {
		t.Fatalf("restarted %v, want [0]", r)
	}
	if owner, ok := p.Exclusive(0); !ok || owner != 2 {
		t.Fatal("the restarted piece is not the parole peer's own")
	}
	p.check(t)
}

// A piece a peer refused is not asked of it again, started or not, until
// Unrefuse; another peer is still asked for it, and it still counts as
// the peer's.
func TestRefusedPieceIsNotAskedAgain(t *testing.T) {
	p := newTest(t, 0, 3*pieceSize)
	p.AddPeer(1)
	p.PeerHaveAll(1)
	haves(p, 2, 0, 1, 2)
	one := p.Pick(nil, 1, 1) // piece x's first block; then the seed refuses x
	x := one[0].Piece
	p.Release(1, one[0])
	p.Refuse(1, x)
	got := piecesOf(p.Pick(nil, 1, 2*pieceSize/piece.BlockSize))
	if slices.Contains(got, x) || len(got) != 2 {
		t.Fatalf("picked %v from the peer that refused %d; want the other two", got, x)
	}
	if got := piecesOf(p.Pick(nil, 2, 1)); !slices.Equal(got, []int{x}) {
		t.Fatalf("another peer was given %v, want the refused piece %d", got, x)
	}
	if p.Availability(x) != 2 || !p.Interesting(1) {
		t.Fatalf("refusal changed availability (%d) or interest", p.Availability(x))
	}
	p.check(t)
	p.RemovePeer(2) // its request of x is free again
	p.Unrefuse(1, x)
	if got := piecesOf(p.Pick(nil, 1, 1)); !slices.Equal(got, []int{x}) {
		t.Fatalf("after Unrefuse picked %v, want %d", got, x)
	}
	p.Refuse(9, x) // unknown peers and pieces are ignored
	p.Refuse(1, -1)
	p.Unrefuse(1, 99)
	p.check(t)
}
