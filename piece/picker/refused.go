package picker

import "github.com/shoal-torrent/shoal/piece"

// offers reports whether the peer has piece i and has not refused it.
func (ps *peerState) offers(i int) bool {
	return ps.has.Has(i) && (ps.refused == nil || !ps.refused.Has(i))
}

// Refuse stops asking the peer for piece i: it rejected a request for
// it while unchoking us, so it means to send that piece elsewhere (an
// initial seeder spreading its pieces), and the request is better spent
// on one it will send. The caller lifts it with Unrefuse after a while;
// the piece still counts as the peer's for availability and interest.
func (p *Picker) Refuse(id PeerID, i int) {
	ps := p.peers[id]
	if ps == nil || i < 0 || i >= p.layout.NumPieces {
		return
	}
	if ps.refused == nil {
		ps.refused = piece.NewBitfield(p.layout.NumPieces)
	}
	ps.refused.Set(i)
}

// Unrefuse lets the peer be asked for piece i again.
func (p *Picker) Unrefuse(id PeerID, i int) {
	if ps := p.peers[id]; ps != nil && ps.refused != nil && i >= 0 && i < p.layout.NumPieces {
		ps.refused.Clear(i)
	}
}
