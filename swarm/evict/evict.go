// Package evict chooses which connection to close when a torrent is full
// and a new peer knocks: a pure policy over plain facts about each peer,
// with the time passed in, so tests drive it with fake peers and a fake
// clock. Without it, connections that handshake and then only send
// keep-alives fill every slot and lock honest peers out for good.
package evict

import (
	"errors"
	"time"
)

// Candidate is what the policy reads of one connection.
type Candidate struct {
	ID uint64
	// AmInterested and PeerInterested: interest either way means the
	// connection is doing, or about to do, something useful.
	AmInterested, PeerInterested bool
	// Snubbed peers sat on our requests without sending a block.
	Snubbed bool
	// ConnectedAt is when the connection was adopted; LastActive when a
	// block last moved either way (ConnectedAt if never).
	ConnectedAt, LastActive time.Time
}

// Config tunes the policy.
type Config struct {
	// Grace protects new connections: a peer needs a few seconds after
	// the handshake to say it is interested.
	Grace time.Duration
}

// DefaultConfig gives no grace, as libtorrent: the newest idle peer is
// the last chosen anyway, so a newcomer is evicted only when every other
// peer is useful, and an honest peer arriving behind a flood of idle
// connections gets in at once instead of waiting out their grace.
func DefaultConfig() Config { return Config{} }

// Validate reports a config the policy cannot work with.
func (c Config) Validate() error {
	if c.Grace < 0 {
		return errors.New("evict: negative grace")
	}
	return nil
}

// Choose returns the least useful connection, if any may go: one past its
// grace period with no interest either way (or snubbed), preferring no
// interest over snubbed, then the one idle longest, then the oldest.
// Useful peers are never chosen, so an attacker cannot evict them by
// knocking.
func Choose(cands []Candidate, cfg Config, now time.Time) (uint64, bool) {
	best := -1
	for i := range cands {
		c := &cands[i]
		idle := !c.AmInterested && !c.PeerInterested
		if now.Sub(c.ConnectedAt) < cfg.Grace || !idle && !c.Snubbed {
			continue
		}
		if best < 0 || worse(c, &cands[best]) {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	return cands[best].ID, true
}

// worse reports whether a is a better eviction choice than b.
func worse(a, b *Candidate) bool {
	ai, bi := !a.AmInterested && !a.PeerInterested, !b.AmInterested && !b.PeerInterested
	if ai != bi {
		return ai
	}
	if !a.LastActive.Equal(b.LastActive) {
		return a.LastActive.Before(b.LastActive)
	}
	return a.ConnectedAt.Before(b.ConnectedAt)
}
