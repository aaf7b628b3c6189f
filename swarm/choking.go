package swarm

import (
	"time"

	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/swarm/choke"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// rechoke applies the choker's decision.
func (l *loop) rechoke(now time.Time) {
	slots := l.t.cfg.UploadSlots
	if len(l.conns) > 0 && l.ensureSpread() && l.spread.Unsent() > 0 { // a peerless seed pays nothing
		slots = max(slots, spreadSlots)
	}
	l.choker.SetSlots(slots)
	peers := make([]choke.Peer, 0, len(l.conns))
	for _, c := range l.conns {
		peers = append(peers, l.chokePeer(c))
	}
	res := l.choker.Rechoke(peers, l.seeding(), now)
	l.optimistic, l.hasOptimistic = picker.PeerID(res.Optimistic), res.HasOptimistic
	if l.paused {
		res.Unchoked, l.hasOptimistic = nil, false
	}
	for _, c := range l.conns {
		want := res.Unchoked[uint64(c.id)]
		switch {
		case want && c.amChoking:
			c.amChoking = false
			c.out.push(func(b []byte) []byte { return wire.AppendSimple(b, wire.Unchoke) })
		case !want && !c.amChoking:
			c.amChoking = true
			c.out.push(func(b []byte) []byte { return wire.AppendSimple(b, wire.Choke) })
			if l.spread != nil {
				l.spread.Leave(uint64(c.id), false) // its queued pieces are not coming
			}
			// Queued uploads are dropped; a fast-extension peer is told.
			for _, u := range c.out.dropUploads() {
				if !c.allowedFast[u.index] {
					l.reject(c, u)
				} else {
					c.out.pushUpload(u)
				}
			}
		}
	}
}
