package swarm

import (
	"net"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// until polls cond on the loop goroutine until it holds or the deadline
// passes.
func until(t *testing.T, tor *Torrent, what string, cond func(l *loop) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		if !tor.do(func() { ok = cond(tor.loopState()) }) {
			t.Fatalf("loop gone waiting for %s: %v", what, tor.Err())
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 10 s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}

// TestIdleSeedRunsNoTimers is one of 10,000 seeds with no peers: its loop
// must not wake on timers of its own, must not carry the hash workers
// and queues only a download needs, and must still show a peer that
// comes and goes, with no publish timer to do it.
func TestIdleSeedRunsNoTimers(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "idle.bin", Size: 100 << 10})
	s, tor := startSeeder(t, f, withoutUTP)
	until(t, tor, "idle loop", func(l *loop) bool { return !l.timers.running() })
	tor.do(func() {
		l := tor.loopState()
		if l.hasher.jobs != nil || tor.events != nil || l.webEvents != nil {
			t.Errorf("idle seed holds queues: hash jobs %v, events %v, web events %v",
				l.hasher.jobs != nil, tor.events != nil, l.webEvents != nil)
		}
	})

	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hs := wire.Handshake{Reserved: wire.OurReserved(), InfoHash: f.m.InfoHash}
	copy(hs.PeerID[:], "-XX0000-idle-test-00")
	if _, err := c.Write(hs.Append(nil)); err != nil {
		t.Fatal(err)
	}
	var theirs wire.Handshake
	if err := wire.ReadHandshakeStart(c, &theirs); err != nil {
		t.Fatal(err)
	}
	until(t, tor, "peer in a ticking loop", func(l *loop) bool {
		return l.timers.running() && len(tor.Snapshot().Peers) == 1
	})
	c.Close()
	until(t, tor, "idle again with the peer gone from the snapshot", func(l *loop) bool {
		return !l.timers.running() && len(tor.Snapshot().Peers) == 0
	})
}

// TestSnapshotSharesUnchangedPieces: publishing a quiet torrent four
// times a second allocated 3 bytes per piece each time. Unchanged piece
// states are shared with the last snapshot; a change makes new slices
// and leaves the published ones as they were.
func TestSnapshotSharesUnchangedPieces(t *testing.T) {
	h := newHarness(t, harnessOpts{seed: true})
	s1 := h.snapshot()
	s2 := h.snapshot()
	if &s1.Pieces[0] != &s2.Pieces[0] || &s1.Availability[0] != &s2.Availability[0] {
		t.Fatal("an unchanged snapshot copied its piece slices")
	}
	p := h.connect(peerOpts{})
	p.send(wire.AppendIndex(nil, wire.Have, 0)) // not a seed: two seeds hang up
	deadline := time.Now().Add(5 * time.Second)
	var s3 *Snapshot
	for s3 = h.snapshot(); s3.Availability[0] == 0; s3 = h.snapshot() {
		if time.Now().After(deadline) {
			t.Fatal("the peer's have never showed in availability")
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
	if s1.Availability[0] != 0 || &s1.Availability[0] == &s3.Availability[0] {
		t.Fatal("a published snapshot changed under its readers")
	}
	if s3.Availability[1] != 0 {
		t.Fatalf("piece 1 availability %d, want 0", s3.Availability[1])
	}
	for i, b := range s3.Pieces {
		if b != PieceHave {
			t.Fatalf("piece %d state %d after sharing", i, b)
		}
	}
}
