package superseed

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece"
)

var t0 = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

func newSeeder(t *testing.T, n int, cfg Config) *Seeder {
	t.Helper()
	s, err := New(n, cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func one(t *testing.T, rs []Reveal, peer uint64) int {
	t.Helper()
	if len(rs) != 1 || rs[0].Peer != peer {
		t.Fatalf("reveals %v, want one to peer %d", rs, peer)
	}
	return rs[0].Piece
}

func TestEachPeerIsShownADifferentPiece(t *testing.T) {
	s := newSeeder(t, 8, DefaultConfig())
	seen := map[int]bool{}
	for id := uint64(1); id <= 8; id++ {
		p := one(t, s.Join(id, nil, t0), id)
		if seen[p] {
			t.Fatalf("piece %d revealed twice while unrevealed pieces remain", p)
		}
		seen[p] = true
	}
	// Nine peers, eight pieces: the ninth is shown one of the pending
	// ones (all equally rare).
	if rs := s.Join(9, nil, t0); len(rs) != 1 {
		t.Fatalf("ninth peer: %v", rs)
	}
}

func TestNextPieceOnlyOnceSeenElsewhere(t *testing.T) {
	s := newSeeder(t, 16, DefaultConfig())
	a := one(t, s.Join(1, nil, t0), 1)
	b := one(t, s.Join(2, nil, t0), 2)
	if !s.Wants(1) {
		t.Fatal("peer 1 lacks the piece it was shown but Wants says no")
	}
	if rs := s.Have(1, a, t0); len(rs) != 0 {
		t.Fatalf("peer 1 was shown more before anyone else had its piece: %v", rs)
	}
	if s.Wants(1) {
		t.Fatal("peer 1 has everything it was shown but Wants says yes")
	}
	// Peer 2 got peer 1's piece from peer 1: peer 1 is shown a new one,
	// never revealed before.
	next := one(t, s.Have(2, a, t0.Add(time.Second)), 1)
	if next == a || next == b {
		t.Fatalf("peer 1 shown piece %d, already revealed", next)
	}
	if !s.Told(1, next) || s.Told(2, next) {
		t.Fatal("Told disagrees with the reveals")
	}
	// Peer 2 still holds its own open piece: nothing more for it.
	if rs := s.Have(2, a, t0.Add(time.Second)); len(rs) != 0 {
		t.Fatalf("a repeated have revealed %v", rs)
	}
}

func TestPatienceRevealsAfterAQuietSwarm(t *testing.T) {
	cfg := Config{PerPeer: 1, Patience: 5 * time.Second}
	s := newSeeder(t, 16, cfg)
	a := one(t, s.Join(1, nil, t0), 1)
	s.Join(2, nil, t0)
	if rs := s.Tick(t0.Add(time.Hour)); len(rs) != 0 {
		t.Fatalf("a peer still downloading its piece was shown more: %v", rs)
	}
	s.Have(1, a, t0.Add(time.Hour))
	if rs := s.Tick(t0.Add(time.Hour + 4*time.Second)); len(rs) != 0 {
		t.Fatalf("shown more before its patience ran out: %v", rs)
	}
	one(t, s.Tick(t0.Add(time.Hour+5*time.Second)), 1)
}

func TestAlonePeerIsNotKeptWaiting(t *testing.T) {
	s := newSeeder(t, 4, DefaultConfig())
	// One peer alone: each piece it finishes earns the next at once,
	// since nobody is there to pass it on to.
	p := one(t, s.Join(1, nil, t0), 1)
	for range 3 {
		p = one(t, s.Have(1, p, t0), 1)
	}
	if rs := s.Have(1, p, t0); len(rs) != 0 {
		t.Fatalf("reveals %v after every piece was shown", rs)
	}
	for i := range 4 {
		if !s.Told(1, i) {
			t.Fatalf("piece %d never shown to the lone peer", i)
		}
	}
}

func TestAllRevealedThenRarestFirst(t *testing.T) {
	s := newSeeder(t, 2, DefaultConfig())
	a := one(t, s.Join(1, nil, t0), 1)
	b := one(t, s.Join(2, nil, t0), 2)
	if rs := s.Have(2, b, t0); len(rs) != 0 {
		t.Fatalf("reveals %v while peer 1 still lacks piece %d", rs, b)
	}
	// Both pieces were revealed; b is at peer 2 and pending there, a
	// only pending at peer 1: a is the rarer.
	if p := one(t, s.Join(5, nil, t0), 5); p != a {
		t.Fatalf("peer 5 shown %d, want the rarer piece %d", p, a)
	}
	// A peer that has a is shown b, the one it lacks.
	has := piece.NewBitfield(2)
	has.Set(a)
	if p := one(t, s.Join(6, has, t0), 6); p != b {
		t.Fatalf("peer 6 shown %d, want %d", p, b)
	}
}

func TestLeaveForgetsAvailability(t *testing.T) {
	s := newSeeder(t, 2, DefaultConfig())
	has := piece.FullBitfield(2)
	s.Join(1, has, t0)
	if s.avail[0] != 1 || s.avail[1] != 1 {
		t.Fatalf("avail %v after a full peer joined", s.avail)
	}
	s.Leave(1)
	s.Leave(1)
	if s.avail[0] != 0 || s.avail[1] != 0 {
		t.Fatalf("avail %v after it left", s.avail)
	}
	if rs := s.Have(1, 0, t0); rs != nil {
		t.Fatalf("a have from a peer that left revealed %v", rs)
	}
}

func TestBitfieldAfterJoinReplacesAHeldReveal(t *testing.T) {
	s := newSeeder(t, 4, DefaultConfig())
	other := one(t, s.Join(1, nil, t0), 1)
	a := one(t, s.Join(2, nil, t0), 2)
	has := piece.NewBitfield(4)
	has.Set(a)
	has.Set(other) // seen elsewhere: peer 1 gets its next piece too
	rs := s.Bitfield(2, has, t0)
	var to1, to2 []int
	for _, r := range rs {
		switch r.Peer {
		case 1:
			to1 = append(to1, r.Piece)
		case 2:
			to2 = append(to2, r.Piece)
		}
	}
	if len(to1) != 1 || len(to2) != 1 || has.Has(to2[0]) || to1[0] == other {
		t.Fatalf("reveals %v after peer 2's bitfield %v (peer 1 had %d, peer 2 %d)", rs, has, other, a)
	}
}

func TestPerPeerTwo(t *testing.T) {
	s := newSeeder(t, 8, Config{PerPeer: 2, Patience: time.Second})
	if rs := s.Join(1, nil, t0); len(rs) != 2 || rs[0].Piece == rs[1].Piece {
		t.Fatalf("PerPeer 2 revealed %v", rs)
	}
}

func TestHostileIndexes(t *testing.T) {
	s := newSeeder(t, 4, DefaultConfig())
	s.Join(1, nil, t0)
	for _, i := range []int{-1, 4, 1 << 30} {
		if rs := s.Have(1, i, t0); rs != nil {
			t.Fatalf("have %d revealed %v", i, rs)
		}
		if s.Told(1, i) {
			t.Fatalf("Told(%d) true", i)
		}
	}
	if rs := s.Join(2, piece.NewBitfield(3), t0); len(rs) != 1 {
		t.Fatalf("a bitfield of the wrong size: %v", rs)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{{PerPeer: 0, Patience: time.Second}, {PerPeer: 1}} {
		if _, err := New(4, c, nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := New(0, DefaultConfig(), nil); err == nil {
		t.Error("zero pieces accepted")
	}
}
