package tracker_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/tracker"
	"github.com/shoal-torrent/shoal/tracker/storetest"
)

// redisURL starts a private redis-server for the test and returns its URL.
// Without the binary the test is skipped with a message, unless
// SHOAL_REQUIRE_REDIS is set (CI sets it): there it must run.
func redisURL(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("SHOAL_REQUIRE_REDIS") != "" {
			t.Fatal("redis-server is required (SHOAL_REQUIRE_REDIS is set) but not installed")
		}
		t.Skip("redis-server not installed: skipping the Redis store tests (apt-get install redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	// Wait until it answers: a dial loop bounded by a deadline, each try
	// an event (a refused or accepted connection), not a guess.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newRedisStore(t testing.TB, url, prefix string) *tracker.RedisStore {
	s, err := tracker.NewRedisStore(context.Background(), tracker.RedisConfig{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRedisStoreConformance(t *testing.T) {
	url := redisURL(t)
	storetest.Run(t, func(t testing.TB) tracker.PeerStore { return newRedisStore(t, url, tracker.RandomPrefix()) })
}

func BenchmarkRedisStore(b *testing.B) {
	storetest.Bench(b, newRedisStore(b, redisURL(b), tracker.RandomPrefix()))
}

// TestTwoTrackersShareRedis runs two tracker servers on one Redis: a peer
// announced to one is handed out by the other.
func TestTwoTrackersShareRedis(t *testing.T) {
	url := redisURL(t)
	prefix := tracker.RandomPrefix()
	var servers []*tracker.Server
	for range 2 {
		cfg := tracker.DefaultConfig()
		cfg.HTTPAddr, cfg.UDPAddr = "127.0.0.1:0", ""
		s, err := tracker.New(cfg, newRedisStore(t, url, prefix))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		servers = append(servers, s)
	}
	hash := "01234567890123456789"
	get := func(s *tracker.Server, peer string, port int) map[string]any {
		return tracker.HTTPGetBencode(t, fmt.Sprintf("http://%s/announce?info_hash=%s&peer_id=%s&port=%d&left=5", s.HTTPAddr(), hash, peer, port))
	}
	get(servers[0], "-AA0001-aaaaaaaaaaaa", 4001)
	m := get(servers[1], "-AA0001-bbbbbbbbbbbb", 4002)
	if peers, _ := m["peers"].(string); len(peers) != 6 || m["incomplete"] != int64(2) {
		t.Fatalf("second tracker did not see the first one's peer: %v", m)
	}
}

// TestTrackerRedisStoreEvictsAtCaps: a full Redis swarm makes room for a
// new peer by dropping its oldest, and a flood of one-peer swarms past
// the cap evicts swarms, not the newcomer or an established swarm.
func TestTrackerRedisStoreEvictsAtCaps(t *testing.T) {
	url := redisURL(t)
	storetest.RunCaps(t, func(t testing.TB, torrents, peers int) storetest.EvictingStore {
		s, err := tracker.NewRedisStore(context.Background(), tracker.RedisConfig{URL: url, Prefix: tracker.RandomPrefix(),
			MaxPeersPerTorrent: peers, MaxTorrents: torrents})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestTrackerRedisSweepLeecherOnlySwarm: the sweep empties a swarm with no
// seeders too (Lua's -0 is not an integer to HINCRBY, which aborted it).
func TestTrackerRedisSweepLeecherOnlySwarm(t *testing.T) {
	s := newRedisStore(t, redisURL(t), tracker.RandomPrefix())
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var r tracker.AnnounceRequest
	r.InfoHash[0], r.Peer.ID[0] = 1, 1
	r.Peer.Addr = netip.MustParseAddrPort("10.0.0.1:1")
	r.TTL, r.Now = time.Minute, t0
	if _, err := s.Announce(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	s.Sweep(later)
	if tot, err := s.Totals(context.Background(), later); err != nil || tot.Leechers != 0 {
		t.Fatalf("totals %+v after sweeping an expired leecher (%v)", tot, err)
	}
}
