package tracker

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ipLimiter rate-limits requests per client IP, in shards so busy IPs do
// not contend with each other. Idle entries are pruned, so a flood of
// spoofed addresses costs bounded memory.
type ipLimiter struct {
	r      rate.Limit
	burst  int
	shards [64]limShard
}

type limShard struct {
	mu sync.Mutex // guards m
	m  map[netip.Addr]*limEntry
}

type limEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxLimiterEntries bounds each shard; past it, unknown IPs are refused
// until the next prune.
const maxLimiterEntries = 1 << 16

func newIPLimiter(perSecond float64, burst int) *ipLimiter {
	l := &ipLimiter{r: rate.Limit(perSecond), burst: burst}
	for i := range l.shards {
		l.shards[i].m = map[netip.Addr]*limEntry{}
	}
	return l
}

func (l *ipLimiter) allow(ip netip.Addr, now time.Time) bool {
	b := ip.Unmap().As16()
	sh := &l.shards[(b[15]^b[13]^b[11])&63]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[ip]
	if e == nil {
		if len(sh.m) >= maxLimiterEntries {
			return false
		}
		e = &limEntry{lim: rate.NewLimiter(l.r, l.burst)}
		sh.m[ip] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}

// prune forgets IPs idle for ten minutes.
func (l *ipLimiter) prune(now time.Time) {
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for ip, e := range sh.m {
			if now.Sub(e.seen) > 10*time.Minute {
				delete(sh.m, ip)
			}
		}
		sh.mu.Unlock()
	}
}
