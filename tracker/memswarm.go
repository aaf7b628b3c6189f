package tracker

import (
	"math/rand/v2"
	"time"
)

// memSwarm holds one torrent's peers of one family. Seeds and leechers
// are kept in dense groups so random selection is O(want), each with its
// peers' compact forms side by side, so an answer is a few bulk copies.
// One map finds a peer: its value says the group and the position.
type memSwarm struct {
	st         *MemoryStore
	csize      int // compact size: 6 (IPv4) or 18 (IPv6)
	seeds      memGroup
	leechers   memGroup
	index      map[PeerID]int32 // >= 0: leechers' position; < 0: ^seeds' position
	downloaded int
	last       time.Time // latest announce, for eviction
	// queue lists announces in order; with one TTL for all, that is
	// expiry order, so expiring is amortized O(1). Entries superseded by
	// a later announce (whose seq the peer now carries) are skipped.
	queue []queued
	head  int
	seq   uint64
}

// memGroup is the seeds or the leechers of a swarm.
type memGroup struct {
	peers   []memPeer
	compact []byte // csize bytes per peer, in the order of peers
}

// memPeer is a listed peer and the seq of its latest queue entry.
type memPeer struct {
	Peer
	seq uint64
}

// queued is one announce; seq tells it from a later one with the same
// expiry time.
type queued struct {
	id  PeerID
	exp time.Time
	seq uint64
}

func newMemSwarm(st *MemoryStore, fam uint8) *memSwarm {
	sw := &memSwarm{st: st, csize: 6, index: map[PeerID]int32{}}
	if fam == 6 {
		sw.csize = 18
	}
	return sw
}

// peers is how many peers the swarm lists.
func (sw *memSwarm) peers() int { return len(sw.index) }

// find says where id is listed.
func (sw *memSwarm) find(id PeerID) (g *memGroup, i int, seed, ok bool) {
	v, ok := sw.index[id]
	if !ok {
		return nil, 0, false, false
	}
	if v < 0 {
		return &sw.seeds, int(^v), true, true
	}
	return &sw.leechers, int(v), false, true
}

func (sw *memSwarm) group(seed bool) *memGroup {
	if seed {
		return &sw.seeds
	}
	return &sw.leechers
}

// slot encodes position i of a group for the index.
func slot(seed bool, i int) int32 {
	if seed {
		return ^int32(i)
	}
	return int32(i)
}

// upsert lists p until exp, the one path every announce that is not a
// stop takes: a peer re-announcing as it was is refreshed in place; one
// that changed between seed and leecher moves groups. It reports
// whether the peer was known and whether it was a seed.
func (sw *memSwarm) upsert(p Peer, exp time.Time) (known, wasSeed bool) {
	g, i, wasSeed, known := sw.find(p.ID)
	if known && wasSeed == p.Seed {
		sw.seq++
		mp := &g.peers[i]
		if mp.Addr != p.Addr {
			mp.Addr = p.Addr
			// Rewrite the compact form where it stands: the slice is
			// empty but its capacity runs over the old bytes.
			appendPeer(g.compact[i*sw.csize:i*sw.csize], p, sw.csize)
		}
		mp.seq = sw.seq
		sw.queue = append(sw.queue, queued{p.ID, exp, sw.seq})
		return known, wasSeed
	}
	if known {
		sw.remove(p.ID)
	}
	if !known && sw.st.cfg.MaxPeersPerTorrent > 0 && len(sw.index) >= sw.st.cfg.MaxPeersPerTorrent {
		sw.evictOldest()
		sw.st.evictedPeers.Add(1)
	}
	sw.add(p, exp)
	return known, wasSeed
}

func (sw *memSwarm) add(p Peer, exp time.Time) {
	g := sw.group(p.Seed)
	sw.seq++
	sw.index[p.ID] = slot(p.Seed, len(g.peers))
	g.peers = append(g.peers, memPeer{p, sw.seq})
	g.compact = appendPeer(g.compact, p, sw.csize)
	if p.Seed {
		sw.st.seeds.Add(1)
	} else {
		sw.st.leechers.Add(1)
	}
	sw.queue = append(sw.queue, queued{p.ID, exp, sw.seq})
}

// remove deletes a peer by moving the last of its group into its place.
func (sw *memSwarm) remove(id PeerID) {
	g, i, seed, ok := sw.find(id)
	if !ok {
		return
	}
	if seed {
		sw.st.seeds.Add(-1)
	} else {
		sw.st.leechers.Add(-1)
	}
	last := len(g.peers) - 1
	if i != last {
		g.peers[i] = g.peers[last]
		copy(g.compact[i*sw.csize:(i+1)*sw.csize], g.compact[last*sw.csize:])
		sw.index[g.peers[i].ID] = slot(seed, i)
	}
	g.peers = g.peers[:last]
	g.compact = g.compact[:last*sw.csize]
	delete(sw.index, id)
}

// current reports whether q is its peer's latest announce.
func (sw *memSwarm) current(q queued) bool {
	g, i, _, ok := sw.find(q.id)
	return ok && g.peers[i].seq == q.seq
}

// expire drops peers that stopped announcing. It runs on each announce
// to the swarm, so a busy swarm is always fresh; Sweep handles idle ones.
func (sw *memSwarm) expire(now time.Time) {
	for sw.head < len(sw.queue) && now.After(sw.queue[sw.head].exp) {
		q := sw.queue[sw.head]
		sw.head++
		if sw.current(q) {
			sw.remove(q.id)
		}
	}
	// Compact once the consumed head outweighs the live part.
	if sw.head > 64 && sw.head*2 > len(sw.queue) {
		sw.queue = append(sw.queue[:0], sw.queue[sw.head:]...)
		sw.head = 0
	}
	// Re-announces leave superseded entries behind; rebuild when they
	// dominate so the queue stays O(peers).
	if len(sw.queue)-sw.head > 4*len(sw.index)+64 {
		live := sw.queue[:0]
		for _, q := range sw.queue[sw.head:] {
			if sw.current(q) {
				live = append(live, q)
			}
		}
		sw.queue, sw.head = live, 0
	}
}

// evictOldest drops the peer whose latest announce is the oldest, the
// next to expire anyway, to make room in a full swarm.
func (sw *memSwarm) evictOldest() {
	for sw.head < len(sw.queue) {
		q := sw.queue[sw.head]
		sw.head++
		if sw.current(q) {
			sw.remove(q.id)
			return
		}
	}
}

// plan picks peers for the listed requester self.
func (sw *memSwarm) plan(self Peer, want int, rng *rand.Rand) (seeds, leechers pick) {
	_, i, _, ok := sw.find(self.ID)
	if !ok {
		i = -1
	}
	return planPicks(len(sw.seeds.peers), len(sw.leechers.peers), self.Seed, i, want, rng)
}

// appendPeers appends what the picks chose, as Peers.
func (sw *memSwarm) appendPeers(dst []Peer, seeds, leechers pick) []Peer {
	var buf [4][2]int
	for _, gp := range [2]struct {
		g *memGroup
		p pick
	}{{&sw.seeds, seeds}, {&sw.leechers, leechers}} {
		for _, r := range gp.p.runs(len(gp.g.peers), &buf) {
			for _, mp := range gp.g.peers[r[0]:r[1]] {
				dst = append(dst, mp.Peer)
			}
		}
	}
	return dst
}

// appendCompact appends at most limit of what the picks chose, in
// compact form, in the order appendPeers lists them: bulk copies of
// contiguous runs.
func (sw *memSwarm) appendCompact(dst []byte, seeds, leechers pick, limit int) []byte {
	if limit <= 0 {
		return dst
	}
	var buf [4][2]int
	for _, gp := range [2]struct {
		g *memGroup
		p pick
	}{{&sw.seeds, seeds}, {&sw.leechers, leechers}} {
		for _, r := range gp.p.runs(len(gp.g.peers), &buf) {
			n := min(r[1]-r[0], limit)
			dst = append(dst, gp.g.compact[r[0]*sw.csize:(r[0]+n)*sw.csize]...)
			if limit -= n; limit == 0 {
				return dst
			}
		}
	}
	return dst
}
