package swarm

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"go.uber.org/goleak"

	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

func fetch(t *testing.T, s *Session, f *fixture, within time.Duration, peers ...netip.AddrPort) (*Torrent, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	m, found, err := s.FetchMetadata(ctx, MetadataRequest{InfoHash: f.m.InfoHash, Peers: peers})
	if err != nil {
		return nil, err
	}
	if m.InfoHash != f.m.InfoHash || m.Name != f.m.Name || len(found) == 0 {
		t.Fatalf("fetched %s %q from %v", m.InfoHash.HexString(), m.Name, found)
	}
	dl := t.TempDir()
	tor := addTorrent(t, s, m, dl, found...)
	waitComplete(t, tor, 30*time.Second)
	sameContent(t, f, dl)
	return tor, nil
}

func TestMagnetFromShoal(t *testing.T) {
	// Over 16 KiB of metadata, so it takes several ut_metadata pieces.
	f := newFixture(t, 16<<10, piecetest.FileSpec{Path: "mag/a.bin", Size: 20 << 20}, piecetest.FileSpec{Path: "mag/b.bin", Size: 100})
	if len(f.m.Meta.InfoBytes) <= 16<<10 {
		t.Fatalf("metadata of %d bytes fits one piece; the test would prove less", len(f.m.Meta.InfoBytes))
	}
	seedS, _ := startSeeder(t, f)
	if _, err := fetch(t, newTestSession(t), f, 20*time.Second, seedS.Addr()); err != nil {
		t.Fatal(err)
	}
}

func TestMagnetFromAnacrolix(t *testing.T) {
	f := newFixture(t, 64<<10, interopFiles...)
	cl := anacrolixClient(t, f.dir, true)
	at := anacrolixTorrent(t, cl, f)
	at.VerifyDataContext(context.Background())
	<-at.Complete().On()
	if _, err := fetch(t, newTestSession(t), f, 20*time.Second, anacrolixAddr(t, cl)); err != nil {
		t.Fatal(err)
	}
}

func TestAnacrolixMagnetFromShoal(t *testing.T) {
	f := newFixture(t, 64<<10, interopFiles...)
	s, _ := startSeeder(t, f)
	dl := t.TempDir()
	cl := anacrolixClient(t, dl, false)
	at, err := cl.AddMagnet(f.m.Magnet())
	if err != nil {
		t.Fatal(err)
	}
	at.AddPeers([]torrent.PeerInfo{{Addr: torrent.StringAddr(s.Addr().String()), Trusted: true}})
	select {
	case <-at.GotInfo():
	case <-time.After(20 * time.Second):
		t.Fatal("anacrolix did not get the metadata from shoal")
	}
	at.DownloadAll()
	select {
	case <-at.Complete().On():
	case <-time.After(30 * time.Second):
		t.Fatal("anacrolix did not complete")
	}
	cl.Close()
	sameContent(t, f, dl)
}

// metadataLiar answers the extension handshake and then serves metadata
// that lies in the way lie says.
func metadataLiar(t *testing.T, host string, ih [20]byte, info []byte, lie string) netip.AddrPort {
	return listenLoopback(t, host, func(c net.Conn) {
		defer c.Close()
		size := int64(len(info))
		if lie == "huge" {
			size = 1 << 40
		}
		ext := wire.ExtHandshake{M: map[string]int{"ut_metadata": 7}, MetadataSize: size}
		if !fakeHandshake(c, ih, wire.AppendPayload(nil, wire.Extended, 0, ext.Encode())) {
			return
		}
		r := wire.NewReader(c, 0)
		for {
			var m wire.Message
			if r.Read(&m, func(n int) []byte { return make([]byte, n) }) != nil {
				return
			}
			if m.ID != wire.Extended || m.ExtID != 7 {
				continue
			}
			req, err := wire.ParseMetadataMsg(m.Payload)
			if err != nil {
				return
			}
			off := req.Piece * wire.MetadataPieceSize
			data := append([]byte(nil), info[off:min(off+wire.MetadataPieceSize, len(info))]...)
			total := int64(len(info))
			switch lie {
			case "corrupt":
				data[0] ^= 0xff
			case "short":
				data = data[:len(data)/2]
			case "total":
				total++
			}
			c.Write(wire.AppendPayload(nil, wire.Extended, wire.ExtMetadata,
				wire.EncodeMetadataMsg(wire.MetadataMsg{Type: wire.MetadataData, Piece: req.Piece, TotalSize: total, Data: data})))
		}
	})
}

func TestMagnetRefusesLyingPeers(t *testing.T) {
	f := newFixture(t, 16<<10, piecetest.FileSpec{Path: "lie.bin", Size: 8 << 20})
	info := f.m.Meta.InfoBytes
	var liars []netip.AddrPort
	for i, lie := range []string{"corrupt", "short", "total", "huge"} {
		liars = append(liars, metadataLiar(t, "127.0.0."+string(rune('2'+i)), f.m.InfoHash, info, lie))
	}
	// Only liars: the fetch fails, with a reason.
	s := newTestSession(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	_, _, err := s.FetchMetadata(ctx, MetadataRequest{InfoHash: f.m.InfoHash, Peers: liars})
	cancel()
	if err == nil || !strings.Contains(err.Error(), "last peer") {
		t.Fatalf("fetch from liars only: %v", err)
	}
	// Liars and one honest seeder: the honest metadata wins.
	seedS, _ := startSeeder(t, f)
	if _, err := fetch(t, newTestSession(t), f, 20*time.Second, append(liars, seedS.Addr())...); err != nil {
		t.Fatal(err)
	}
}

// quietPeers are loopback listeners that go quiet at the step each is
// told: "tcp" accepts and says nothing, "handshake" completes the
// BitTorrent handshake and stops, "ext" also offers ut_metadata and then
// never answers a request. They count the connections open across all of
// them when they arrive.
type quietPeers struct {
	mu       sync.Mutex // guards accepted
	accepted []time.Time
}

func (q *quietPeers) listen(t *testing.T, ih [20]byte, quiet string, size int64) netip.AddrPort {
	t.Helper()
	return listenLoopback(t, "127.0.0.1", func(c net.Conn) {
		q.mu.Lock()
		q.accepted = append(q.accepted, time.Now())
		q.mu.Unlock()
		defer c.Close()
		switch quiet {
		case "handshake":
			fakeHandshake(c, ih, nil)
		case "ext":
			ext := wire.ExtHandshake{M: map[string]int{"ut_metadata": 3}, MetadataSize: size}
			fakeHandshake(c, ih, wire.AppendPayload(nil, wire.Extended, 0, ext.Encode()))
		}
		io.Copy(io.Discard, c) // until the fetcher hangs up
	})
}

// TestMagnetSilentPeersDoNotStarveTheSeeder: 21 peers that go quiet at
// each step of the exchange are listed before the one real seeder. The
// fetch asks a bounded number at once, gives up on silence quickly, gets
// the metadata from the seeder, and leaves no goroutine or connection
// behind.
func TestMagnetSilentPeersDoNotStarveTheSeeder(t *testing.T) {
	f := newFixture(t, 16<<10, piecetest.FileSpec{Path: "quiet.bin", Size: 4 << 20})
	var quiet quietPeers
	var peers []netip.AddrPort
	for i := range 21 {
		peers = append(peers, quiet.listen(t, f.m.InfoHash, []string{"tcp", "handshake", "ext"}[i%3], int64(len(f.m.Meta.InfoBytes))))
	}
	seedS, _ := startSeeder(t, f)
	peers = append(peers, seedS.Addr())
	s := newTestSession(t)
	before := goleak.IgnoreCurrent()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	const patience = time.Second
	m, found, err := s.FetchMetadata(ctx, MetadataRequest{InfoHash: f.m.InfoHash, Peers: peers, Patience: patience})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("fetch with silent peers first: %v (after %v)", err, took)
	}
	if m.InfoHash != f.m.InfoHash || !containsAddr(found, seedS.Addr()) {
		t.Fatalf("fetched %s, found %v", m.InfoHash.HexString(), found)
	}
	// The silent peers ahead of the seeder fill the workers at most
	// twice, and each is dropped after one patience of silence.
	if took > 3*patience {
		t.Fatalf("fetch took %v; silent peers held it up", took)
	}
	// Every worker is gone when FetchMetadata returns; the quiet peers'
	// handlers end only when the fetcher hangs up, so this also finds a
	// connection left open.
	if err := goleak.Find(before); err != nil {
		t.Fatal(err)
	}
	// No worker is free before the first patience runs out, so the peers
	// asked by then are those asked at once.
	if early := quiet.before(start.Add(patience * 9 / 10)); early != metadataParallel {
		t.Fatalf("%d silent peers were asked at once; the bound is %d", early, metadataParallel)
	}
}

// before counts the connections accepted before t.
func (q *quietPeers) before(t time.Time) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, at := range q.accepted {
		if at.Before(t) {
			n++
		}
	}
	return n
}

// TestMagnetFetchGivenUpLeavesNothing: a fetch whose context ends while
// peers sit silent in every step returns at once and leaves no goroutine
// behind (before, every peer found beyond the workers leaked one).
func TestMagnetFetchGivenUpLeavesNothing(t *testing.T) {
	ih := [20]byte{9, 9, 9}
	var quiet quietPeers
	var peers []netip.AddrPort
	for i := range 3 * metadataParallel {
		peers = append(peers, quiet.listen(t, ih, []string{"tcp", "handshake", "ext"}[i%3], 1000))
	}
	s := newTestSession(t)
	before := goleak.IgnoreCurrent()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := s.FetchMetadata(ctx, MetadataRequest{InfoHash: ih, Peers: peers})
	if err == nil {
		t.Fatal("metadata from silent peers")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("returned %v after its context ended", took)
	}
	if err := goleak.Find(before); err != nil {
		t.Fatal(err)
	}
}

func TestResolveUDPTracker(t *testing.T) {
	ctx := context.Background()
	for in, want := range map[string]string{
		"udp://localhost:6969/announce":        "udp://127.0.0.1:6969/announce",
		"udp://127.0.0.1:6969/announce":        "udp://127.0.0.1:6969/announce",
		"http://localhost:6969/announce":       "http://localhost:6969/announce",
		"udp://[::1]:6969/announce?key=abc123": "udp://[::1]:6969/announce?key=abc123",
	} {
		if got, err := resolveUDPTracker(ctx, in); err != nil || got != want {
			t.Errorf("%s: %s, %v; want %s", in, got, err, want)
		}
	}
	// A fetch that has ended does not wait on DNS.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := resolveUDPTracker(done, "udp://tracker.invalid:6969/announce"); err == nil {
		t.Error("resolved a name after the context ended")
	}
}
