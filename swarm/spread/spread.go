// Package spread is an initial seeder's policy for sending each piece
// about once while leechers trade the rest among themselves.
//
// Leechers each pick the rarest pieces, and to every one of them the
// pieces only the seeder has look equally rare: with deep request
// pipelines two leechers often ask the seeder for the same piece at once,
// or for one another leecher already holds, and a seeder whose upload is
// the swarm's bottleneck then sends 1.4-1.5 copies of the content
// (measured with distbench). BEP 16 super-seeding
// prevents that by hiding pieces, which slows a lone leecher down; this
// policy hides nothing. It turns a request down, once, with the fast
// extension's reject while another peer is being sent that piece, or
// while some peer already has it and pieces nobody has are left to send.
// The peer asks for another piece (shoal stops asking the seeder for a
// refused one for a while), and a peer that asks again RetryAfter later
// is served: a refusal delays a piece, it never locks a peer out of it.
//
// It acts only while some piece has not been announced by any peer yet,
// that is while this seeder is the one source of something: a swarm
// that holds every piece already is served as any seeder would. (Sent
// is not enough: the last pieces are asked for seconds before they
// arrive, and serving duplicates meanwhile cost 0.1-0.2 copies.)
//
// The policy is pure: the loop passes in what it sees and the time.
package spread

import (
	"errors"
	"time"
)

// Config tunes the policy.
type Config struct {
	// Hold is how long a peer's claim on a piece (it was served part of
	// it) keeps others from being served it, unless it announces the
	// piece or leaves first.
	Hold time.Duration
	// RetryAfter is how long after its first refusal of a piece a peer
	// asking for it again is served; until then every request for it is
	// refused, so the blocks of one batch are turned down together.
	RetryAfter time.Duration
	// PerPiece bounds the requests refused for one piece of one peer, so
	// a client that asks again at once after a reject costs a batch of
	// messages, not a stream of them for RetryAfter.
	PerPiece int
	// MaxRefusals bounds the refusals kept at once, against a peer that
	// asks for every piece: past it requests are served (failing open).
	MaxRefusals int
}

// DefaultConfig holds a claim for 10 s, about as long as a slow peer's
// pipeline holds a piece, and serves a repeated request after 3 s.
func DefaultConfig() Config {
	return Config{Hold: 10 * time.Second, RetryAfter: 3 * time.Second, PerPiece: 64, MaxRefusals: 1 << 16}
}

// Validate checks the config without changing it.
func (c Config) Validate() error {
	switch {
	case c.Hold <= 0:
		return errors.New("spread: Hold must be positive")
	case c.RetryAfter <= 0:
		return errors.New("spread: RetryAfter must be positive")
	case c.PerPiece <= 0:
		return errors.New("spread: PerPiece must be positive")
	case c.MaxRefusals < 0:
		return errors.New("spread: MaxRefusals is negative")
	}
	return nil
}

type claim struct {
	peer uint64
	at   time.Time
}

type peerPiece struct {
	peer  uint64
	piece int
}

// Seeder is the policy's state for one complete torrent. It is not safe
// for concurrent use: the torrent's loop drives it.
type Seeder struct {
	cfg    Config
	out    []bool // a peer announced the piece
	unsent int    // pieces not out
	claims map[int]claim
	// refused remembers when each peer was first refused a piece, and
	// how often since.
	refused map[peerPiece]refusal
}

type refusal struct {
	at time.Time
	n  int
}

// New starts the policy for a torrent of n pieces, none out yet.
func New(n int, cfg Config) (*Seeder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, errors.New("spread: negative piece count")
	}
	return &Seeder{cfg: cfg, out: make([]bool, n), unsent: n, claims: map[int]claim{}, refused: map[peerPiece]refusal{}}, nil
}

// Request says whether to serve peer's request for piece now (true) or
// refuse it. held is how many other connected peers have the piece.
func (s *Seeder) Request(peer uint64, piece, held int, now time.Time) bool {
	if piece < 0 || piece >= len(s.out) {
		return true
	}
	c, claimed := s.claims[piece]
	if claimed && now.Sub(c.at) >= s.cfg.Hold {
		delete(s.claims, piece)
		claimed = false
	}
	// Only while we are the one source of some piece: in a swarm that
	// has every piece already, a refusal would only delay people.
	if s.unsent > 0 && (claimed && c.peer != peer || held > 0) && s.refuse(peer, piece, now) {
		return false
	}
	if !claimed || c.peer == peer {
		s.claims[piece] = claim{peer: peer, at: now}
	}
	return true
}

// refuse reports whether this request is one to refuse: the first of the
// peer's for the piece, or another within RetryAfter of it (up to
// PerPiece). Later ones are served until Tick forgets the refusal.
func (s *Seeder) refuse(peer uint64, piece int, now time.Time) bool {
	k := peerPiece{peer, piece}
	r, ok := s.refused[k]
	if !ok {
		if len(s.refused) >= s.cfg.MaxRefusals {
			return false
		}
		s.refused[k] = refusal{at: now, n: 1}
		return true
	}
	if now.Sub(r.at) >= s.cfg.RetryAfter || r.n >= s.cfg.PerPiece {
		return false
	}
	r.n++
	s.refused[k] = r
	return true
}

// Have records that peer announced piece (a have, or a bit of its
// bitfield): the piece is out in the swarm, the peer's claim on it is
// over (others can fetch it from that peer now) and it will not ask for
// it again.
func (s *Seeder) Have(peer uint64, piece int) {
	if piece < 0 || piece >= len(s.out) {
		return
	}
	if !s.out[piece] {
		s.out[piece] = true
		s.unsent--
	}
	if c, ok := s.claims[piece]; ok && c.peer == peer {
		delete(s.claims, piece)
	}
	delete(s.refused, peerPiece{peer, piece})
}

// Leave forgets a peer that disconnected, or whose requests we dropped
// by choking it: its claims end.
func (s *Seeder) Leave(peer uint64, gone bool) {
	for p, c := range s.claims {
		if c.peer == peer {
			delete(s.claims, p)
		}
	}
	if gone {
		for k := range s.refused {
			if k.peer == peer {
				delete(s.refused, k)
			}
		}
	}
}

// Tick forgets refusals long past (ten times RetryAfter), so the map
// holds only recent ones; a peer whose refusal was forgotten may be
// refused that piece once more.
func (s *Seeder) Tick(now time.Time) {
	for k, r := range s.refused {
		if now.Sub(r.at) >= 10*s.cfg.RetryAfter {
			delete(s.refused, k)
		}
	}
}

// Unsent is how many pieces no peer has announced: while there are
// some, the policy refuses.
func (s *Seeder) Unsent() int { return s.unsent }
