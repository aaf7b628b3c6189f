package swarm

import (
	"net/netip"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

// FuzzLoopMessages feeds arbitrary wire bytes (any sequence of messages,
// extended ones included) to a live seeding loop and a live downloading
// one. Nothing may panic the loop or its connection goroutines, and no
// peer-fed state may grow past its bound.
func FuzzLoopMessages(f *testing.F) {
	seed := newHarness(f, harnessOpts{seed: true})
	leech := newHarness(f, harnessOpts{})
	hs := func(m map[string]int) []byte {
		b, _ := bencode.Marshal(map[string]any{"m": m, "reqq": 5000, "p": 6881, "v": "\x1b]52;c;x\x07"})
		return wire.AppendPayload(nil, wire.Extended, 0, b)
	}
	meta := func(typ, piece int) []byte {
		b, _ := bencode.Marshal(map[string]int{"msg_type": typ, "piece": piece})
		return wire.AppendPayload(nil, wire.Extended, wire.ExtMetadata, b)
	}
	pex := wire.AppendPayload(nil, wire.Extended, wire.ExtPex, wire.EncodePex(
		[]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("[::1]:2")}, []byte{1, 2}, nil))
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	f.Add(byte(0), cat(hs(map[string]int{"ut_metadata": 2, "ut_pex": 1}), meta(0, 0), meta(0, 1<<49), meta(1, 0), pex))
	f.Add(byte(1), cat(wireHaveAllUnchoke(), wire.AppendPieceHeader(nil, 0, 0, 4), []byte{1, 2, 3, 4}))
	f.Add(byte(1), cat(wire.AppendSimple(nil, wire.HaveNone), wire.AppendIndex(nil, wire.Have, 3), wire.AppendSimple(nil, wire.Unchoke),
		wire.AppendRequest(nil, wire.Reject, 0, 0, 16384), wire.AppendSimple(nil, wire.Choke), wire.AppendIndex(nil, wire.AllowedFast, 1)))
	f.Add(byte(0), cat(wire.AppendSimple(nil, wire.Interested), wire.AppendRequest(nil, wire.Request, 0, 0, 16384),
		wire.AppendRequest(nil, wire.Cancel, 0, 0, 16384), wire.AppendRequest(nil, wire.Request, 1<<31, 1<<31, 1<<31), wire.AppendPort(nil, 1)))
	f.Add(byte(0), cat(wire.AppendPayload(nil, wire.Bitfield, 0, []byte{0xff, 0xff}), []byte{0, 0, 0, 1, 99}))
	f.Add(byte(1), []byte{0xff, 0xff, 0xff, 0xf0, 7})
	f.Fuzz(func(t *testing.T, which byte, data []byte) {
		h := seed
		if which%2 == 1 {
			h = leech
		}
		h.t = t // iterations run one at a time in each worker
		defer func() { h.t = f }()
		p := h.connect(peerOpts{})
		p.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
		p.nc.Write(data) // the loop may hang up part way: that is fine
		p.nc.Close()
		<-p.gone
		ok := h.tor.do(func() {
			l := h.tor.loopState()
			if len(l.known) > maxKnown || len(l.conns) > l.t.cfg.MaxPeers || l.dialing > maxDialing {
				t.Errorf("unbounded: %d known, %d conns, %d dialing", len(l.known), len(l.conns), l.dialing)
			}
		})
		if !ok {
			t.Fatalf("the torrent loop stopped: %v", h.tor.Err())
		}
	})
}
