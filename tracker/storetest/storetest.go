// Package storetest is the conformance suite for tracker.PeerStore
// backends, and benchmarks they share. Every backend runs it, so the
// in-memory and Redis stores behave the same to clients.
package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/tracker"
)

// Factory returns an empty store.
type Factory func(t testing.TB) tracker.PeerStore

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const ttl = 30 * time.Minute

func ih(n int) tracker.InfoHash {
	var h tracker.InfoHash
	copy(h[:], fmt.Sprintf("infohash-%011d", n))
	return h
}

func peer(n int, seed bool) tracker.Peer {
	var id tracker.PeerID
	copy(id[:], fmt.Sprintf("-XX0001-%012d", n))
	return tracker.Peer{ID: id, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)}), 6881), Seed: seed}
}

func peer6(n int, seed bool) tracker.Peer {
	p := peer(n, seed)
	p.Addr = netip.MustParseAddrPort(fmt.Sprintf("[2001:db8::%x]:6881", n))
	return p
}

func announce(t testing.TB, s tracker.PeerStore, h tracker.InfoHash, p tracker.Peer, ev tracker.Event, want int, now time.Time) tracker.AnnounceResponse {
	t.Helper()
	r, err := s.Announce(context.Background(), &tracker.AnnounceRequest{InfoHash: h, Peer: p, Event: ev, NumWant: want, TTL: ttl, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func counts(t testing.TB, r tracker.AnnounceResponse, seeds, leechers, downloaded int) {
	t.Helper()
	if r.Seeders != seeds || r.Leechers != leechers || r.Downloaded != downloaded {
		t.Fatalf("counts %d/%d/%d, want %d seeders, %d leechers, %d downloaded", r.Seeders, r.Leechers, r.Downloaded, seeds, leechers, downloaded)
	}
}

// Run runs the conformance suite.
func Run(t *testing.T, newStore Factory) {
	t.Run("PeersFindEachOther", func(t *testing.T) {
		s := newStore(t)
		a, b := peer(1, true), peer(2, false)
		r := announce(t, s, ih(1), a, tracker.EventStarted, 50, t0)
		if len(r.Peers) != 0 {
			t.Fatalf("first peer told about %v", r.Peers)
		}
		r = announce(t, s, ih(1), b, tracker.EventStarted, 50, t0)
		if len(r.Peers) != 1 || r.Peers[0] != a {
			t.Fatalf("second peer got %v, want the first", r.Peers)
		}
		counts(t, r, 1, 1, 0)
		// Re-announcing is not a new peer, and nobody hears of itself.
		r = announce(t, s, ih(1), b, tracker.EventNone, 50, t0.Add(time.Minute))
		counts(t, r, 1, 1, 0)
		for _, p := range r.Peers {
			if p.ID == b.ID {
				t.Fatal("peer told about itself")
			}
		}
	})
	t.Run("NumWantAndRandomSubset", func(t *testing.T) {
		s := newStore(t)
		for i := range 200 {
			announce(t, s, ih(2), peer(i, false), tracker.EventStarted, 0, t0)
		}
		seen := map[tracker.PeerID]bool{}
		for k := range 20 {
			r := announce(t, s, ih(2), peer(1000+k, false), tracker.EventStarted, 10, t0)
			if len(r.Peers) != 10 {
				t.Fatalf("numwant 10 gave %d peers", len(r.Peers))
			}
			for _, p := range r.Peers {
				seen[p.ID] = true
			}
		}
		if len(seen) < 60 {
			t.Fatalf("only %d distinct peers over 20 announces: not a random subset", len(seen))
		}
	})
	t.Run("SeedersGetLeechersFirst", func(t *testing.T) {
		s := newStore(t)
		for i := range 30 {
			announce(t, s, ih(3), peer(i, true), tracker.EventStarted, 0, t0)
		}
		for i := 30; i < 35; i++ {
			announce(t, s, ih(3), peer(i, false), tracker.EventStarted, 0, t0)
		}
		r := announce(t, s, ih(3), peer(99, true), tracker.EventStarted, 5, t0)
		for _, p := range r.Peers {
			if p.Seed {
				t.Fatalf("a seeder was sent seeder %v while leechers wait", p.Addr)
			}
		}
		if len(r.Peers) != 5 {
			t.Fatalf("%d peers", len(r.Peers))
		}
	})
	t.Run("FamiliesKeptApart", func(t *testing.T) {
		s := newStore(t)
		announce(t, s, ih(4), peer(1, true), tracker.EventStarted, 0, t0)
		r := announce(t, s, ih(4), peer6(2, false), tracker.EventStarted, 50, t0)
		if len(r.Peers) != 0 {
			t.Fatalf("IPv6 peer told about IPv4 peers %v", r.Peers)
		}
		r = announce(t, s, ih(4), peer6(3, false), tracker.EventStarted, 50, t0)
		if len(r.Peers) != 1 || !r.Peers[0].Addr.Addr().Is6() {
			t.Fatalf("IPv6 peer got %v", r.Peers)
		}
	})
	t.Run("StoppedAndCompletedKeepCountsExact", func(t *testing.T) {
		s := newStore(t)
		a, b := peer(1, false), peer(2, false)
		announce(t, s, ih(5), a, tracker.EventStarted, 0, t0)
		announce(t, s, ih(5), b, tracker.EventStarted, 0, t0)
		a.Seed = true
		counts(t, announce(t, s, ih(5), a, tracker.EventCompleted, 0, t0), 1, 1, 1)
		// A repeated completed event is not a second download.
		counts(t, announce(t, s, ih(5), a, tracker.EventCompleted, 0, t0), 1, 1, 1)
		counts(t, announce(t, s, ih(5), b, tracker.EventStopped, 0, t0), 1, 0, 1)
		counts(t, announce(t, s, ih(5), b, tracker.EventStopped, 0, t0), 1, 0, 1)
		sc, err := s.Scrape(context.Background(), []tracker.InfoHash{ih(5), ih(404)}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if sc[0] != (tracker.Scrape{Seeders: 1, Leechers: 0, Downloaded: 1}) || sc[1] != (tracker.Scrape{}) {
			t.Fatalf("scrape %+v", sc)
		}
	})
	t.Run("PeersExpire", func(t *testing.T) {
		s := newStore(t)
		announce(t, s, ih(6), peer(1, true), tracker.EventStarted, 0, t0)
		announce(t, s, ih(6), peer(2, false), tracker.EventStarted, 0, t0.Add(20*time.Minute))
		// At 40 min peer 1 (last seen at 0) is gone, peer 2 is not.
		r := announce(t, s, ih(6), peer(3, false), tracker.EventStarted, 50, t0.Add(40*time.Minute))
		counts(t, r, 0, 2, 0)
		if len(r.Peers) != 1 || r.Peers[0].ID != peer(2, false).ID {
			t.Fatalf("got %v after expiry", r.Peers)
		}
		sc, _ := s.Scrape(context.Background(), []tracker.InfoHash{ih(6)}, t0.Add(2*time.Hour))
		if sc[0].Seeders+sc[0].Leechers != 0 {
			t.Fatalf("scrape after everyone expired: %+v", sc[0])
		}
	})
	t.Run("Totals", func(t *testing.T) {
		s := newStore(t)
		announce(t, s, ih(7), peer(1, true), tracker.EventStarted, 0, t0)
		announce(t, s, ih(8), peer(2, false), tracker.EventStarted, 0, t0)
		announce(t, s, ih(8), peer(3, false), tracker.EventStarted, 0, t0)
		tot, err := s.Totals(context.Background(), t0)
		if err != nil {
			t.Fatal(err)
		}
		if tot.Torrents != 2 || tot.Seeders != 1 || tot.Leechers != 2 {
			t.Fatalf("totals %+v", tot)
		}
	})
	t.Run("ConcurrentAnnounces", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 100 {
					announce(t, s, ih(9+i%3), peer(g*1000+i, i%2 == 0), tracker.EventStarted, 20, t0)
				}
			}()
		}
		wg.Wait()
		tot, _ := s.Totals(context.Background(), t0)
		if tot.Seeders+tot.Leechers != 800 {
			t.Fatalf("%d peers after 800 distinct announces", tot.Seeders+tot.Leechers)
		}
	})
}

// Bench measures announces per second on a store: many torrents, peers
// re-announcing, from several goroutines.
// EvictingStore is a store that evicts at its caps and counts it.
type EvictingStore interface {
	tracker.PeerStore
	tracker.EvictionCounter
}

// CappedFactory returns an empty store holding at most maxTorrents swarms
// of at most maxPeers peers each.
type CappedFactory func(t testing.TB, maxTorrents, maxPeers int) EvictingStore

// RunCaps checks what a store does at its caps: a full swarm makes room
// for a new peer by dropping its oldest, and a flood of one-peer swarms
// past the swarm cap evicts swarms, never the newcomer or an established
// swarm, with exact totals and every eviction counted.
func RunCaps(t *testing.T, newStore CappedFactory) {
	s := newStore(t, 8, 2)
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
	for i := range 80 {
		req(byte(10+i), 1, 3+i)
	}
	if r := req(200, 1, 100); r.Leechers != 1 {
		t.Fatalf("a newcomer after the flood: %+v", r)
	}
	if r := req(1, 4, 101); r.Leechers != 2 {
		t.Fatalf("the established swarm was evicted: %+v", r)
	}
	tot, err := s.Totals(context.Background(), t0.Add(101*time.Second))
	if err != nil || tot.Torrents > 8 || tot.Leechers != tot.Torrents+1 {
		t.Fatalf("totals %+v after the flood (%v)", tot, err)
	}
	if e := s.Evictions(); e.Swarms < 72 || e.Peers != 2 {
		t.Fatalf("evictions %+v", e)
	}
}

func Bench(b *testing.B, s tracker.PeerStore) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			announce(b, s, ih(i%1000), peer(i%5000, i%3 == 0), tracker.EventNone, 50, t0)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "announces/s")
}

// compactOf is peers in compact form: 6 bytes each, or 18 when v6.
func compactOf(peers []tracker.Peer, v6 bool) []byte {
	var b []byte
	for _, p := range peers {
		a := p.Addr.Addr().Unmap()
		if v6 {
			a16 := a.As16()
			b = append(b, a16[:]...)
		} else {
			a4 := a.As4()
			b = append(b, a4[:]...)
		}
		b = binary.BigEndian.AppendUint16(b, p.Addr.Port())
	}
	return b
}

// RunCompact checks a tracker.CompactAnnouncer's compact answers against
// its Announce: the same choice of peers, the same counts, cut at limit.
func RunCompact(t *testing.T, newStore Factory) {
	compactAnnounce := func(t *testing.T, s tracker.CompactAnnouncer, h tracker.InfoHash, p tracker.Peer, ev tracker.Event, want, limit int) (tracker.AnnounceResponse, []byte) {
		t.Helper()
		r, b, err := s.AnnounceCompact(context.Background(), &tracker.AnnounceRequest{InfoHash: h, Peer: p, Event: ev, NumWant: want, TTL: ttl, Now: t0}, []byte("prefix"), limit)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatalf("compact answer %q lost what dst held", b)
		}
		return r, b[len("prefix"):]
	}
	t.Run("SmallSwarmSamePeersAsAnnounce", func(t *testing.T) {
		st := newStore(t)
		defer st.Close()
		s := st.(tracker.CompactAnnouncer)
		h := ih(1)
		for i := range 7 {
			announce(t, st, h, peer(i, i < 3), tracker.EventStarted, 0, t0)
		}
		announce(t, st, h, peer6(100, true), tracker.EventStarted, 0, t0)
		announce(t, st, h, peer6(101, false), tracker.EventStarted, 0, t0)
		for _, c := range []struct {
			p            tracker.Peer
			v6           bool
			want, limit  int
			wantListed   int
			seeds, leech int
		}{
			{peer(5, false), false, 50, 50, 6, 3, 4}, // all seeds, then the other leechers
			{peer(1, true), false, 50, 50, 4, 3, 4},  // a seed gets leechers only
			{peer(5, false), false, 50, 2, 2, 3, 4},  // cut at limit
			{peer6(101, false), true, 50, 50, 1, 1, 1},
		} {
			want := announce(t, st, h, c.p, tracker.EventNone, c.want, t0)
			got, b := compactAnnounce(t, s, h, c.p, tracker.EventNone, c.want, c.limit)
			if got.Seeders != want.Seeders || got.Leechers != want.Leechers || got.Downloaded != want.Downloaded || got.Peers != nil {
				t.Fatalf("%v: compact counts %+v, Announce's %+v", c.p.Addr, got, want)
			}
			if want.Seeders != c.seeds || want.Leechers != c.leech || len(want.Peers) != c.wantListed && c.limit >= c.want {
				t.Fatalf("%v: Announce %+v", c.p.Addr, want)
			}
			if exp := compactOf(want.Peers[:min(len(want.Peers), c.limit)], c.v6); !bytes.Equal(b, exp) {
				t.Fatalf("%v: compact peers %x, Announce's %x", c.p.Addr, b, exp)
			}
		}
		r, b := compactAnnounce(t, s, h, peer(5, false), tracker.EventStopped, 50, 50)
		if len(b) != 0 || r.Leechers != 3 {
			t.Fatalf("a stopped peer was answered %x, %+v", b, r)
		}
	})
	t.Run("LargeSwarmDistinctOthers", func(t *testing.T) {
		st := newStore(t)
		defer st.Close()
		s := st.(tracker.CompactAnnouncer)
		h := ih(2)
		listed := map[string]bool{}
		for i := range 100 {
			p := peer(i, i%3 == 0)
			announce(t, st, h, p, tracker.EventStarted, 0, t0)
			listed[string(compactOf([]tracker.Peer{p}, false))] = true
		}
		self := peer(50, false)
		for range 20 {
			_, b := compactAnnounce(t, s, h, self, tracker.EventNone, 30, 1000)
			if len(b) != 30*6 {
				t.Fatalf("%d bytes of peers for numwant 30", len(b))
			}
			seen := map[string]bool{}
			for i := 0; i < len(b); i += 6 {
				e := string(b[i : i+6])
				if !listed[e] || seen[e] || e == string(compactOf([]tracker.Peer{self}, false)) {
					t.Fatalf("peer %x: listed %v, repeated %v", e, listed[e], seen[e])
				}
				seen[e] = true
			}
		}
	})
}
