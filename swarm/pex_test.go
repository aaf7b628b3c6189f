package swarm

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/swarm/wire"

	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// TestPexIntroducesPeers: A knows only B; B knows C; A learns C through
// B's PEX message and connects to it.
func TestPexIntroducesPeers(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "pex.bin", Size: 4 << 20})
	// B seeds slowly, so A and C are still downloading when they meet.
	sb, b := startSeeder(t, f, func(c *SessionConfig) { c.UploadLimit = 512 << 10 })
	sc, sa := newTestSession(t), newTestSession(t)
	addTorrent(t, sc, f.m, t.TempDir(), sb.Addr())
	// Wait until B has C, so B's first PEX to A names it.
	deadline := time.Now().Add(10 * time.Second)
	for len(b.Snapshot().Peers) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("C never connected to B")
		}
		waitTick(b)
	}
	a := addTorrent(t, sa, f.m, t.TempDir(), sb.Addr())
	var learned, connected bool
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && !connected; {
		waitTick(a)
		a.do(func() {
			l := a.state
			if k := l.known[sc.Addr()]; k != nil && k.source == "pex" {
				learned = true
			}
			_, connected = l.byPeer[sc.PeerID()]
		})
	}
	if !learned || !connected {
		t.Fatalf("A learned C through PEX: %v; connected to it: %v", learned, connected)
	}
}

// TestPrivateTorrentsStayOffPexAndDHT: BEP 27. A private torrent's peers
// get no ut_pex in our extension handshake and no port message, its PEX
// is ignored, and it never asks the DHT.
func TestPrivateTorrentsStayOffPexAndDHT(t *testing.T) {
	dir := t.TempDir()
	piecetest.WriteFiles(t, dir, []piecetest.FileSpec{{Path: "priv.bin", Size: 256 << 10}})
	m, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, "priv.bin"), Private: true, PieceLength: 32 << 10})
	if err != nil || !m.Private {
		t.Fatalf("private torrent: %v", err)
	}
	nodes := localDHT(t, 2)
	s := newTestSession(t, func(c *SessionConfig) { c.DHT = &DHTConfig{Bootstrap: []string{nodes[0].Addr().String()}} })
	tor := addTorrent(t, s, m, dir)
	waitComplete(t, tor, 10*time.Second)

	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hs := wire.Handshake{Reserved: wire.OurReserved(), InfoHash: m.InfoHash}
	copy(hs.PeerID[:], "-XX0001-privateprivat")
	ext := wire.ExtHandshake{M: map[string]int{"ut_pex": 1}}
	c.Write(wire.AppendPayload(hs.Append(nil), wire.Extended, 0, ext.Encode()))
	var theirs wire.Handshake
	if wire.ReadHandshakeStart(c, &theirs) != nil || wire.ReadPeerID(c, &theirs) != nil {
		t.Fatal("no handshake")
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	r := wire.NewReader(c, m.Layout.NumPieces)
	sawExt := false
	for {
		var msg wire.Message
		if r.Read(&msg, func(n int) []byte { return make([]byte, n) }) != nil {
			break // the deadline: everything shoal had to say was said
		}
		switch {
		case msg.ID == wire.Port:
			t.Fatal("a private torrent sent a DHT port message")
		case msg.ID == wire.Extended && msg.ExtID == 0:
			h, err := wire.ParseExtHandshake(msg.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := h.M["ut_pex"]; ok {
				t.Fatal("a private torrent offered PEX")
			}
			sawExt = true
		case msg.ID == wire.Extended:
			t.Fatalf("a private torrent sent extension message %d", msg.ExtID)
		}
	}
	if !sawExt {
		t.Fatal("no extension handshake to check")
	}
	if s.DHT().Stats().SuccessfulOutboundAnnouncePeerQueries != 0 {
		t.Fatal("a private torrent was announced in the DHT")
	}
	if snap := tor.Snapshot(); !snap.Private || snap.DHTNodes != 0 {
		t.Fatalf("snapshot: private %v, DHT nodes %d", snap.Private, snap.DHTNodes)
	}
}
