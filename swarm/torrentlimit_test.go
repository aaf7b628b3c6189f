package swarm

import (
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// TestPerTorrentRateLimits: a torrent's own limits hold its transfers
// below the (unlimited) session's, upload on the seeder and download on
// the leecher, and a change applies to running connections.
func TestPerTorrentRateLimits(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "lim.bin", Size: 1 << 20})
	seedS, seeder := startSeeder(t, f)
	const limit = 512 << 10
	// 1 MiB at 512 KiB/s takes about 2 s; unlimited on loopback, a few ms.
	const atLeast = 1200 * time.Millisecond

	seeder.SetRateLimits(0, limit)
	if d, u := seeder.RateLimits(); d != 0 || u != limit {
		t.Fatalf("limits %d/%d", d, u)
	}
	start := time.Now()
	waitComplete(t, addTorrent(t, newTestSession(t), f.m, t.TempDir(), seedS.Addr()), 20*time.Second)
	if d := time.Since(start); d < atLeast {
		t.Fatalf("uploaded 1 MiB in %v under a 512 KiB/s torrent limit", d)
	}

	seeder.SetRateLimits(0, 0)
	cfg := DefaultTorrentConfig(t.TempDir())
	cfg.Peers = append(cfg.Peers, seedS.Addr())
	cfg.MaxPeersPerIP, cfg.DisableTrackers = 100, true
	cfg.DownloadLimit = limit
	leech, err := newTestSession(t).Add(f.m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	waitComplete(t, leech, 20*time.Second)
	if d := time.Since(start); d < atLeast {
		t.Fatalf("downloaded 1 MiB in %v under a 512 KiB/s torrent limit", d)
	}
}
