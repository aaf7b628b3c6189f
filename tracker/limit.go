package tracker

import (
	"hash/maphash"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ipLimiter rate-limits requests per client network, or per client
// network and torrent. Its memory is fixed, and it fails open: when there
// is no room for a newcomer the bucket that is fullest is forgotten (a
// forgotten bucket is a full one, so forgetting one that has refilled
// loses nothing), and a client seen for the first time is never refused.
// A flood of addresses therefore costs the flooder its own buckets, while
// a client that has spent its allowance is the last one forgotten.
//
// Each bucket is a GCRA: one theoretical arrival time, equivalent to a
// token bucket of the same rate and burst (as golang.org/x/time/rate
// keeps) but 8 bytes with no allocation, which matters when every
// announce of a busy tracker is a new key. Buckets sit in a
// set-associative table under a seeded hash, so a client cannot aim its
// keys at one set, and a lookup touches one set of limWays slots.
type ipLimiter struct {
	interval  int64 // nanoseconds per request at the sustained rate
	tolerance int64 // how far ahead of now the arrival time may run: the burst
	sets      int   // per shard
	seed      maphash.Seed
	shards    [limShards]limShard
	// evicted counts buckets forgotten before they had refilled: the
	// table is under pressure, which an operator should see.
	evicted atomic.Int64
}

const (
	limShards = 64
	limWays   = 8
)

type limShard struct {
	mu    sync.Mutex // guards slots
	slots []limSlot  // sets*limWays, allocated on first use
}

// limKey is what one bucket limits: a client network and, for the
// per-torrent limit, an infohash (zero for the per-IP limit).
type limKey struct {
	net [16]byte
	ih  InfoHash
}

type limSlot struct {
	key  limKey
	used bool
	tat  int64 // theoretical arrival time, Unix nanoseconds
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

// newIPLimiter allows perSecond requests per key after a burst, keeping
// about entries keys.
func newIPLimiter(perSecond float64, burst, entries int) *ipLimiter {
	sat := func(f float64) int64 { return int64(min(f, math.MaxInt64/4)) }
	iv := sat(float64(time.Second) / perSecond)
	l := &ipLimiter{interval: iv, tolerance: sat(float64(iv) * float64(burst-1)),
		sets: max(1, entries/limShards/limWays), seed: maphash.MakeSeed()}
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
	var b [len(k.net) + len(k.ih)]byte
	copy(b[:], k.net[:])
	copy(b[len(k.net):], k.ih[:])
	h := maphash.Bytes(l.seed, b[:])
	sh := &l.shards[h%limShards]
	set := int(h / limShards % uint64(l.sets))
	t := now.UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.slots == nil {
		sh.slots = make([]limSlot, l.sets*limWays)
	}
	ways := sh.slots[set*limWays : (set+1)*limWays]
	victim := 0
	for i := range ways {
		w := &ways[i]
		if w.used && w.key == k {
			return l.gcra(w, t)
		}
		if v := &ways[victim]; v.used && (!w.used || w.tat < v.tat) {
			victim = i
		}
	}
	v := &ways[victim]
	if v.used && v.tat > t {
		l.evicted.Add(1)
	}
	*v = limSlot{key: k, used: true, tat: t}
	return l.gcra(v, t)
}

// gcra admits a request at t if the bucket's arrival time has not run
// more than the burst ahead of it.
func (l *ipLimiter) gcra(w *limSlot, t int64) bool {
	tat := max(w.tat, t)
	if tat-t > l.tolerance {
		return false
	}
	w.tat = tat + l.interval
	return true
}
