package evict

import (
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func TestUsefulPeersAreNeverEvicted(t *testing.T) {
	cands := []Candidate{
		{ID: 1, AmInterested: true, ConnectedAt: at(0), LastActive: at(0)},
		{ID: 2, PeerInterested: true, ConnectedAt: at(0), LastActive: at(0)},
	}
	if id, ok := Choose(cands, Config{Grace: 30 * time.Second}, at(3600)); ok {
		t.Fatalf("evicted useful peer %d", id)
	}
}

func TestIdleLongestGoesFirstAfterGrace(t *testing.T) {
	cands := []Candidate{
		{ID: 1, ConnectedAt: at(0), LastActive: at(50)},
		{ID: 2, ConnectedAt: at(10), LastActive: at(10)}, // idle longest
		{ID: 3, ConnectedAt: at(95), LastActive: at(95)}, // in its grace period
		{ID: 4, Snubbed: true, AmInterested: true, ConnectedAt: at(0), LastActive: at(0)},
	}
	id, ok := Choose(cands, Config{Grace: 30 * time.Second}, at(100))
	if !ok || id != 2 {
		t.Fatalf("chose %d %v, want 2", id, ok)
	}
	// With only the snubbed peer and a new one left, the snubbed goes.
	id, ok = Choose([]Candidate{cands[2], cands[3]}, Config{Grace: 30 * time.Second}, at(100))
	if !ok || id != 4 {
		t.Fatalf("chose %d %v, want the snubbed peer 4", id, ok)
	}
	// Nobody past grace: nobody goes.
	if _, ok := Choose([]Candidate{cands[2]}, Config{Grace: 30 * time.Second}, at(100)); ok {
		t.Fatal("evicted a peer in its grace period")
	}
}

func TestWithoutGraceTheNewestIdlePeerGoesLast(t *testing.T) {
	cands := []Candidate{
		{ID: 1, ConnectedAt: at(99), LastActive: at(99)},
		{ID: 2, ConnectedAt: at(98), LastActive: at(98)},
		{ID: 3, AmInterested: true, ConnectedAt: at(0), LastActive: at(0)},
	}
	if id, ok := Choose(cands, DefaultConfig(), at(100)); !ok || id != 2 {
		t.Fatalf("chose %d %v, want the older idle peer 2", id, ok)
	}
}
