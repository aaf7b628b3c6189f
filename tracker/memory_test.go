package tracker_test

import (
	"testing"

	"github.com/shoal-torrent/shoal/tracker"
	"github.com/shoal-torrent/shoal/tracker/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(testing.TB) tracker.PeerStore { return tracker.NewMemoryStore(tracker.DefaultMemoryConfig()) })
}

func TestMemoryStoreCompactConformance(t *testing.T) {
	storetest.RunCompact(t, func(testing.TB) tracker.PeerStore { return tracker.NewMemoryStore(tracker.DefaultMemoryConfig()) })
}

func BenchmarkMemoryStore(b *testing.B) {
	storetest.Bench(b, tracker.NewMemoryStore(tracker.DefaultMemoryConfig()))
}

// TestTrackerMemoryStoreEvictsAtCaps: at its caps the store makes room
// instead of refusing (one shard, so the cap is exact).
func TestTrackerMemoryStoreEvictsAtCaps(t *testing.T) {
	storetest.RunCaps(t, func(_ testing.TB, torrents, peers int) storetest.EvictingStore {
		return tracker.NewMemoryStore(tracker.MemoryConfig{MaxTorrents: torrents, MaxPeersPerTorrent: peers, Shards: 1})
	})
}
