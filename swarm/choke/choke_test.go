package choke

import (
	"math/rand/v2"
	"testing"
	"time"
)

type fakePeer struct {
	id         uint64
	interested bool
	down, up   float64
	snubbed    bool
	connected  time.Time
}

func (p *fakePeer) ID() uint64             { return p.id }
func (p *fakePeer) Interested() bool       { return p.interested }
func (p *fakePeer) DownloadRate() float64  { return p.down }
func (p *fakePeer) UploadRate() float64    { return p.up }
func (p *fakePeer) Snubbed() bool          { return p.snubbed }
func (p *fakePeer) ConnectedAt() time.Time { return p.connected }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newChoker(t *testing.T, seed uint64) *Choker {
	cfg := DefaultConfig()
	cfg.Rand = rand.New(rand.NewPCG(seed, seed))
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// swarm makes n interested peers, peer i sending us (i+1) KB/s, all
// connected long ago.
func swarm(n int) ([]*fakePeer, []Peer) {
	var fs []*fakePeer
	var ps []Peer
	for i := range n {
		f := &fakePeer{id: uint64(i), interested: true, down: float64(i+1) * 1000, up: float64(i+1) * 100, connected: t0.Add(-time.Hour)}
		fs = append(fs, f)
		ps = append(ps, f)
	}
	return fs, ps
}

func regular(r Result) map[uint64]bool {
	out := map[uint64]bool{}
	for id := range r.Unchoked {
		if !r.HasOptimistic || id != r.Optimistic {
			out[id] = true
		}
	}
	return out
}

func sameSet(got map[uint64]bool, want ...uint64) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !got[w] {
			return false
		}
	}
	return true
}

func TestLeechingUnchokesFastestUploaders(t *testing.T) {
	c := newChoker(t, 1)
	_, ps := swarm(6)
	r := c.Rechoke(ps, false, t0)
	if !sameSet(regular(r), 5, 4, 3) {
		t.Fatalf("regular slots %v, want the three fastest 3,4,5", regular(r))
	}
	if !r.HasOptimistic || r.Optimistic > 2 || len(r.Unchoked) != 4 {
		t.Fatalf("optimistic %v %d, unchoked %v", r.HasOptimistic, r.Optimistic, r.Unchoked)
	}
}

func TestRechokeOnlyEveryTenSeconds(t *testing.T) {
	c := newChoker(t, 1)
	fs, ps := swarm(6)
	c.Rechoke(ps, false, t0)
	fs[0].down = 1e9 // peer 0 suddenly the fastest
	if r := c.Rechoke(ps, false, t0.Add(5*time.Second)); regular(r)[0] {
		t.Fatal("re-ranked before the rechoke interval")
	}
	if r := c.Rechoke(ps, false, t0.Add(10*time.Second)); !regular(r)[0] || regular(r)[3] {
		t.Fatalf("not re-ranked on the tick: %v", regular(r))
	}
}

func TestOptimisticRotatesEveryThirtySeconds(t *testing.T) {
	c := newChoker(t, 3)
	_, ps := swarm(8)
	first := c.Rechoke(ps, false, t0).Optimistic
	for s := 10; s < 30; s += 10 {
		if r := c.Rechoke(ps, false, t0.Add(time.Duration(s)*time.Second)); r.Optimistic != first {
			t.Fatalf("optimistic changed at %ds", s)
		}
	}
	if r := c.Rechoke(ps, false, t0.Add(30*time.Second)); r.Optimistic == first || !r.HasOptimistic {
		t.Fatal("optimistic slot not rotated after 30 s")
	}
}

func TestNewPeersThreeTimesAsLikelyOptimistic(t *testing.T) {
	// Regular slots go to 3 fast peers; the optimistic candidates are
	// three old peers and one new: the new one should win 3/6 of draws.
	newWins, draws := 0, 3000
	for seed := range uint64(draws) {
		c := newChoker(t, seed)
		fs, ps := swarm(7)
		fs[0].connected = t0.Add(-10 * time.Second) // new, slowest
		if c.Rechoke(ps, false, t0).Optimistic == 0 {
			newWins++
		}
	}
	if frac := float64(newWins) / float64(draws); frac < 0.45 || frac > 0.55 {
		t.Fatalf("new peer won %.2f of optimistic draws, want ~0.5", frac)
	}
}

func TestSnubbedPeerLosesSlotAtOnce(t *testing.T) {
	c := newChoker(t, 1)
	fs, ps := swarm(6)
	c.Rechoke(ps, false, t0)
	fs[5].snubbed = true
	r := c.Rechoke(ps, false, t0.Add(time.Second))
	if regular(r)[5] || len(regular(r)) != 3 {
		t.Fatalf("snubbed peer kept its slot or slot not refilled: %v", regular(r))
	}
}

func TestFreedSlotFilledAtOnce(t *testing.T) {
	c := newChoker(t, 1)
	fs, ps := swarm(6)
	r := c.Rechoke(ps, false, t0)
	opt := r.Optimistic
	// Peer 5 disconnects and peer 4 loses interest one second later.
	fs[4].interested = false
	r = c.Rechoke(ps[:5], false, t0.Add(time.Second))
	reg := regular(r)
	if reg[5] || reg[4] || len(reg) != 3 || r.Unchoked[4] {
		t.Fatalf("slots not refilled at once: %v", reg)
	}
	// The optimistic peer either keeps its slot or was promoted to a
	// freed regular one on merit; it is never rotated out between ticks.
	if r.Optimistic != opt && !reg[opt] {
		t.Fatal("filling a slot rotated the optimistic peer out")
	}
}

func TestUninterestedNeverUnchoked(t *testing.T) {
	c := newChoker(t, 1)
	fs, ps := swarm(3)
	for _, f := range fs {
		f.interested = false
	}
	if r := c.Rechoke(ps, false, t0); len(r.Unchoked) != 0 {
		t.Fatalf("unchoked %v", r.Unchoked)
	}
}

func TestSeedingServesEveryPeerInTurn(t *testing.T) {
	c := newChoker(t, 1)
	_, ps := swarm(10)
	served := map[uint64]bool{}
	longest := map[uint64]time.Duration{}
	since := map[uint64]time.Time{}
	for s := 0; s <= 300; s += 10 {
		now := t0.Add(time.Duration(s) * time.Second)
		r := c.Rechoke(ps, true, now)
		if len(r.Unchoked) != 4 {
			t.Fatalf("at %ds %d unchoked", s, len(r.Unchoked))
		}
		for id := range regular(r) {
			served[id] = true
			if _, ok := since[id]; !ok {
				since[id] = now
			}
			longest[id] = max(longest[id], now.Sub(since[id]))
		}
		for id := range since {
			if !regular(r)[id] {
				delete(since, id)
			}
		}
	}
	if len(served) != 10 {
		t.Fatalf("only %d of 10 peers got a regular slot while seeding", len(served))
	}
	for id, d := range longest {
		if d > 30*time.Second {
			t.Fatalf("peer %d held a seeding slot for %v while others waited", id, d)
		}
	}
}

// SetSlots takes effect at the next rechoke; below 1 it is ignored.
func TestSetSlots(t *testing.T) {
	c, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var peers []Peer
	for i := range 10 {
		peers = append(peers, &fakePeer{id: uint64(i + 1), interested: true, connected: t0})
	}
	c.SetSlots(8)
	c.SetSlots(0)
	if got := len(c.Rechoke(peers, true, t0).Unchoked); got != 8 {
		t.Fatalf("%d unchoked with 8 slots", got)
	}
}
