package swarm

import (
	"time"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/swarm/choke"
	"github.com/shoal-torrent/shoal/swarm/superseed"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// The loop's side of BEP 16 super-seeding (TorrentConfig.SuperSeed): the
// policy in swarm/superseed says which piece to reveal to whom; here its
// reveals become HAVE messages and what peers announce is fed to it.

// startSuperSeed turns super-seeding on for a torrent that starts
// complete, the one case BEP 16 is for: a torrent that downloads first
// has announced its pieces to its peers already.
func (l *loop) startSuperSeed() error {
	if !l.t.cfg.SuperSeed || !l.seeding() {
		return nil
	}
	s, err := superseed.New(l.layout.NumPieces, l.t.cfg.SuperSeedPolicy, nil)
	if err != nil {
		return err
	}
	l.super = s
	return nil
}

// superJoin reveals a new peer's first pieces, after the have-none (or
// nothing) adopt sent in place of our bitfield.
func (l *loop) superJoin(c *conn) {
	if l.super != nil {
		l.reveal(l.super.Join(uint64(c.id), nil, l.now()))
	}
}

// superHave feeds the policy a peer's have.
func (l *loop) superHave(c *conn, p int) {
	if l.super == nil {
		return
	}
	wanted := l.super.Wants(uint64(c.id))
	rs := l.super.Have(uint64(c.id), p, l.now())
	l.reveal(rs)
	if len(rs) == 0 && wanted && !l.super.Wants(uint64(c.id)) {
		l.rechoke(l.now()) // it has all it was shown: its slot is free
	}
}

// superBitfield feeds the policy a peer's bitfield or have-all.
func (l *loop) superBitfield(c *conn) {
	if l.super == nil {
		return
	}
	has := l.picker.PeerPieces(c.id) // the policy reads it, keeps nothing
	if has == nil {
		has = piece.NewBitfield(l.layout.NumPieces)
	}
	l.reveal(l.super.Bitfield(uint64(c.id), has, l.now()))
}

// superTick reveals to peers whose pieces went unseen elsewhere too long.
func (l *loop) superTick(now time.Time) {
	if l.super != nil {
		l.reveal(l.super.Tick(now))
	}
}

// reveal sends the policy's haves; a peer shown something new may
// deserve a slot at once.
func (l *loop) reveal(rs []superseed.Reveal) {
	for _, r := range rs {
		c := l.conns[picker.PeerID(r.Peer)]
		if c == nil || c.closing {
			continue
		}
		p := uint32(r.Piece)
		c.out.push(func(b []byte) []byte { return wire.AppendIndex(b, wire.Have, p) })
	}
	if len(rs) > 0 {
		l.rechoke(l.now())
	}
}

// superPeer is a connection as the choker sees it while super-seeding: a
// peer that holds every piece it was shown has nothing to ask of us,
// whatever its interested flag still says (shoal itself says so only at
// its next tick), and is not worth a slot.
type superPeer struct {
	*conn
	wants bool
}

func (p superPeer) Interested() bool { return p.conn.Interested() && p.wants }

// chokePeer is c as the choker should see it.
func (l *loop) chokePeer(c *conn) choke.Peer {
	if l.super == nil {
		return c
	}
	return superPeer{conn: c, wants: l.super.Wants(uint64(c.id))}
}
