package spread

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

func newSeeder(t *testing.T, n int) *Seeder {
	t.Helper()
	s, err := New(n, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Two peers asking for the same piece: the second is refused while the
// first is being sent it, every request of its batch, then served when
// it asks again after RetryAfter.
func TestASecondAskerIsRefusedThenServed(t *testing.T) {
	s := newSeeder(t, 4)
	if !s.Request(1, 0, 0, t0) || !s.Request(1, 0, 0, t0) {
		t.Fatal("the first asker was refused")
	}
	for range 3 {
		if s.Request(2, 0, 0, t0.Add(time.Second)) {
			t.Fatal("a piece being sent to peer 1 was served to peer 2")
		}
	}
	if !s.Request(2, 1, 0, t0.Add(time.Second)) {
		t.Fatal("peer 2 was refused a piece nobody has")
	}
	if !s.Request(2, 0, 0, t0.Add(time.Second+DefaultConfig().RetryAfter)) {
		t.Fatal("peer 2 asking again after RetryAfter was refused")
	}
}

// A piece a peer announced is refused to others while pieces nobody has
// are left; once every piece went out, it is served at once.
func TestHeldPiecesWaitUntilEveryPieceIsOut(t *testing.T) {
	s := newSeeder(t, 2)
	s.Request(1, 0, 0, t0)
	s.Have(1, 0)
	if s.Request(2, 0, 1, t0) {
		t.Fatal("a piece peer 1 holds was served while piece 1 was unsent")
	}
	s.Request(3, 1, 0, t0)
	if s.Unsent() != 1 {
		t.Fatalf("unsent %d: a piece asked for is not out until announced", s.Unsent())
	}
	s.Have(3, 1)
	if s.Unsent() != 0 {
		t.Fatalf("unsent %d", s.Unsent())
	}
	if !s.Request(4, 0, 1, t0) {
		t.Fatal("with every piece out, a held piece was refused")
	}
}

// A claim ends when its peer announces the piece, leaves, or after Hold.
func TestClaimsEnd(t *testing.T) {
	for name, end := range map[string]func(s *Seeder) time.Time{
		"have":  func(s *Seeder) time.Time { s.Have(1, 0); return t0 }, // held: 0 here, as if it left
		"leave": func(s *Seeder) time.Time { s.Leave(1, true); return t0 },
		"choke": func(s *Seeder) time.Time { s.Leave(1, false); return t0 },
		"hold":  func(s *Seeder) time.Time { return t0.Add(DefaultConfig().Hold) },
	} {
		s := newSeeder(t, 2)
		s.Request(1, 0, 0, t0) // piece 1 unsent: the policy is on
		at := end(s)
		if !s.Request(2, 0, 0, at) {
			t.Errorf("%s: the claim did not end", name)
		}
	}
}

// Refusals are bounded: per piece and peer (a client that asks again at
// once stops being refused), and in all (past the cap, serve).
func TestRefusalsAreBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PerPiece, cfg.MaxRefusals = 3, 2
	s, err := New(8, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Request(1, 0, 0, t0)
	s.Request(1, 1, 0, t0)
	s.Request(1, 2, 0, t0)
	refused := 0
	for range 10 {
		if !s.Request(2, 0, 0, t0) {
			refused++
		}
	}
	if refused != 3 {
		t.Fatalf("refused %d times, want PerPiece (3)", refused)
	}
	if s.Request(3, 1, 0, t0) {
		t.Fatal("second refusal was not made")
	}
	if !s.Request(3, 2, 0, t0) {
		t.Fatal("past MaxRefusals a request was refused")
	}
	s.Tick(t0.Add(10 * cfg.RetryAfter))
	if len(s.refused) != 0 {
		t.Fatalf("Tick kept %d old refusals", len(s.refused))
	}
}

func TestBadInput(t *testing.T) {
	if _, err := New(-1, DefaultConfig()); err == nil {
		t.Fatal("negative piece count accepted")
	}
	for _, c := range []Config{{}, {Hold: 1}, {Hold: 1, RetryAfter: 1}, {Hold: 1, RetryAfter: 1, PerPiece: 1, MaxRefusals: -1}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	s := newSeeder(t, 1)
	if !s.Request(1, 5, 0, t0) || !s.Request(1, -1, 0, t0) {
		t.Fatal("a piece out of range was refused")
	}
}

// A swarm that already holds every piece is served as by any seeder:
// bitfields announce the pieces, and nothing is refused.
func TestAMatureSwarmIsNeverRefused(t *testing.T) {
	s := newSeeder(t, 3)
	for p := range 3 {
		s.Have(7, p)
	}
	s.Request(1, 0, 1, t0)
	if !s.Request(2, 0, 1, t0) || !s.Request(3, 1, 2, t0) {
		t.Fatal("refused in a swarm that has every piece")
	}
	s.Have(7, -1) // out of range: ignored
}
