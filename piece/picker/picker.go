// Package picker decides which blocks to request from which peer: rarest
// piece first, a few random pieces to start, partial pieces finished before
// new ones, file priorities, a sequential mode, and end-game. It is a pure
// data structure driven by events; peers are opaque IDs, so it knows
// nothing of connections and tests drive it directly.
package picker

import (
	"errors"
	"math/rand/v2"

	"github.com/shoal-torrent/shoal/piece"
)

// PeerID is the caller's handle for a peer. The picker only compares them.
type PeerID uint64

// Priority orders pieces; Skip pieces are never requested.
type Priority int8

// The priorities people set on files in every client. Each wanted level
// is a band of its own: a piece of a lower band is picked only when the
// peer has nothing wanted in the bands above (libtorrent's and
// Transmission's low, normal and high).
const (
	Skip   Priority = 0
	Low    Priority = 1
	Normal Priority = 2
	High   Priority = 3
)

// Block names one 16 KiB request unit: piece and block index within it.
type Block struct {
	Piece int
	Index int
}

// Config tunes the picker.
type Config struct {
	// RandomFirst is how many pieces are picked at random before rarest
	// first takes over, so a new peer soon has something to trade.
	RandomFirst int
	// EndgameRequesters caps how many peers one block is requested from at
	// once during end-game.
	EndgameRequesters int
	// Rand drives random choices; tests seed it.
	Rand *rand.Rand
}

// DefaultConfig returns the behaviour of common clients: four random first
// pieces and end-game duplicates to up to three peers.
func DefaultConfig() Config {
	return Config{RandomFirst: 4, EndgameRequesters: 3}
}

// Validate reports a config the picker cannot work with.
func (c Config) Validate() error {
	if c.RandomFirst < 0 {
		return errors.New("picker: RandomFirst is negative")
	}
	if c.EndgameRequesters < 1 || c.EndgameRequesters > 255 {
		return errors.New("picker: EndgameRequesters must be 1..255")
	}
	return nil
}

type blockState struct {
	received bool
	nreq     uint8  // how many peers it is requested from
	first    PeerID // the first requester, when nreq > 0
}

type partialPiece struct {
	blocks   []blockState
	free     int // blocks neither received nor requested
	received int
	// exclusive pieces are downloaded from owner alone, so a hash failure
	// has exactly one culprit.
	exclusive bool
	owner     PeerID
}

type peerState struct {
	has  *piece.Bitfield
	seed bool // sent have_all or a full bitfield; counted in Picker.seeds
	// parole peers contributed to a piece that failed alongside others;
	// they only download whole pieces of their own until cleared.
	parole bool
	// whole peers (web seeds) download whole pieces of their own, as on
	// parole, for good: a piece that fails then names its one sender,
	// and a ranged request is not split between sources.
	whole bool
	// refused holds pieces the peer turned our requests for down while
	// unchoking us (an initial seeder that is sending them to someone
	// else): not asked of it again until Unrefuse. Nil until the first.
	refused *piece.Bitfield
}

// alone reports whether the peer only takes pieces no one else shares.
func (ps *peerState) alone() bool { return ps.parole || ps.whole }

// Picker holds the download's piece-selection state. It is not safe for
// concurrent use: the torrent's owner goroutine drives it.
type Picker struct {
	cfg    Config
	layout *piece.Layout
	rng    *rand.Rand

	have     *piece.Bitfield
	wanted   *piece.Bitfield // not have, priority above Skip
	prio     []Priority
	filePrio []Priority

	avail  []int32 // per piece, from peers that are not seeds
	seeds  int
	pos    []int32  // position of each piece in its level's order, or -1
	levels [3]order // High, Normal, Low

	partial map[int]*partialPiece
	// restarted holds pieces Pick started over, for TakeRestarted.
	restarted []int
	partials  []int // pieces in partial, oldest first
	dups      map[Block][]PeerID

	peers map[PeerID]*peerState
	// none and all are shared, never-mutated bitfields for peers that have
	// nothing yet or everything: most peers are one or the other, and they
	// then cost no allocation and no O(pieces) work.
	none, all   *piece.Bitfield
	unrequested int // blocks of wanted pieces neither received nor requested
	sequential  bool
	seqCursor   int // no wanted piece below it
	// windows are the streaming readers' read-ahead ranges, most urgent
	// first: their pieces are picked before any other.
	windows []Window
}

// New returns a picker for a torrent laid out as l, of which the pieces in
// have are already verified. Every file starts at Normal priority.
func New(l *piece.Layout, have *piece.Bitfield, cfg Config) (*Picker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := cfg.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	n := l.NumPieces
	p := &Picker{
		cfg: cfg, layout: l, rng: rng,
		have: have.Clone(), wanted: piece.NewBitfield(n),
		prio: make([]Priority, n), filePrio: make([]Priority, len(l.Files)),
		avail: make([]int32, n), pos: make([]int32, n),
		partial: map[int]*partialPiece{}, dups: map[Block][]PeerID{}, peers: map[PeerID]*peerState{},
		none: piece.NewBitfield(n), all: piece.FullBitfield(n),
	}
	for i := range p.filePrio {
		p.filePrio[i] = Normal
	}
	// Shuffled, so that pieces of equal rarity are not taken in index
	// order by every peer in the swarm at once.
	for _, i := range rng.Perm(n) {
		p.pos[i] = -1
		p.setPriority(i, Normal)
	}
	return p, nil
}

// levelOf is a wanted priority's band, the most urgent first.
func levelOf(pr Priority) int {
	switch pr {
	case High:
		return 0
	case Low:
		return 2
	}
	return 1
}

// setPriority moves piece i between levels and keeps wanted and the
// unrequested count in step.
func (p *Picker) setPriority(i int, pr Priority) {
	old := p.prio[i]
	p.prio[i] = pr
	if p.have.Has(i) || (old == pr && p.pos[i] >= 0) {
		return
	}
	if p.pos[i] >= 0 {
		p.levels[levelOf(old)].remove(p.pos, int32(i), int(p.avail[i]))
	}
	if old != Skip && p.wanted.Clear(i) {
		p.unrequested -= p.freeBlocks(i)
	}
	if pr != Skip {
		p.levels[levelOf(pr)].insert(p.pos, int32(i), int(p.avail[i]))
		p.wanted.Set(i)
		p.unrequested += p.freeBlocks(i)
	}
}

func (p *Picker) freeBlocks(i int) int {
	if pp := p.partial[i]; pp != nil {
		return pp.free
	}
	return p.layout.NumBlocks(i)
}

// SetFilePriority sets file f's priority. A piece shared by two files takes
// the higher of their priorities, so skipping one file never starves its
// neighbour.
func (p *Picker) SetFilePriority(f int, pr Priority) {
	if f < 0 || f >= len(p.filePrio) {
		return
	}
	p.filePrio[f] = pr
	first, end := p.layout.FilePieces(f)
	var spans []piece.Span
	for i := first; i < end; i++ {
		best := Skip
		spans = p.layout.Spans(spans[:0], p.layout.PieceOffset(i), p.layout.PieceSize(i))
		for _, s := range spans {
			if !p.layout.Files[s.File].Pad {
				best = max(best, p.filePrio[s.File])
			}
		}
		p.setPriority(i, best)
	}
}

// SetSequential switches between rarest-first and in-order picking (for
// streaming media while it downloads).
func (p *Picker) SetSequential(on bool) { p.sequential = on }

// SetWholePieces makes a peer (a web seed) take only whole pieces nobody
// else has blocks of, and keeps others off its pieces, as parole does.
func (p *Picker) SetWholePieces(id PeerID, on bool) { p.peer(id).whole = on }

// Window is a half-open range of pieces a streaming reader needs soon:
// First is where it reads now.
type Window struct{ First, End int }

// SetWindows replaces the streaming readers' read-ahead windows, most
// urgent first. Their wanted pieces are picked before every other, in
// order, and the piece at each reader's position may be asked of a second
// peer before end-game, so one slow peer cannot stall playback; rarest
// first fills the rest. An empty list drops the priority.
func (p *Picker) SetWindows(w []Window) {
	p.windows = p.windows[:0]
	for _, x := range w {
		x.First, x.End = max(x.First, 0), min(x.End, p.layout.NumPieces)
		if x.First < x.End {
			p.windows = append(p.windows, x)
		}
	}
}

// Windows is the read-ahead windows in force, most urgent first.
func (p *Picker) Windows() []Window { return p.windows }

// Verified is the set of verified pieces, for those that must send or
// save it whole (bitfield messages, resume state, file progress). The
// picker owns it: callers read and never change it.
func (p *Picker) Verified() *piece.Bitfield { return p.have }

// FilePriority is file f's priority (Normal for an unknown file).
func (p *Picker) FilePriority(f int) Priority {
	if f < 0 || f >= len(p.filePrio) {
		return Normal
	}
	return p.filePrio[f]
}

// Have reports whether piece i is verified.
func (p *Picker) Have(i int) bool { return p.have.Has(i) }

// HaveCount is how many pieces are verified.
func (p *Picker) HaveCount() int { return p.have.Count() }

// Downloading reports whether piece i has blocks requested or received
// but is not yet verified, for the piece map people watch.
func (p *Picker) Downloading(i int) bool { return p.partial[i] != nil }

// Wants reports whether piece i is still to download (not verified, not
// skipped): a have for such a piece makes its sender interesting.
func (p *Picker) Wants(i int) bool { return p.wanted.Has(i) }

// Wanted is how many pieces are still to download.
func (p *Picker) Wanted() int { return p.wanted.Count() }

// Availability is how many connected peers have piece i.
func (p *Picker) Availability(i int) int { return int(p.avail[i]) + p.seeds }

// Endgame reports whether every missing block has been requested, so that
// remaining blocks may be requested from several peers at once.
func (p *Picker) Endgame() bool { return p.unrequested == 0 && p.wanted.Count() > 0 }

// AddPeer starts tracking a peer that has nothing yet.
func (p *Picker) AddPeer(id PeerID) {
	if _, ok := p.peers[id]; !ok {
		p.peers[id] = &peerState{has: p.none}
	}
}

func (p *Picker) peer(id PeerID) *peerState {
	ps := p.peers[id]
	if ps == nil {
		p.AddPeer(id)
		ps = p.peers[id]
	}
	return ps
}

// incAvail and decAvail keep piece i's bucket in step with its count.
func (p *Picker) incAvail(i int) {
	if p.pos[i] >= 0 {
		p.levels[levelOf(p.prio[i])].inc(p.pos, int32(i), int(p.avail[i]))
	}
	p.avail[i]++
}

func (p *Picker) decAvail(i int) {
	if p.pos[i] >= 0 {
		p.levels[levelOf(p.prio[i])].dec(p.pos, int32(i), int(p.avail[i]))
	}
	p.avail[i]--
}

// PeerHave records a have message. Cost: O(1).
func (p *Picker) PeerHave(id PeerID, i int) {
	ps := p.peer(id)
	if ps.seed || ps.has.Has(i) || i < 0 || i >= p.layout.NumPieces {
		return
	}
	if ps.has == p.none {
		ps.has = piece.NewBitfield(p.layout.NumPieces)
	}
	ps.has.Set(i)
	p.incAvail(i)
}

// PeerHaveAll records have_all (or a full bitfield): one counter for all
// pieces, O(1), instead of n increments. A peer that announced pieces
// before has them moved into the counter.
func (p *Picker) PeerHaveAll(id PeerID) {
	ps := p.peer(id)
	if ps.seed {
		return
	}
	for i := ps.has.NextSet(0); i >= 0; i = ps.has.NextSet(i + 1) {
		p.decAvail(i)
	}
	ps.has = p.all
	ps.seed = true
	p.seeds++
}

// PeerBitfield records a bitfield message: O(1) per piece it sets.
func (p *Picker) PeerBitfield(id PeerID, bf *piece.Bitfield) {
	if bf.Full() {
		p.PeerHaveAll(id)
		return
	}
	for i := bf.NextSet(0); i >= 0; i = bf.NextSet(i + 1) {
		p.PeerHave(id, i)
	}
}

// SetParole puts a peer on parole (or takes it off): while on parole it is
// given only pieces no one else has blocks of, and no one else gets blocks
// of its pieces, so a corrupt piece can be pinned on it alone.
func (p *Picker) SetParole(id PeerID, on bool) { p.peer(id).parole = on }

// PieceLost forgets a verified piece whose data is gone (a file truncated
// under us): it is wanted again, unless its files are skipped.
func (p *Picker) PieceLost(i int) {
	if i < 0 || i >= len(p.prio) || !p.have.Clear(i) {
		return
	}
	pr := p.prio[i]
	p.prio[i] = Skip // so setPriority files it as new
	p.setPriority(i, pr)
	if p.wanted.Has(i) && i < p.seqCursor {
		p.seqCursor = i
	}
}

// Abandon ends peer id's claim on the pieces it was downloading alone
// (it choked us or went quiet), so they hold nothing up. A piece it sent
// no block of yet becomes an ordinary one; a piece it sent part of is
// started over, since letting others finish it would give the piece two
// senders again (and a liar on parole a way out). The pieces started over
// are appended to dst: the caller forgets what it holds of them.
func (p *Picker) Abandon(dst []int, id PeerID) []int {
	for k := 0; k < len(p.partials); k++ {
		i := p.partials[k]
		pp := p.partial[i]
		if !pp.exclusive || pp.owner != id {
			continue
		}
		pp.exclusive = false
		if pp.received > 0 && pp.received < len(pp.blocks) {
			p.PieceFailed(i)
			dst = append(dst, i)
			k-- // dropPartial removed it from partials
		}
	}
	return dst
}

// Requesters is how many peers block b is requested from now.
func (p *Picker) Requesters(b Block) int {
	if pp := p.partial[b.Piece]; pp != nil && b.Index >= 0 && b.Index < len(pp.blocks) {
		return int(pp.blocks[b.Index].nreq)
	}
	return 0
}

// Exclusive reports whether piece i is being downloaded from one peer
// alone (its owner), and which.
func (p *Picker) Exclusive(i int) (PeerID, bool) {
	if pp := p.partial[i]; pp != nil && pp.exclusive {
		return pp.owner, true
	}
	return 0, false
}

// PeerHas reports whether the peer has piece i.
func (p *Picker) PeerHas(id PeerID, i int) bool {
	ps := p.peers[id]
	return ps != nil && ps.has.Has(i)
}

// PeerPieces is the set of pieces the peer has, or nil for a peer the
// picker does not know. It is the picker's own: read it, never change it.
func (p *Picker) PeerPieces(id PeerID) *piece.Bitfield {
	if ps := p.peers[id]; ps != nil {
		return ps.has
	}
	return nil
}

// Interesting reports whether the peer has a piece we still want, which is
// when we should tell it we are interested.
func (p *Picker) Interesting(id PeerID) bool {
	ps := p.peers[id]
	if ps == nil {
		return false
	}
	if ps.seed {
		return p.wanted.Count() > 0
	}
	return ps.has.Intersects(p.wanted)
}

// RemovePeer forgets a disconnected peer: its pieces no longer count and
// every block requested from it becomes free for others.
func (p *Picker) RemovePeer(id PeerID) {
	ps := p.peers[id]
	if ps == nil {
		return
	}
	if ps.seed {
		p.seeds--
	} else {
		for i := ps.has.NextSet(0); i >= 0; i = ps.has.NextSet(i + 1) {
			p.decAvail(i)
		}
	}
	delete(p.peers, id)
	for _, i := range p.partials {
		pp := p.partial[i]
		for b := range pp.blocks {
			p.release(id, Block{i, b}, pp)
		}
		if pp.exclusive && pp.owner == id {
			pp.exclusive = false
		}
	}
}
