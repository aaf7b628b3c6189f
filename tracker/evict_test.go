package tracker

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTrackerFloodOfSwarmsEvictsInsteadOfRefusing: announces for 10 times
// as many random infohashes as the store may hold, over UDP, do not lock
// new torrents out: the newcomer is served, an established swarm
// survives, and /metrics counts the evictions.
func TestTrackerFloodOfSwarmsEvictsInsteadOfRefusing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HTTPAddr, cfg.UDPAddr = "127.0.0.1:0", "127.0.0.1:0"
	const maxTorrents = 64
	s, err := New(cfg, NewMemoryStore(MemoryConfig{MaxTorrents: maxTorrents, MaxPeersPerTorrent: 1000, Shards: 4}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	// An established swarm of 20 peers, in the shard the flood hits.
	big := "\x00\x00" + strings.Repeat("B", 18)
	for i := range 20 {
		HTTPGetBencode(t, announceURL(s, "/announce", big, fmt.Sprintf("-AA0001-big-%08d", i), 1000+i, "&event=started"))
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.UDPAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cid := udpConnect(t, c)
	for i := range 10 * maxTorrents {
		ih := fmt.Sprintf("\x00%c-flood-%011d", byte(i%4), i) // every shard
		r := udpExchange(t, c, udpAnnouncePacket(cid, ih, "-AA0001-flooder00000", 6881, 0, nil))
		if len(r) < 8 || binary.BigEndian.Uint32(r[:4]) != actionAnnounce {
			if i < maxTorrents/2 {
				t.Fatalf("flood announce %d refused before the cap: %q", i, r)
			}
		}
	}
	m := HTTPGetBencode(t, announceURL(s, "/announce", "a-newcomer-torrent!!", "-AA0001-newcomer0001", 7000, "&event=started"))
	if m["failure reason"] != nil {
		t.Fatalf("new torrent refused after the flood: %v", m["failure reason"])
	}
	m = HTTPGetBencode(t, announceURL(s, "/announce", big, "-AA0001-big-99999999", 7001, ""))
	if m["incomplete"] != int64(21) {
		t.Fatalf("the established swarm did not survive the flood: %v", m)
	}
	if st, _ := s.Stats(t.Context()); st.Torrents > maxTorrents {
		t.Fatalf("store holds %d swarms, cap %d", st.Torrents, maxTorrents)
	}
	resp, err := http.Get("http://" + s.HTTPAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mm := regexp.MustCompile(`shoal_tracker_evictions_total\{what="swarm"\} (\d+)`).FindSubmatch(body)
	if mm == nil {
		t.Fatal("/metrics does not count swarm evictions")
	}
	if n, _ := strconv.Atoi(string(mm[1])); n < 9*maxTorrents {
		t.Fatalf("%d swarm evictions counted for a flood of %d over a cap of %d", n, 10*maxTorrents, maxTorrents)
	}
}

func TestTrackerEvictionPolicy(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	for _, c := range []struct {
		name  string
		cands []swarmInfo
		want  int
	}{
		{"one", []swarmInfo{{peers: 50, last: ago(time.Second)}}, 0},
		{"smallest first", []swarmInfo{{peers: 3, last: ago(time.Hour)}, {peers: 1, last: ago(time.Second)}, {peers: 2}}, 1},
		{"then fewest downloads", []swarmInfo{{peers: 1, downloaded: 4, last: ago(time.Hour)}, {peers: 1, last: ago(time.Second)}}, 1},
		{"then idle longest", []swarmInfo{{peers: 1, last: ago(time.Minute)}, {peers: 1, last: ago(20 * time.Minute)}, {peers: 1, last: ago(5 * time.Minute)}}, 1},
		{"emptied swarm kept for its count", []swarmInfo{{peers: 1, last: ago(time.Hour)}, {peers: 0, downloaded: 9}}, 1},
	} {
		if got := evictionVictim(c.cands, now); got != c.want {
			t.Errorf("%s: evicts %d, want %d", c.name, got, c.want)
		}
	}
}
