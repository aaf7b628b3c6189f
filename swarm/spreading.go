package swarm

import (
	"time"

	"github.com/shoal-torrent/shoal/swarm/spread"
)

// The loop's side of the initial seeder's policy (swarm/spread): while a
// complete torrent is the one source of some piece, a request for a
// piece on its way to another peer, or one another peer holds, is
// turned down once with a reject, so each piece goes out about once.
// And the downloader's side: a peer that rejects a piece while
// unchoking us is not asked for it again for refuseFor.

// refuseFor is how long a piece a peer rejected is not asked of it: past
// spread's RetryAfter (3 s), so the next request is served.
const refuseFor = 5 * time.Second

// spreadAllows says whether to queue c's request for piece i; false is
// answered with a reject. Only fast-extension peers can be told no: to
// others silence would look like a stalled request.
func (l *loop) spreadAllows(c *conn, i int) bool {
	if !c.hs.Reserved.Fast() || !l.ensureSpread() {
		return true
	}
	return l.spread.Request(uint64(c.id), i, l.picker.Availability(i), l.now())
}

// spreadSlots is how many peers an initial seeder unchokes at once (or
// --upload-slots, if more): each leecher then holds pieces nobody else
// has to trade early on, where four slots held for 30 s turns gave all
// of the first copy to four of them (distbench, K = 16: T*/T 0.73 with
// 4, 0.83 with 8, 0.88 with 16; K = 32: 0.78 with 16 or 32).
const spreadSlots = 16

// ensureSpread makes the policy once the torrent is complete and reports
// whether it applies: not with --no-spread, nor while super-seeding.
func (l *loop) ensureSpread() bool {
	if l.spread != nil {
		return true
	}
	if l.t.cfg.NoSpread || l.super != nil || l.picker.HaveCount() < l.layout.NumPieces {
		return false
	}
	s, err := spread.New(l.layout.NumPieces, l.t.cfg.SpreadPolicy)
	if err != nil {
		return false // not reached: TorrentConfig.Validate checked it
	}
	l.spread = s
	for _, o := range l.conns {
		l.spreadBitfield(o) // what peers announced before we were complete
	}
	return true
}

// spreadBitfield tells the policy what a peer announced at once.
func (l *loop) spreadBitfield(c *conn) {
	if l.spread == nil {
		return
	}
	has := l.picker.PeerPieces(c.id)
	if has == nil {
		return
	}
	for p := has.NextSet(0); p >= 0; p = has.NextSet(p + 1) {
		l.spread.Have(uint64(c.id), p)
	}
}

func (l *loop) spreadTick(now time.Time) {
	if l.spread != nil {
		l.spread.Tick(now)
	}
	for _, c := range l.conns {
		n := len(c.refused)
		for p, until := range c.refused {
			if !now.Before(until) {
				delete(c.refused, p)
				l.picker.Unrefuse(c.id, p)
			}
		}
		if len(c.refused) < n {
			l.request(c)
		}
	}
}

// refused stops asking c for piece p for a while: it rejected a request
// for it while unchoking us, so it means to send it to someone else.
func (l *loop) refused(c *conn, p int) {
	if _, ok := c.refused[p]; ok {
		return
	}
	if c.refused == nil {
		c.refused = map[int]time.Time{}
	}
	c.refused[p] = l.now().Add(refuseFor)
	l.picker.Refuse(c.id, p)
	l.request(c)
}
