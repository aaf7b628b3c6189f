package swarm

import (
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// TestPexIntroducesPeers: A knows only B; B knows C; A learns C through
// B's PEX message and connects to it.
func TestPexIntroducesPeers(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "pex.bin", Size: 4 << 20})
	// B seeds slowly, so A and C are still downloading when they meet.
	sb := newTestSession(t, func(c *SessionConfig) { c.UploadLimit = 512 << 10 })
	b := addTorrent(t, sb, f.m, f.dir)
	waitComplete(t, b, 10*time.Second)
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
