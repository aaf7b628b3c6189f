package swarm

import (
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// Web seed downloads count against the rate limits as peers' do: the
// torrent's own, and the session's (--down-limit). Measured over bytes,
// not time: what arrived within the window is at most the cap times the
// time taken plus the limiter's burst and one block per worker.
func TestWebSeedRateLimits(t *testing.T) {
	const limit = 256 << 10
	const window = 1500 * time.Millisecond
	for _, tc := range []struct {
		name    string
		torrent int64
		session int64
	}{
		{"torrent limit", limit, 0},
		{"session limit", 0, limit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 256<<10, piecetest.FileSpec{Path: "capped.bin", Size: 6 << 20})
			srv := newWebServer(t, f, nil)
			m := *f.m
			m.WebSeeds = []string{srv.URL + "/"}
			s := newTestSession(t, func(c *SessionConfig) { c.DownloadLimit = tc.session })
			cfg := DefaultTorrentConfig(t.TempDir())
			cfg.DisableTrackers = true
			cfg.DownloadLimit = tc.torrent
			cfg.WebSeeds.Concurrency = 4
			start := time.Now()
			tor, err := s.Add(&m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			snap := waitFor(t, tor, 10*time.Second, "the end of the window", func(*Snapshot) bool { return time.Since(start) >= window })
			took := time.Since(start)
			p := webPeer(snap)
			if p == nil {
				t.Fatal("no web seed in the snapshot")
			}
			bound := int64(float64(limit)*took.Seconds()) + max(limit/10, 16<<10) + int64(cfg.WebSeeds.Concurrency)*(16<<10)
			t.Logf("%d bytes from the web seed in %v (bound %d)", p.Downloaded, took, bound)
			if p.Downloaded > bound || p.Downloaded == 0 {
				t.Fatalf("%d bytes from the web seed in %v: over the cap of %d B/s (bound %d) or none", p.Downloaded, took, limit, bound)
			}
		})
	}
}

// A block waiting for the rate limit is not the server stalling: with a
// stall timeout shorter than the waits, and a third failure in a row
// dropping the web seed, a capped download still completes from it.
func TestWebSeedLimitIsNoStall(t *testing.T) {
	f := newFixture(t, 64<<10, piecetest.FileSpec{Path: "slow.bin", Size: 128 << 10})
	srv := newWebServer(t, f, nil)
	tor, dir := webLeecher(t, f, []string{srv.URL + "/"}, func(c *TorrentConfig) {
		c.DownloadLimit = 64 << 10 // a block each 250 ms, each worker's every 500 ms
		c.WebSeeds.Concurrency = 2
		c.WebSeeds.StallTimeout = 300 * time.Millisecond
		c.WebSeeds.MaxFailures = 2 // a slow answer on a busy machine is not the point
	})
	waitComplete(t, tor, 10*time.Second)
	sameContent(t, f, dir)
}
