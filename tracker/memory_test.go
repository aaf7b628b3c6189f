package tracker_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/tracker"
	"github.com/shoal-torrent/shoal/tracker/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(testing.TB) tracker.PeerStore { return tracker.NewMemoryStore(tracker.DefaultMemoryConfig()) })
}

func BenchmarkMemoryStore(b *testing.B) {
	storetest.Bench(b, tracker.NewMemoryStore(tracker.DefaultMemoryConfig()))
}

// TestTrackerMemoryStoreEvictsAtCaps: at its caps the store makes room
// (the idlest one-peer swarm, a full swarm's oldest peer) instead of
// refusing, and its counts stay exact.
func TestTrackerMemoryStoreEvictsAtCaps(t *testing.T) {
	s := tracker.NewMemoryStore(tracker.MemoryConfig{MaxTorrents: 2, MaxPeersPerTorrent: 2, Shards: 1})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	req := func(h, p byte, at int) tracker.AnnounceResponse {
		t.Helper()
		var r tracker.AnnounceRequest
		r.InfoHash[0], r.Peer.ID[0] = h, p
		r.Peer.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, h, p}), 1)
		r.TTL, r.Now, r.NumWant = time.Hour, t0.Add(time.Duration(at)*time.Second), 10
		resp, err := s.Announce(context.Background(), &r)
		if err != nil {
			t.Fatalf("torrent %d peer %d refused: %v", h, p, err)
		}
		return resp
	}
	req(1, 1, 0)
	req(1, 2, 1)
	// A third peer of a full swarm pushes out the oldest, peer 1.
	if r := req(1, 3, 2); r.Leechers != 2 || len(r.Peers) != 1 || r.Peers[0].ID[0] != 2 {
		t.Fatalf("full swarm: %+v", r)
	}
	req(2, 1, 3)
	req(3, 1, 4) // a third torrent: swarm 2, one peer, goes; swarm 1 (two) stays
	sc, _ := s.Scrape(context.Background(), []tracker.InfoHash{{1}, {2}, {3}}, t0.Add(5*time.Second))
	if sc[0].Leechers != 2 || sc[1].Leechers != 0 || sc[2].Leechers != 1 {
		t.Fatalf("after evicting a swarm: %+v", sc)
	}
	tot, _ := s.Totals(context.Background(), t0)
	if tot.Torrents != 2 || tot.Leechers != 3 {
		t.Fatalf("totals %+v after evictions", tot)
	}
	if e := s.Evictions(); e.Swarms != 1 || e.Peers != 1 {
		t.Fatalf("evictions %+v", e)
	}
}
