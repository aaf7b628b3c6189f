package tracker

import (
	"container/list"
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// ipLimiter rate-limits requests per client network, or per client
// network and torrent, in shards so busy clients do not contend with each
// other. Its memory is bounded, and it fails open: when a shard is full
// the entry idle longest is forgotten, so a flood of addresses costs the
// flooder its own buckets and never locks out a client seen for the
// first time. Forgetting an idle entry loses nothing once its bucket has
// refilled, which is what prune relies on.
type ipLimiter struct {
	r      rate.Limit
	burst  int
	refill time.Duration // an idle bucket is full again after this
	max    int           // entries per shard
	seed   maphash.Seed
	shards [limShards]limShard
	// evicted counts entries forgotten before their bucket refilled:
	// pressure an operator should see.
	evicted atomic.Int64
}

const limShards = 64

type limShard struct {
	mu  sync.Mutex // guards m and lru
	m   map[limKey]*list.Element
	lru list.List // of *limEntry, most recently seen first
}

// limKey is what one bucket limits: a client network and, for the
// per-torrent limit, an infohash (zero for the per-IP limit).
type limKey struct {
	net [16]byte
	ih  InfoHash
}

type limEntry struct {
	key  limKey
	lim  *rate.Limiter
	seen time.Time
}

// clientNet is the network a client controls: its IPv4 address, or the
// /64 of its IPv6 address, since an IPv6 host is commonly handed a whole
// /64 and may announce from any address in it.
func clientNet(ip netip.Addr) [16]byte {
	ip = ip.Unmap()
	b := ip.As16()
	if ip.Is6() {
		clear(b[8:])
	}
	return b
}

// newIPLimiter allows perSecond requests per key with the given burst,
// remembering at most entries keys.
func newIPLimiter(perSecond float64, burst, entries int) *ipLimiter {
	l := &ipLimiter{r: rate.Limit(perSecond), burst: burst, max: max(1, entries/limShards), seed: maphash.MakeSeed()}
	l.refill = time.Duration(float64(burst) / perSecond * float64(time.Second))
	for i := range l.shards {
		l.shards[i].m = map[limKey]*list.Element{}
	}
	return l
}

// allow takes one request from ip's bucket.
func (l *ipLimiter) allow(ip netip.Addr, now time.Time) bool {
	return l.take(limKey{net: clientNet(ip)}, now)
}

// allowTorrent takes one announce from the bucket of ip and torrent ih.
func (l *ipLimiter) allowTorrent(ip netip.Addr, ih InfoHash, now time.Time) bool {
	return l.take(limKey{net: clientNet(ip), ih: ih}, now)
}

func (l *ipLimiter) take(k limKey, now time.Time) bool {
	sh := &l.shards[maphash.Comparable(l.seed, k)%limShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	el := sh.m[k]
	if el == nil {
		if len(sh.m) >= l.max {
			old := sh.lru.Back()
			e := old.Value.(*limEntry)
			if now.Sub(e.seen) < l.refill {
				l.evicted.Add(1)
			}
			delete(sh.m, e.key)
			sh.lru.Remove(old)
		}
		el = sh.lru.PushFront(&limEntry{key: k, lim: rate.NewLimiter(l.r, l.burst)})
		sh.m[k] = el
	} else {
		sh.lru.MoveToFront(el)
	}
	e := el.Value.(*limEntry)
	e.seen = now
	return e.lim.AllowN(now, 1)
}

// prune forgets entries whose bucket has refilled: a fresh bucket would
// answer the same.
func (l *ipLimiter) prune(now time.Time) {
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for el := sh.lru.Back(); el != nil; el = sh.lru.Back() {
			e := el.Value.(*limEntry)
			if now.Sub(e.seen) < l.refill {
				break
			}
			delete(sh.m, e.key)
			sh.lru.Remove(el)
		}
		sh.mu.Unlock()
	}
}
