package swarm

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// The snapshot carries each partial peer's bitfield, in wire order, for
// the UI to draw under the availability row; seeds and empty peers cost
// nothing (their Progress says it all).
func TestSnapshotPeerBitfields(t *testing.T) {
	// 10 pieces: a partial peer with pieces 0, 3 and 9; a seed; a peer
	// with nothing.
	h := newHarness(t, harnessOpts{files: []piecetest.FileSpec{{Path: "b.bin", Size: 10 * wire.MaxBlock}}, pieceLen: wire.MaxBlock})
	partial := h.connect(peerOpts{})
	partial.send(wire.AppendPayload(nil, wire.Bitfield, 0, []byte{0x90, 0x40}))
	partial.drain()
	seed := h.connect(peerOpts{})
	seed.send(wire.AppendSimple(nil, wire.HaveAll))
	seed.drain()
	empty := h.connect(peerOpts{})
	empty.send(wire.AppendSimple(nil, wire.HaveNone))
	empty.drain()
	partial.send(wire.AppendIndex(nil, wire.Have, 5))
	partial.drain()

	snap := h.snapshot()
	if len(snap.Peers) != 3 {
		t.Fatalf("%d peers", len(snap.Peers))
	}
	for _, p := range snap.Peers {
		switch p.Addr {
		case partial.addr.String():
			if want := []byte{0x94, 0x40}; !bytes.Equal(p.Have, want) {
				t.Errorf("partial peer: have %08b, want %08b", p.Have, want)
			}
		case seed.addr.String(), empty.addr.String():
			if p.Have != nil {
				t.Errorf("%s: a bitfield %08b where Progress %.0f says it", p.Addr, p.Have, p.Progress)
			}
		}
	}
	// A snapshot is a copy: later haves do not change a published one.
	partial.send(wire.AppendIndex(nil, wire.Have, 1))
	partial.drain()
	h.snapshot()
	for _, p := range snap.Peers {
		if p.Addr == partial.addr.String() && p.Have[0] != 0x94 {
			t.Errorf("published snapshot changed: %08b", p.Have)
		}
	}
}

// The snapshot says whether the torrent uses a DHT, so the UI can say
// "off" rather than "off or still joining".
func TestSnapshotSaysWhetherTheDHTIsOn(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	if s := h.snapshot(); s.DHT {
		t.Errorf("no DHT in the session, but the snapshot says DHT on")
	}
	on := newHarness(t, harnessOpts{session: func(c *SessionConfig) {
		c.DHT = &DHTConfig{Addr: "127.0.0.1:0", Bootstrap: []string{}}
	}})
	if s := on.snapshot(); !s.DHT {
		t.Errorf("the session runs a DHT, but the snapshot says off")
	}
}

// -v logs the name a peer gives itself, which the UI shows, not only the
// peer ID's guess.
func TestLogSaysTheClientNameTheUIShows(t *testing.T) {
	var buf lockedLog
	h := newHarness(t, harnessOpts{session: func(c *SessionConfig) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}})
	p := h.connect(peerOpts{})
	hs := wire.ExtHandshake{V: "Tixati 3.19", M: map[string]int{}}
	p.sendExt(0, hs.Encode())
	p.drain()
	var shown string
	for _, ps := range h.snapshot().Peers {
		shown = ps.Client
	}
	if shown != "Tixati 3.19" || !strings.Contains(buf.String(), `msg="peer client"`) || !strings.Contains(buf.String(), `client="Tixati 3.19"`) {
		t.Errorf("UI shows %q; log:\n%s", shown, buf.String())
	}
}

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// While its data is checked a torrent shows all of it left: a zero Left
// made the UI show a full size done beside 0%.
func TestCheckingSnapshotHasEverythingLeft(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "c.bin", Size: 100_000})
	tor := &Torrent{m: f.m}
	tor.left.Store(f.m.Layout.DataTotal)
	tor.publishChecking()
	if s := tor.Snapshot(); s.State != StateChecking || s.Left != s.Size || s.Size != 100_000 {
		t.Fatalf("checking snapshot: state %s, left %d of %d", s.State, s.Left, s.Size)
	}
}
