// Package choke decides which peers shoal uploads to: tit-for-tat while
// downloading (reward the peers that upload to us fastest), rotation while
// seeding (serve every interested peer in turn), and one optimistic slot
// that gives newcomers a chance. It is pure: peers come in through an
// interface and time through an argument, so tests drive it with fake peers
// and a fake clock.
package choke

import (
	"cmp"
	"errors"
	"math/rand/v2"
	"slices"
	"time"
)

// Peer is what the choker needs to know about a connection.
type Peer interface {
	// ID identifies the peer across calls.
	ID() uint64
	// Interested reports whether the peer wants to download from us.
	Interested() bool
	// DownloadRate is how fast the peer has been sending us data over a
	// rolling window of about 20 s, in bytes per second.
	DownloadRate() float64
	// UploadRate is how fast we have been sending it data, likewise.
	UploadRate() float64
	// Snubbed reports a peer that sent us nothing for a minute although we
	// asked; it loses its regular slot.
	Snubbed() bool
	// ConnectedAt is when the connection was made; new peers are more
	// likely to be picked for the optimistic slot.
	ConnectedAt() time.Time
}

// Config sets the choker's policy. The defaults are the BitTorrent
// reference values: 4 slots, one optimistic, rechoke every 10 s, rotate the
// optimistic slot every 30 s.
type Config struct {
	// Slots is the total number of unchoked peers, optimistic included.
	Slots              int
	RechokeInterval    time.Duration
	OptimisticInterval time.Duration
	// NewPeerAge is how long a peer counts as new: new peers are
	// NewPeerWeight times as likely to get the optimistic slot.
	NewPeerAge    time.Duration
	NewPeerWeight int
	// SeedTurn is how long a peer keeps a slot while we seed before it
	// yields to a peer that has waited.
	SeedTurn time.Duration
	Rand     *rand.Rand
}

// DefaultConfig returns the reference values.
func DefaultConfig() Config {
	return Config{
		Slots: 4, RechokeInterval: 10 * time.Second, OptimisticInterval: 30 * time.Second,
		NewPeerAge: 60 * time.Second, NewPeerWeight: 3, SeedTurn: 30 * time.Second,
	}
}

// Validate reports a config the choker cannot use.
func (c Config) Validate() error {
	switch {
	case c.Slots < 1:
		return errors.New("choke: at least one upload slot is needed")
	case c.RechokeInterval <= 0 || c.OptimisticInterval <= 0 || c.SeedTurn <= 0:
		return errors.New("choke: intervals must be positive")
	case c.NewPeerWeight < 1:
		return errors.New("choke: NewPeerWeight must be at least 1")
	}
	return nil
}

// Choker remembers who is unchoked and since when. Not safe for concurrent
// use: the torrent's owner goroutine drives it.
type Choker struct {
	cfg            Config
	rng            *rand.Rand
	unchoked       map[uint64]time.Time // regular slots, with unchoke time
	optimistic     uint64
	hasOptimistic  bool
	optimisticAt   time.Time
	lastRechoke    time.Time
	chokedSince    map[uint64]time.Time
	seedingLastRun bool
}

// New returns a choker; cfg must be valid.
func New(cfg Config) (*Choker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := cfg.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &Choker{cfg: cfg, rng: rng, unchoked: map[uint64]time.Time{}, chokedSince: map[uint64]time.Time{}}, nil
}

// Result is the set of peers to have unchoked after a call; everyone else
// is choked.
type Result struct {
	Unchoked   map[uint64]bool
	Optimistic uint64 // valid when HasOptimistic
	// HasOptimistic is false when no peer holds the optimistic slot.
	HasOptimistic bool
}

// SetSlots changes how many peers are unchoked at once (optimistic
// included) from the next call on: an initial seeder spreads its pieces
// over more peers than a downloader trades with. Below 1 it is ignored.
func (c *Choker) SetSlots(n int) {
	if n >= 1 {
		c.cfg.Slots = n
	}
}

// Due reports whether a full rechoke is due at now. Between rechokes the
// caller still calls Rechoke on events (a peer left, lost interest), which
// fills free slots at once without rotating anyone.
func (c *Choker) Due(now time.Time) bool {
	return c.lastRechoke.IsZero() || now.Sub(c.lastRechoke) >= c.cfg.RechokeInterval
}

// Rechoke decides who is unchoked. On a due tick (see Due) slots are
// re-ranked; otherwise peers keep their slots and only free ones are
// filled. seeding selects the seeding policy.
func (c *Choker) Rechoke(peers []Peer, seeding bool, now time.Time) Result {
	full := c.Due(now) || seeding != c.seedingLastRun
	c.seedingLastRun = seeding
	byID := make(map[uint64]Peer, len(peers))
	for _, p := range peers {
		byID[p.ID()] = p
		if _, ok := c.unchoked[p.ID()]; !ok && !(c.hasOptimistic && p.ID() == c.optimistic) {
			if _, ok := c.chokedSince[p.ID()]; !ok {
				c.chokedSince[p.ID()] = now
			}
		}
	}
	// Forget peers that are gone; drop slots of peers no longer eligible.
	for id := range c.chokedSince {
		if byID[id] == nil {
			delete(c.chokedSince, id)
		}
	}
	for id := range c.unchoked {
		if p := byID[id]; p == nil || !p.Interested() || (!seeding && p.Snubbed()) {
			c.choke(id, now)
		}
	}
	if c.hasOptimistic {
		if p := byID[c.optimistic]; p == nil || !p.Interested() {
			c.hasOptimistic = false
		}
	}

	regular := c.cfg.Slots - 1
	if full {
		c.lastRechoke = now
		ranked := c.rank(peers, seeding, now)
		keep := map[uint64]bool{}
		for _, p := range ranked[:min(regular, len(ranked))] {
			keep[p.ID()] = true
		}
		for id := range c.unchoked {
			if !keep[id] {
				c.choke(id, now)
			}
		}
		for id := range keep {
			c.unchoke(id, now)
		}
	} else if free := regular - len(c.unchoked); free > 0 {
		for _, p := range c.rank(peers, seeding, now) {
			if free == 0 {
				break
			}
			if _, ok := c.unchoked[p.ID()]; !ok {
				c.unchoke(p.ID(), now)
				free--
			}
		}
	}
	if c.hasOptimistic {
		if _, regularNow := c.unchoked[c.optimistic]; regularNow {
			c.hasOptimistic = false // promoted on merit; pick another
		}
	}
	if !c.hasOptimistic || now.Sub(c.optimisticAt) >= c.cfg.OptimisticInterval {
		c.pickOptimistic(peers, now)
	}

	res := Result{Unchoked: map[uint64]bool{}, Optimistic: c.optimistic, HasOptimistic: c.hasOptimistic}
	for id := range c.unchoked {
		res.Unchoked[id] = true
	}
	if c.hasOptimistic {
		res.Unchoked[c.optimistic] = true
	}
	return res
}

func (c *Choker) choke(id uint64, now time.Time) {
	delete(c.unchoked, id)
	c.chokedSince[id] = now
}

func (c *Choker) unchoke(id uint64, now time.Time) {
	if _, ok := c.unchoked[id]; !ok {
		c.unchoked[id] = now
		delete(c.chokedSince, id)
	}
}

// rank orders the peers eligible for a regular slot, best first.
func (c *Choker) rank(peers []Peer, seeding bool, now time.Time) []Peer {
	var cands []Peer
	for _, p := range peers {
		if p.Interested() && (seeding || !p.Snubbed()) {
			cands = append(cands, p)
		}
	}
	if !seeding {
		// Tit-for-tat: whoever gives us the most.
		slices.SortStableFunc(cands, func(a, b Peer) int { return cmp.Compare(b.DownloadRate(), a.DownloadRate()) })
		return cands
	}
	// Seeding: a peer within its turn keeps its slot (fastest first);
	// after its turn it goes behind every peer that has been waiting,
	// longest wait first, so every interested peer is served in turn.
	inTurn := func(p Peer) bool {
		at, ok := c.unchoked[p.ID()]
		return ok && now.Sub(at) < c.cfg.SeedTurn
	}
	waited := func(p Peer) time.Duration {
		if at, ok := c.chokedSince[p.ID()]; ok {
			return now.Sub(at)
		}
		return -1 // unchoked past its turn: last
	}
	slices.SortStableFunc(cands, func(a, b Peer) int {
		ta, tb := inTurn(a), inTurn(b)
		switch {
		case ta && tb:
			return cmp.Compare(b.UploadRate(), a.UploadRate())
		case ta != tb:
			if ta {
				return -1
			}
			return 1
		}
		return cmp.Compare(waited(b), waited(a))
	})
	return cands
}

// pickOptimistic gives the optimistic slot to a random interested peer
// without a regular slot, new peers weighted up.
func (c *Choker) pickOptimistic(peers []Peer, now time.Time) {
	total := 0
	var cands []Peer
	var weights []int
	for _, p := range peers {
		if _, regular := c.unchoked[p.ID()]; regular || !p.Interested() {
			continue
		}
		if c.hasOptimistic && p.ID() == c.optimistic {
			continue // rotate to someone else when there is anyone
		}
		w := 1
		if now.Sub(p.ConnectedAt()) < c.cfg.NewPeerAge {
			w = c.cfg.NewPeerWeight
		}
		cands = append(cands, p)
		weights = append(weights, w)
		total += w
	}
	if total == 0 {
		// Nobody else: the current optimistic peer (if still eligible)
		// keeps the slot.
		if c.hasOptimistic {
			c.optimisticAt = now
		}
		return
	}
	x := c.rng.IntN(total)
	for k, p := range cands {
		if x -= weights[k]; x < 0 {
			if c.hasOptimistic {
				c.chokedSince[c.optimistic] = now
			}
			c.optimistic, c.hasOptimistic, c.optimisticAt = p.ID(), true, now
			delete(c.chokedSince, p.ID())
			return
		}
	}
}
