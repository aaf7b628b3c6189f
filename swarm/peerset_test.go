package swarm

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

func TestIdleSquattersAreEvictedForAnHonestPeer(t *testing.T) {
	h := newHarness(t, harnessOpts{seed: true, cfg: func(c *TorrentConfig) { c.MaxPeers = 8 }})
	var squatters []*pipePeer
	for range 8 {
		p := h.connect(peerOpts{})
		p.send(wire.AppendKeepAlive(nil))
		squatters = append(squatters, p)
	}
	h.tick(time.Second)
	honest := h.connect(peerOpts{})
	honest.send(wire.AppendSimple(nil, wire.Interested))
	honest.expectID(wire.Unchoke) // a free upload slot, at once
	if !honest.connected() {
		t.Fatal("the honest peer was turned away")
	}
	gone := 0
	for _, p := range squatters {
		if !p.connected() {
			gone++
		}
	}
	if gone != 1 {
		t.Fatalf("%d squatters evicted, want 1", gone)
	}
	// An interested peer is never evicted, however many knock.
	for range 10 {
		h.connect(peerOpts{})
	}
	if !honest.connected() {
		t.Fatal("a useful peer was evicted")
	}
}

func TestConnectionsPerIPAreCapped(t *testing.T) {
	h := newHarness(t, harnessOpts{seed: true, cfg: func(c *TorrentConfig) { c.MaxPeersPerIP = 2 }})
	a := h.connect(peerOpts{ip: "127.0.3.1"})
	b := h.connect(peerOpts{ip: "127.0.3.1"})
	c := h.connect(peerOpts{ip: "127.0.3.1"})
	c.waitGone()
	if !a.connected() || !b.connected() {
		t.Fatal("connections under the per-IP cap were closed")
	}
	if d := h.connect(peerOpts{ip: "127.0.3.2"}); !d.connected() {
		t.Fatal("another IP was refused")
	}
}

func TestPexFloodKeepsKnownPeersBounded(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	p := h.connect(peerOpts{})
	p.sendExt(0, extHandshake(t, map[string]int{"ut_pex": 1}))
	// 100,000 addresses in 2,000 messages.
	n := 0
	for range 2000 {
		var added []netip.AddrPort
		for range 50 {
			n++
			added = append(added, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 9, byte(n >> 8), byte(n)}), uint16(1000+n%60000)))
		}
		p.sendExt(wire.ExtPex, wire.EncodePex(added, make([]byte, len(added)), nil))
	}
	p.drain()
	// A tracker's peers arrive later and are still kept: several sources
	// beat one peer's say-so.
	tracked := netip.MustParseAddrPort("127.0.0.9:7000")
	h.tor.addPeers([]netip.AddrPort{tracked}, "tracker")
	h.do(func(l *loop) {
		if len(l.known) > maxKnown {
			t.Errorf("%d known peers kept, cap %d", len(l.known), maxKnown)
		}
		if l.dialing > maxDialing {
			t.Errorf("%d dials in flight, cap %d", l.dialing, maxDialing)
		}
	})
	// The batch channel is buffered: the loop may run a command before
	// it takes the batch, so look again while the batch is still queued.
	for queued := true; queued; {
		h.do(func(l *loop) {
			queued = len(h.tor.peers) > 0
			if !queued && l.known[tracked] == nil {
				t.Error("a tracker's peer was not kept once PEX had filled the list")
			}
		})
	}
}

func TestSimultaneousDialsKeepTheSameConnectionOnBothSides(t *testing.T) {
	for _, lower := range []bool{true, false} {
		h := newHarness(t, harnessOpts{seed: true})
		// Ours starts "-SH": all zeros sorts below it, all 0xff above.
		var id [20]byte
		if !lower {
			for i := range id {
				id[i] = 0xff
			}
		}
		in, out := true, false
		incoming := h.connect(peerOpts{ip: "127.0.6.1", peerID: &id, incoming: &in})
		outgoing := h.connect(peerOpts{ip: "127.0.6.1", peerID: &id, incoming: &out})
		// The side with the lower ID keeps the connection it dialled.
		keep, lose := outgoing, incoming
		if lower {
			keep, lose = incoming, outgoing
		}
		lose.waitGone()
		if !keep.connected() {
			t.Fatalf("peer ID lower than ours %v: the preferred connection was closed", lower)
		}
	}
}

func TestAPeerIDClaimedFromAnotherAddressReplacesNobody(t *testing.T) {
	h := newHarness(t, harnessOpts{seed: true})
	var id [20]byte // sorts below ours: an incoming duplicate would win
	out, in := false, true
	honest := h.connect(peerOpts{ip: "127.0.5.1", peerID: &id, incoming: &out})
	honest.drain()
	impostor := h.connect(peerOpts{ip: "127.0.5.2", peerID: &id, incoming: &in})
	impostor.waitGone()
	if !honest.connected() {
		t.Fatal("a connection from another IP claiming the honest peer's ID replaced it")
	}
}

func TestDialsToOneHostAreCappedPerIP(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	// 40 ports of one host that accept and never handshake, named by PEX.
	var added []netip.AddrPort
	for range 40 {
		added = append(added, listenLoopback(t, "127.0.0.1", func(c net.Conn) {
			defer c.Close()
			io.Copy(io.Discard, c) // until the dialler gives up
		}))
	}
	p := h.connect(peerOpts{})
	p.sendExt(0, extHandshake(t, map[string]int{"ut_pex": 1}))
	p.sendExt(wire.ExtPex, wire.EncodePex(added, make([]byte, len(added)), nil))
	p.drain()
	h.do(func(l *loop) {
		if l.dialing > l.t.cfg.MaxPeersPerIP {
			t.Errorf("%d dials in flight to one IP, per-IP cap %d", l.dialing, l.t.cfg.MaxPeersPerIP)
		}
	})
}
