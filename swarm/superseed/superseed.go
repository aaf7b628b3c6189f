// Package superseed decides what a super-seeding seeder (BEP 16) tells
// each peer it has. The seeder poses as a peer with nothing and reveals
// pieces one at a time, each a piece it never revealed before (or, once
// all were, a rare one); a peer is shown its next piece only when the one
// it was shown has turned up at another peer. A peer can then take from
// the seeder only what nobody else has, and must pass it on before it gets
// more, so the seeder sends each piece about once and the leechers trade
// the rest.
//
// It is pure: the torrent's loop feeds it what peers announce and the time
// as an argument, and sends the HAVE messages it returns.
package superseed

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/shoal-torrent/shoal/piece"
)

// Config tunes the policy.
type Config struct {
	// PerPeer is how many revealed pieces a peer may hold that have not
	// yet been seen elsewhere. BEP 16 says one; more keeps a fast peer
	// busy while the swarm catches up, at the cost of some pieces sent
	// twice.
	PerPeer int
	// Patience is how long a peer may hold all its revealed pieces,
	// unseen elsewhere, before it is shown another anyway: a peer whose
	// neighbours never announce to the seeder (or that has none) would
	// otherwise get nothing more.
	Patience time.Duration
}

// DefaultConfig is BEP 16's one piece at a time, with a patience a few
// times what a piece takes to pass on at a modest rate.
func DefaultConfig() Config { return Config{PerPeer: 1, Patience: 10 * time.Second} }

// Validate reports a config the policy cannot use.
func (c Config) Validate() error {
	switch {
	case c.PerPeer < 1:
		return errors.New("superseed: PerPeer must be at least 1")
	case c.Patience <= 0:
		return errors.New("superseed: Patience must be positive")
	}
	return nil
}

// Reveal is one HAVE to send: tell Peer we have Piece.
type Reveal struct {
	Peer  uint64
	Piece int
}

// Seeder holds what the policy knows of the swarm. Not safe for
// concurrent use: the torrent's loop drives it.
type Seeder struct {
	cfg   Config
	n     int
	rng   *rand.Rand
	peers map[uint64]*peerState
	// avail counts the connected peers known to have each piece;
	// pending, the peers it is revealed to and not yet seen elsewhere;
	// revealed, how often it was ever revealed.
	avail, pending, revealed []int
}

type peerState struct {
	has  *piece.Bitfield // what the peer announced
	told *piece.Bitfield // what we announced to it; never retracted
	// open are its revealed pieces not yet seen at another peer, with
	// when the peer announced having it (zero: not yet).
	open map[int]time.Time
}

// New returns a policy for a torrent of numPieces; cfg must be valid.
// rng breaks ties between equally rare pieces (nil: a random seed).
func New(numPieces int, cfg Config, rng *rand.Rand) (*Seeder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if numPieces < 1 {
		return nil, errors.New("superseed: a torrent has at least one piece")
	}
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &Seeder{cfg: cfg, n: numPieces, rng: rng, peers: map[uint64]*peerState{},
		avail: make([]int, numPieces), pending: make([]int, numPieces), revealed: make([]int, numPieces)}, nil
}

// Join adds a peer that has has (nil: nothing) and returns its first
// reveals. A peer already known is left as it is.
func (s *Seeder) Join(peer uint64, has *piece.Bitfield, now time.Time) []Reveal {
	if s.peers[peer] != nil {
		return nil
	}
	p := &peerState{has: piece.NewBitfield(s.n), told: piece.NewBitfield(s.n), open: map[int]time.Time{}}
	s.peers[peer] = p
	if has != nil && has.Len() == s.n {
		for i := has.NextSet(0); i >= 0; i = has.NextSet(i + 1) {
			p.has.Set(i)
			s.avail[i]++
		}
	}
	return s.topUp(peer, p, nil)
}

// Leave forgets a peer. Its open reveals are given up: whoever has those
// pieces now was shown them by nobody else.
func (s *Seeder) Leave(peer uint64) {
	p := s.peers[peer]
	if p == nil {
		return
	}
	for i := p.has.NextSet(0); i >= 0; i = p.has.NextSet(i + 1) {
		s.avail[i]--
	}
	for i := range p.open {
		s.pending[i]--
	}
	delete(s.peers, peer)
}

// Have records that peer announced piece i and returns the reveals that
// follows: every other peer that was shown i and has not yet been seen to
// pass it on is now free to be shown another piece.
func (s *Seeder) Have(peer uint64, i int, now time.Time) []Reveal {
	p := s.peers[peer]
	if p == nil || i < 0 || i >= s.n || !p.has.Set(i) {
		return nil
	}
	s.avail[i]++
	var out []Reveal
	if _, ok := p.open[i]; ok {
		p.open[i] = now
		if !s.anyoneLacks(i) {
			// Nobody left to pass it on to: waiting would only idle.
			s.close(p, i)
			out = s.topUp(peer, p, out)
		}
	}
	if s.pending[i] > 0 {
		for id, o := range s.peers {
			if id == peer {
				continue
			}
			if _, ok := o.open[i]; ok {
				s.close(o, i)
				out = s.topUp(id, o, out)
			}
		}
	}
	return out
}

// Bitfield records a peer's whole announcement (a bitfield or have-all,
// which may come after Join revealed a piece) and returns the reveals
// that follow: as Have for each piece, and a revealed piece the peer
// turns out to hold already is replaced at once, since it did not come
// from us.
func (s *Seeder) Bitfield(peer uint64, has *piece.Bitfield, now time.Time) []Reveal {
	p := s.peers[peer]
	if p == nil || has == nil || has.Len() != s.n {
		return nil
	}
	var out []Reveal
	for i := has.NextSet(0); i >= 0; i = has.NextSet(i + 1) {
		out = append(out, s.Have(peer, i, now)...)
	}
	stale := false
	for i := range p.open {
		if has.Has(i) {
			s.close(p, i)
			stale = true
		}
	}
	if stale {
		out = s.topUp(peer, p, out)
	}
	return out
}

// Tick shows another piece to every peer that has held all of its
// revealed pieces for Patience without anyone else announcing one of
// them.
func (s *Seeder) Tick(now time.Time) []Reveal {
	var out []Reveal
	for id, p := range s.peers {
		stale := false
		for i, at := range p.open {
			if !at.IsZero() && now.Sub(at) >= s.cfg.Patience {
				s.close(p, i)
				stale = true
			}
		}
		if stale {
			out = s.topUp(id, p, out)
		}
	}
	return out
}

// Wants reports whether peer lacks a piece it was told of: whether it
// has anything to ask of us. A peer that does not is not worth an upload
// slot, whatever its interested flag still says.
func (s *Seeder) Wants(peer uint64) bool {
	p := s.peers[peer]
	if p == nil {
		return false
	}
	return p.told.Count() > p.told.CountAnd(p.has)
}

// Told reports whether peer was told of piece i.
func (s *Seeder) Told(peer uint64, i int) bool {
	p := s.peers[peer]
	return p != nil && i >= 0 && i < s.n && p.told.Has(i)
}

func (s *Seeder) close(p *peerState, i int) {
	delete(p.open, i)
	s.pending[i]--
}

func (s *Seeder) anyoneLacks(i int) bool {
	for _, o := range s.peers {
		if !o.has.Has(i) {
			return true
		}
	}
	return false
}

// topUp reveals pieces to p until it holds PerPeer open ones or has been
// told of every piece it lacks, appending to out.
func (s *Seeder) topUp(id uint64, p *peerState, out []Reveal) []Reveal {
	for len(p.open) < s.cfg.PerPeer {
		i := s.choose(p)
		if i < 0 {
			break
		}
		p.told.Set(i)
		p.open[i] = time.Time{}
		s.pending[i]++
		s.revealed[i]++
		out = append(out, Reveal{Peer: id, Piece: i})
	}
	return out
}

// choose picks the piece to show p next: one it lacks and was not told of,
// never revealed before if any such is left, else the rarest counting
// the peers it is being shown to; ties at random. -1 if none is left.
func (s *Seeder) choose(p *peerState) int {
	best, bestNew, bestScore, ties := -1, false, 0, 0
	for i := range s.n {
		if p.has.Has(i) || p.told.Has(i) {
			continue
		}
		isNew, score := s.revealed[i] == 0, s.avail[i]+s.pending[i]
		better := best < 0 || isNew && !bestNew || isNew == bestNew && score < bestScore
		if !better && isNew == bestNew && score == bestScore {
			ties++
			if s.rng.IntN(ties) == 0 {
				best = i
			}
			continue
		}
		if better {
			best, bestNew, bestScore, ties = i, isNew, score, 1
		}
	}
	return best
}
