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
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sw, resp := s.update(sh, req)
	if sw == nil {
		return resp, nil
	}
	if req.Event != EventStopped && req.NumWant > 0 {
		buf := req.Buf[:0]
		if buf == nil {
			buf = make([]Peer, 0, min(req.NumWant, sw.peers()))
		}
		seeds, leechers := sw.plan(req.Peer, req.NumWant, sh.rng)
		resp.Peers = sw.appendPeers(buf, seeds, leechers)
	}
	s.dropIfEmpty(sh, sw, req)
	return resp, nil
}

// AnnounceCompact implements CompactAnnouncer: the peers Announce would
// pick, copied in compact form from where the swarm keeps them.
func (s *MemoryStore) AnnounceCompact(_ context.Context, req *AnnounceRequest, dst []byte, limit int) (AnnounceResponse, []byte, error) {
	sh := s.shard(req.InfoHash)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sw, resp := s.update(sh, req)
	if sw == nil {
		return resp, dst, nil
	}
	if req.Event != EventStopped && req.NumWant > 0 {
		seeds, leechers := sw.plan(req.Peer, req.NumWant, sh.rng)
		dst = sw.appendCompact(dst, seeds, leechers, limit)
	}
	s.dropIfEmpty(sh, sw, req)
	return resp, dst, nil
}

// update applies an announce to its swarm under the shard's lock and
// returns the swarm with its counts, or no swarm for a stop from a peer
// of a swarm that does not exist.
func (s *MemoryStore) update(sh *memShard, req *AnnounceRequest) (*memSwarm, AnnounceResponse) {
	key := swarmKey{req.InfoHash, family(req.Peer.Addr)}
	sw := sh.swarms[key]
	if sw == nil {
		if req.Event == EventStopped {
			return nil, AnnounceResponse{}
		}
		if s.shardMax > 0 && len(sh.swarms) >= s.shardMax {
			s.evictSwarm(sh, req.Now)
		}
		sw = newMemSwarm(s, key.fam)
		sh.swarms[key] = sw
		s.torrents.Add(1)
	}
	sw.expire(req.Now)
	sw.last = req.Now
	if req.Event == EventStopped {
		sw.remove(req.Peer.ID)
	} else {
		known, wasSeed := sw.upsert(req.Peer, req.Now.Add(req.TTL))
		// A completed event counts once, and only from a peer that was
		// downloading: repeated or replayed events do not inflate it.
		if req.Event == EventCompleted && known && !wasSeed && req.Peer.Seed {
			sw.downloaded++
		}
	}
	return sw, AnnounceResponse{Seeders: len(sw.seeds.peers), Leechers: len(sw.leechers.peers), Downloaded: sw.downloaded}
}

// dropIfEmpty forgets a swarm nobody is in and nobody completed.
func (s *MemoryStore) dropIfEmpty(sh *memShard, sw *memSwarm, req *AnnounceRequest) {
	if sw.peers() == 0 && sw.downloaded == 0 {
		delete(sh.swarms, swarmKey{req.InfoHash, family(req.Peer.Addr)})
		s.torrents.Add(-1)
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
		infos[n] = swarmInfo{peers: sw.peers(), downloaded: sw.downloaded, last: sw.last}
		if n++; n == evictSample {
			break
		}
	}
	if n == 0 {
		return
	}
	k := keys[evictionVictim(infos[:n], now)]
	sw := sh.swarms[k]
	s.seeds.Add(-int64(len(sw.seeds.peers)))
	s.leechers.Add(-int64(len(sw.leechers.peers)))
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
			if sw.peers() == 0 && sw.downloaded == 0 {
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
				out[i].Seeders += len(sw.seeds.peers)
				out[i].Leechers += len(sw.leechers.peers)
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
			st.Seeders += len(sw.seeds.peers)
			st.Leechers += len(sw.leechers.peers)
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
