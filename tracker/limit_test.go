package tracker

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func limiterEntries(l *ipLimiter) int {
	n := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		for _, w := range l.shards[i].slots {
			if w.used {
				n++
			}
		}
		l.shards[i].mu.Unlock()
	}
	return n
}

// TestTrackerLimiterFailsOpen: 65,536 addresses chosen to land in one
// shard (as any IPv6 host can choose from its /64, or a client behind a
// trusted proxy can claim) must not lock out an address never seen
// before, and the limiter's memory stays bounded.
func TestTrackerLimiterFailsOpen(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AnnounceRate, cfg.AnnounceBurst = 1, 5
	cfg.RateLimitEntries = limShards * 256 // small, so the flood overflows every shard
	s, err := New(cfg, NewMemoryStore(DefaultMemoryConfig()))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// A client that spent its burst stays limited while the flood goes
	// on: eviction takes the fullest buckets, not the spent.
	busy := netip.AddrFrom4([4]byte{192, 0, 2, 7})
	for range cfg.AnnounceBurst {
		s.limiter.allow(busy, now)
	}
	for i := range 1 << 16 {
		// Octets 2 and 4 fixed: one shard under the old byte-picking.
		s.limiter.allow(netip.AddrFrom4([4]byte{byte(i >> 8), 0, byte(i), 1}), now)
		if i%1024 == 0 && s.limiter.allow(busy, now) {
			t.Fatalf("the flood reset a limited client's bucket after %d addresses", i)
		}
	}
	newcomer := netip.AddrFrom4([4]byte{198, 2, 51, 3})
	if !s.limiter.allow(newcomer, now) {
		t.Fatal("a client never seen before was refused because the limiter is full")
	}
	if s.limiter.evicted.Load() == 0 {
		t.Fatal("the flood evicted nothing: the test does not reach the bound")
	}
	if n := limiterEntries(s.limiter); n > cfg.RateLimitEntries {
		t.Fatalf("limiter holds %d entries", n)
	}
}

// TestTrackerLimitsIPv6ByPrefix: an IPv6 host owns its whole /64, so
// every address in it shares one bucket, over the real HTTP front-end.
func TestTrackerLimitsIPv6ByPrefix(t *testing.T) {
	s := startTracker(t, func(c *Config) { c.AnnounceRate, c.AnnounceBurst, c.TrustForwardedFor = 0.001, 2, true })
	ih := strings.Repeat("6", 20)
	c := &http.Client{}
	get := func(from string, i int) bool {
		req, _ := http.NewRequest("GET", announceURL(s, "/announce", ih, fmt.Sprintf("-AA0001-%012d", i), 6881, ""), nil)
		req.Header.Set("X-Forwarded-For", from)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return !strings.Contains(string(body), "failure reason")
	}
	for i, from := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"} {
		if !get(from, i) {
			t.Fatalf("announce %d from %s refused within the burst", i, from)
		}
	}
	if get("2001:db8:1:2:abcd::77", 2) {
		t.Fatal("a third address in the same /64 got a bucket of its own")
	}
	if !get("2001:db8:1:3::1", 3) {
		t.Fatal("the next /64 was refused")
	}
}

// TestTrackerLimiterRateAndBurst: a bucket admits its burst at once, then
// one request per interval, on a fake clock.
func TestTrackerLimiterRateAndBurst(t *testing.T) {
	l := newIPLimiter(2, 3, 1024) // 2/s after a burst of 3
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ip, ih := netip.MustParseAddr("192.0.2.1"), InfoHash{9}
	for i := range 3 {
		if !l.allowTorrent(ip, ih, now) {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if l.allowTorrent(ip, ih, now) {
		t.Fatal("a fourth request at once admitted")
	}
	if !l.allowTorrent(ip, InfoHash{8}, now) || !l.allow(ip, now) {
		t.Fatal("another torrent, or the per-IP key, shares the bucket")
	}
	if l.allowTorrent(ip, ih, now.Add(499*time.Millisecond)) {
		t.Fatal("admitted before the interval")
	}
	if !l.allowTorrent(ip, ih, now.Add(500*time.Millisecond)) {
		t.Fatal("refused after the interval")
	}
	if !l.allowTorrent(ip, ih, now.Add(time.Hour)) || !l.allowTorrent(ip, ih, now.Add(time.Hour)) || !l.allowTorrent(ip, ih, now.Add(time.Hour)) {
		t.Fatal("the burst did not refill after an idle hour")
	}
}

// BenchmarkTrackerLimiterNewKeys is the per-torrent limit's cost on a busy
// tracker, where nearly every announce is a key not seen within its window.
func BenchmarkTrackerLimiterNewKeys(b *testing.B) {
	l := newIPLimiter(1, 30, DefaultConfig().RateLimitEntries)
	now := time.Now()
	b.ReportAllocs()
	for i := range b.N {
		ih := InfoHash{byte(i), byte(i >> 8), byte(i >> 16)}
		l.allowTorrent(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), ih, now)
	}
}
