package swarm

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

func TestOneSeederFourLeechers(t *testing.T) {
	const size = 4 << 20
	f := newFixture(t, 64<<10, piecetest.FileSpec{Path: "big.bin", Size: size})
	// The seeder's upload is limited, so leechers finish sooner by trading
	// with each other than by waiting for it.
	seedS, seeder := startSeeder(t, f, func(c *SessionConfig) { c.UploadLimit = 4 << 20 })

	var sessions []*Session
	for range 4 {
		sessions = append(sessions, newTestSession(t))
	}
	var leechers []*Torrent
	var dirs []string
	for i, s := range sessions {
		// Each leecher knows the seeder and the others, as a tracker
		// would have told it.
		peers := []netip.AddrPort{seedS.Addr()}
		for j, o := range sessions {
			if j != i {
				peers = append(peers, o.Addr())
			}
		}
		dir := t.TempDir()
		dirs = append(dirs, dir)
		leechers = append(leechers, addTorrent(t, s, f.m, dir, peers...))
	}
	for i, l := range leechers {
		waitComplete(t, l, 60*time.Second)
		sameContent(t, f, dirs[i])
	}
	// Totals are sampled once a second; wait for a sample after the end.
	deadline := time.Now().Add(5 * time.Second)
	for i, l := range leechers {
		for l.uploadedTotal.Load() == 0 && time.Now().Before(deadline) {
			waitTick(l)
		}
		if l.uploadedTotal.Load() == 0 {
			t.Errorf("leecher %d uploaded nothing to the others", i)
		}
	}
	waitTick(seeder)
	up := seeder.uploadedTotal.Load()
	t.Logf("seeder uploaded %.2f× the content; leechers uploaded %d %d %d %d", float64(up)/size,
		leechers[0].uploadedTotal.Load(), leechers[1].uploadedTotal.Load(), leechers[2].uploadedTotal.Load(), leechers[3].uploadedTotal.Load())
	if up >= 3*size {
		t.Fatalf("seeder uploaded %.2f× the content; the leechers did not share", float64(up)/size)
	}
}

// waitTick returns after the torrent's loop has run its next one-second
// tick (which samples totals), without guessing with a sleep.
func waitTick(tor *Torrent) {
	var at time.Time
	tor.do(func() { at = time.Now() })
	for {
		var last time.Time
		if !tor.do(func() { last = tor.Snapshot().At }) || last.After(at.Add(time.Second)) {
			return
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-tor.Done():
			return
		}
	}
}

func TestCorruptPeerIsBannedAndDownloadCompletes(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "data.bin", Size: 2 << 20})
	honestS, _ := startSeeder(t, f, func(c *SessionConfig) { c.UploadLimit = 1 << 20 })
	liar := newFakePeer(t, "127.0.0.2", f.m.InfoHash, f.m.Layout.NumPieces, garbageBlock)

	// TCP only: over uTP the TCP-only liar is reached after the uTP
	// timeout, by when the honest seeder may have sent everything.
	s := newTestSession(t, withoutUTP)
	dl := t.TempDir()
	tor := addTorrent(t, s, f.m, dl, liar.addr(), honestS.Addr())
	waitComplete(t, tor, 60*time.Second)
	sameContent(t, f, dl)
	snap := tor.Snapshot()
	if liar.requests.Load() == 0 || snap.HashFails == 0 {
		t.Fatalf("the liar was never asked (%d requests, %d hash failures): test proves nothing", liar.requests.Load(), snap.HashFails)
	}
	waitTick(tor)
	snap = tor.Snapshot()
	for _, p := range snap.Peers {
		if p.Addr == liar.addr().String() {
			t.Fatal("the liar is still connected")
		}
	}
	if snap.Banned != 1 {
		t.Fatalf("%d IPs banned, want the liar's alone", snap.Banned)
	}
}

func TestRestartDoesNotRedownloadVerifiedPieces(t *testing.T) {
	const size = 4 << 20
	f := newFixture(t, 64<<10, piecetest.FileSpec{Path: "movie.mkv", Size: size})
	seedS, _ := startSeeder(t, f, func(c *SessionConfig) { c.UploadLimit = 2 << 20 })

	dl, state := t.TempDir(), t.TempDir()
	start := func() (*Session, *Torrent) {
		s := newTestSession(t)
		cfg := DefaultTorrentConfig(dl)
		cfg.MaxPeersPerIP = 100
		cfg.StateDir, cfg.Peers, cfg.DisableTrackers = state, []netip.AddrPort{seedS.Addr()}, true
		tor, err := s.Add(f.m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s, tor
	}
	s1, tor1 := start()
	// Stop once about half is verified.
	for tor1.Snapshot().Have < f.m.Layout.NumPieces/2 {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-tor1.Completed():
			t.Fatal("finished before it could be interrupted; slow the seeder down")
		}
	}
	tor1.Stop()
	s1.Close()
	had := tor1.Snapshot().Have
	if had == f.m.Layout.NumPieces {
		t.Fatal("complete at stop")
	}
	s2, tor2 := start()
	defer s2.Close()
	waitComplete(t, tor2, 60*time.Second)
	sameContent(t, f, dl)
	waitTick(tor2)
	got := tor2.downloadedTotal.Load()
	missing := int64(f.m.Layout.NumPieces-had) * f.m.Layout.PieceLength
	if got > missing {
		t.Fatalf("restart downloaded %d bytes, but only %d were missing: verified pieces were fetched again", got, missing)
	}
	t.Logf("stopped with %d/%d pieces; the restart downloaded %d of %d missing bytes", had, f.m.Layout.NumPieces, got, missing)
}

func TestGarbagePeersAreDroppedAndCounted(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "x.bin", Size: 256 << 10})
	s, seeder := startSeeder(t, f)

	// send opens a connection, handshakes, sends payload and reads until
	// shoal hangs up (a reset is as good as a close here).
	send := func(k int, payload []byte) {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		hs := wire.Handshake{Reserved: wire.OurReserved(), InfoHash: f.m.InfoHash}
		copy(hs.PeerID[:], "-XX0001-garbagegarb")
		hs.PeerID[19] = byte(k)
		c.Write(hs.Append(nil))
		c.Write(payload)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("hostile message %d: shoal did not hang up", k)
		}
	}
	hostile := [][]byte{
		{0, 0, 0, 200, byte(wire.Bitfield), 1},                                                 // wrong bitfield size
		{0xff, 0xff, 0xff, 0xf0, byte(wire.Piece)},                                             // 4 GiB message
		wire.AppendRequest(nil, wire.Request, 0, 0, 1<<20),                                     // oversized request
		wire.AppendRequest(nil, wire.Request, 9999, 0, 16384),                                  // piece that does not exist
		append(wire.AppendSimple(nil, wire.HaveNone), wire.AppendSimple(nil, wire.HaveAll)...), // two bitfields
	}
	for k, h := range hostile {
		send(k, h)
	}
	var v int
	deadline := time.Now().Add(5 * time.Second)
	for v < len(hostile) && time.Now().Before(deadline) {
		waitTick(seeder)
		v = seeder.Snapshot().Violations
	}
	if v != len(hostile) {
		t.Fatalf("%d violations counted, want %d", v, len(hostile))
	}
	// And it still serves an honest peer.
	dl := t.TempDir()
	tor := addTorrent(t, newTestSession(t), f.m, dl, s.Addr())
	waitComplete(t, tor, 20*time.Second)
	sameContent(t, f, dl)
}
