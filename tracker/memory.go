package tracker

import (
	"bytes"
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryConfig bounds the in-memory store.
type MemoryConfig struct {
	// MaxTorrents and MaxPeersPerTorrent cap what the store holds. At a
	// cap the store evicts (the smallest, idlest swarm; a swarm's oldest
	// peer) rather than refuse the newcomer, so a flood cannot lock new
	// torrents or peers out. MaxTorrents is kept per shard, as
	// MaxTorrents/Shards (at least one), so a flood aimed at one shard
	// evicts only that shard's swarms.
	MaxTorrents        int
	MaxPeersPerTorrent int
	// Shards spreads the lock; a power of two.
	Shards int
}

// DefaultMemoryConfig allows a million torrents of up to 50,000 peers.
func DefaultMemoryConfig() MemoryConfig {
	return MemoryConfig{MaxTorrents: 1_000_000, MaxPeersPerTorrent: 50_000, Shards: 256}
}

// MemoryStore keeps swarms in memory, in shards by infohash so announces
// for different torrents rarely wait on each other.
type MemoryStore struct {
	cfg      MemoryConfig
	shards   []memShard
	torrents atomic.Int64
	// shardMax is MaxTorrents per shard; 0 is no cap.
	shardMax int
	// evictedSwarms and evictedPeers count what was dropped to make room.
	evictedSwarms, evictedPeers atomic.Int64
	// seeds and leechers count peers across all swarms, so Totals does
	// not walk the store.
	seeds, leechers atomic.Int64
}

type memShard struct {
	mu     sync.Mutex // guards swarms and rng
	swarms map[swarmKey]*memSwarm
	rng    *rand.Rand
}

type swarmKey struct {
	ih  InfoHash
	fam uint8
}

// memSwarm holds one torrent's peers of one family. Seeds and leechers are
// kept in dense slices (with an index) so random selection is O(want).
type memSwarm struct {
	st              *MemoryStore
	seeds, leechers []Peer
	expires         map[PeerID]queued // the peer's latest queue entry
	index           map[PeerID]int    // position in seeds or leechers
	downloaded      int
	last            time.Time // latest announce, for eviction
	// queue lists announces in order; with one TTL for all, that is
	// expiry order, so expiring is amortized O(1). Entries superseded by
	// a later announce are skipped.
	queue []queued
	head  int
	seq   uint64
}

// queued is one announce; seq tells it from a later one with the same
// expiry time.
type queued struct {
	id  PeerID
	exp time.Time
	seq uint64
}

// NewMemoryStore returns an empty store.
func NewMemoryStore(cfg MemoryConfig) *MemoryStore {
	if cfg.Shards <= 0 || cfg.Shards&(cfg.Shards-1) != 0 {
		cfg.Shards = 256
	}
	s := &MemoryStore{cfg: cfg, shards: make([]memShard, cfg.Shards)}
	if cfg.MaxTorrents > 0 {
		s.shardMax = max(1, cfg.MaxTorrents/cfg.Shards)
	}
	for i := range s.shards {
		s.shards[i] = memShard{swarms: map[swarmKey]*memSwarm{}, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	}
	return s
}

func (s *MemoryStore) shard(ih InfoHash) *memShard {
	return &s.shards[(int(ih[0])<<8|int(ih[1]))&(len(s.shards)-1)]
}

// Announce implements PeerStore.
func (s *MemoryStore) Announce(_ context.Context, req *AnnounceRequest) (AnnounceResponse, error) {
	sh := s.shard(req.InfoHash)
	key := swarmKey{req.InfoHash, family(req.Peer.Addr)}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sw := sh.swarms[key]
	if sw == nil {
		if req.Event == EventStopped {
			return AnnounceResponse{}, nil
		}
		if s.shardMax > 0 && len(sh.swarms) >= s.shardMax {
			s.evictSwarm(sh, req.Now)
		}
		sw = &memSwarm{st: s, expires: map[PeerID]queued{}, index: map[PeerID]int{}}
		sh.swarms[key] = sw
		s.torrents.Add(1)
	}
	sw.expire(req.Now)
	sw.last = req.Now
	_, known := sw.index[req.Peer.ID]
	wasSeed := known && sw.isSeed(req.Peer.ID)
	if known && wasSeed == req.Peer.Seed && req.Event != EventStopped {
		// The common case, a peer re-announcing as it was: refresh it in
		// place (address and expiry) instead of removing and re-adding.
		sw.refresh(req.Peer, req.Now.Add(req.TTL))
	} else {
		sw.remove(req.Peer.ID)
	}
	if req.Event != EventStopped && !(known && wasSeed == req.Peer.Seed) {
		if !known && s.cfg.MaxPeersPerTorrent > 0 && len(sw.index) >= s.cfg.MaxPeersPerTorrent {
			sw.evictOldest()
			s.evictedPeers.Add(1)
		}
		sw.add(req.Peer, req.Now.Add(req.TTL))
		// A completed event counts once, and only from a peer that was
		// downloading: repeated or replayed events do not inflate it.
		if req.Event == EventCompleted && known && !wasSeed && req.Peer.Seed {
			sw.downloaded++
		}
	}
	resp := AnnounceResponse{Seeders: len(sw.seeds), Leechers: len(sw.leechers), Downloaded: sw.downloaded}
	if req.Event != EventStopped && req.NumWant > 0 {
		buf := req.Buf[:0]
		if buf == nil {
			buf = make([]Peer, 0, min(req.NumWant, len(sw.index)))
		}
		resp.Peers = selectPeers(buf, sw.seeds, sw.leechers, req.Peer.ID, req.Peer.Seed, req.NumWant, sh.rng)
	}
	if len(sw.index) == 0 && sw.downloaded == 0 {
		delete(sh.swarms, key)
		s.torrents.Add(-1)
	}
	return resp, nil
}

func (sw *memSwarm) isSeed(id PeerID) bool {
	i, ok := sw.index[id]
	return ok && i < len(sw.seeds) && sw.seeds[i].ID == id
}

func (sw *memSwarm) add(p Peer, exp time.Time) {
	if p.Seed {
		sw.index[p.ID] = len(sw.seeds)
		sw.seeds = append(sw.seeds, p)
		sw.st.seeds.Add(1)
	} else {
		sw.index[p.ID] = len(sw.leechers)
		sw.leechers = append(sw.leechers, p)
		sw.st.leechers.Add(1)
	}
	sw.seq++
	q := queued{p.ID, exp, sw.seq}
	sw.expires[p.ID] = q
	sw.queue = append(sw.queue, q)
}

// refresh updates a listed peer's address and expiry where it stands.
func (sw *memSwarm) refresh(p Peer, exp time.Time) {
	i := sw.index[p.ID]
	if p.Seed {
		sw.seeds[i].Addr = p.Addr
	} else {
		sw.leechers[i].Addr = p.Addr
	}
	sw.seq++
	q := queued{p.ID, exp, sw.seq}
	sw.expires[p.ID] = q
	sw.queue = append(sw.queue, q)
}

// remove deletes a peer by swapping the last of its list into its place.
func (sw *memSwarm) remove(id PeerID) {
	i, ok := sw.index[id]
	if !ok {
		return
	}
	list, count := &sw.leechers, &sw.st.leechers
	if sw.isSeed(id) {
		list, count = &sw.seeds, &sw.st.seeds
	}
	count.Add(-1)
	last := len(*list) - 1
	(*list)[i] = (*list)[last]
	sw.index[(*list)[i].ID] = i
	*list = (*list)[:last]
	delete(sw.index, id)
	delete(sw.expires, id)
}

// expire drops peers that stopped announcing. It runs on each announce
// to the swarm, so a busy swarm is always fresh; Sweep handles idle ones.
func (sw *memSwarm) expire(now time.Time) {
	for sw.head < len(sw.queue) && now.After(sw.queue[sw.head].exp) {
		q := sw.queue[sw.head]
		sw.head++
		if cur, ok := sw.expires[q.id]; ok && cur.seq == q.seq {
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
			if cur, ok := sw.expires[q.id]; ok && cur.seq == q.seq {
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
		if cur, ok := sw.expires[q.id]; ok && cur.seq == q.seq {
			sw.remove(q.id)
			return
		}
	}
}

// evictSample is how many swarms a full shard weighs to pick one to
// evict. A random sample (map order is random) keeps eviction O(1)
// however much the shard holds; drawn from a shard a flood has filled,
// eight all but ensure one of the flood's swarms is among them.
const evictSample = 8

// evictSwarm drops one swarm of a full shard, chosen by evictionVictim.
func (s *MemoryStore) evictSwarm(sh *memShard, now time.Time) {
	var keys [evictSample]swarmKey
	var infos [evictSample]swarmInfo
	n := 0
	for k, sw := range sh.swarms {
		sw.expire(now)
		keys[n] = k
		infos[n] = swarmInfo{peers: len(sw.index), downloaded: sw.downloaded, last: sw.last}
		if n++; n == evictSample {
			break
		}
	}
	if n == 0 {
		return
	}
	k := keys[evictionVictim(infos[:n], now)]
	sw := sh.swarms[k]
	s.seeds.Add(-int64(len(sw.seeds)))
	s.leechers.Add(-int64(len(sw.leechers)))
	delete(sh.swarms, k)
	s.torrents.Add(-1)
	s.evictedSwarms.Add(1)
}

// Evictions implements EvictionCounter.
func (s *MemoryStore) Evictions() Evictions {
	return Evictions{Swarms: s.evictedSwarms.Load(), Peers: s.evictedPeers.Load()}
}

// Sweep expires peers in every swarm and drops empty ones. The tracker
// calls it periodically so swarms nobody announces to still empty out.
func (s *MemoryStore) Sweep(now time.Time) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, sw := range sh.swarms {
			sw.expire(now)
			if len(sw.index) == 0 && sw.downloaded == 0 {
				delete(sh.swarms, k)
				s.torrents.Add(-1)
			}
		}
		sh.mu.Unlock()
	}
}

// Scrape implements PeerStore; both families are summed.
func (s *MemoryStore) Scrape(_ context.Context, hashes []InfoHash, now time.Time) ([]Scrape, error) {
	out := make([]Scrape, len(hashes))
	for i, ih := range hashes {
		sh := s.shard(ih)
		sh.mu.Lock()
		for _, fam := range []uint8{4, 6} {
			if sw := sh.swarms[swarmKey{ih, fam}]; sw != nil {
				sw.expire(now)
				out[i].Seeders += len(sw.seeds)
				out[i].Leechers += len(sw.leechers)
				out[i].Downloaded += sw.downloaded
			}
		}
		sh.mu.Unlock()
	}
	return out, nil
}

// Totals implements PeerStore. Torrents counts swarms per address family.
func (s *MemoryStore) Totals(_ context.Context, now time.Time) (Totals, error) {
	return Totals{Torrents: int(s.torrents.Load()), Seeders: int(s.seeds.Load()), Leechers: int(s.leechers.Load())}, nil
}

// Close implements PeerStore.
func (s *MemoryStore) Close() error { return nil }

// TopSwarms implements SwarmLister: the swarms with the most peers, both
// address families summed. It walks the store, so it suits a monitoring
// endpoint polled every few seconds, not the announce path.
func (s *MemoryStore) TopSwarms(limit int, now time.Time) []SwarmStats {
	byHash := map[InfoHash]*SwarmStats{}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, sw := range sh.swarms {
			st := byHash[k.ih]
			if st == nil {
				st = &SwarmStats{InfoHash: k.ih}
				byHash[k.ih] = st
			}
			st.Seeders += len(sw.seeds)
			st.Leechers += len(sw.leechers)
			st.Downloaded += sw.downloaded
		}
		sh.mu.Unlock()
	}
	out := make([]SwarmStats, 0, len(byHash))
	for _, st := range byHash {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b SwarmStats) int {
		if c := cmp.Compare(b.Seeders+b.Leechers, a.Seeders+a.Leechers); c != 0 {
			return c
		}
		return bytes.Compare(a.InfoHash[:], b.InfoHash[:])
	})
	return out[:min(limit, len(out))]
}
