package tracker_test

import (
	"context"
	"errors"
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

func TestMemoryStoreCaps(t *testing.T) {
	s := tracker.NewMemoryStore(tracker.MemoryConfig{MaxTorrents: 2, MaxPeersPerTorrent: 2, Shards: 4})
	now := time.Now()
	req := func(h byte, p byte) error {
		var r tracker.AnnounceRequest
		r.InfoHash[0], r.Peer.ID[0] = h, p
		r.Peer.Addr = netip.MustParseAddrPort("10.0.0.1:1")
		r.TTL, r.Now, r.NumWant = time.Minute, now, 10
		_, err := s.Announce(context.Background(), &r)
		return err
	}
	for _, c := range []struct {
		h, p byte
		full bool
	}{{1, 1, false}, {1, 2, false}, {1, 3, true}, {2, 1, false}, {3, 1, true}, {1, 1, false}} {
		if err := req(c.h, c.p); errors.Is(err, tracker.ErrFull) != c.full {
			t.Fatalf("torrent %d peer %d: %v", c.h, c.p, err)
		}
	}
}
