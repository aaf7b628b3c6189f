package swarm

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// A peer that queues more requests than the ourReqq we advertise, while
// it reads nothing back, is dropped and counted: the queue is bounded and
// the flood stops there rather than costing a reject for every request.
func TestRequestFloodBeyondOurReqqIsDropped(t *testing.T) {
	f := newFixture(t, 256<<10, piecetest.FileSpec{Path: "flood.bin", Size: 4 << 20})
	s, seeder := startSeeder(t, f)
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hs := wire.Handshake{Reserved: wire.OurReserved(), InfoHash: f.m.InfoHash}
	copy(hs.PeerID[:], "-XX0001-floodfloodfl")
	c.Write(append(hs.Append(nil), wire.AppendSimple(nil, wire.Interested)...))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	var got wire.Handshake
	if err := wire.ReadHandshakeStart(br, &got); err != nil {
		t.Fatal(err)
	}
	if err := wire.ReadPeerID(br, &got); err != nil {
		t.Fatal(err)
	}
	r := wire.NewReader(br, f.m.Layout.NumPieces)
	for {
		var m wire.Message
		if err := r.Read(&m, func(n int) []byte { return make([]byte, n) }); err != nil {
			t.Fatalf("before the unchoke: %v", err)
		}
		if m.ID == wire.Unchoke {
			break
		}
	}
	// From here on nothing is read: the seeder's writer blocks once the
	// socket buffers are full and the requests pile up in its queue.
	var flood []byte
	for range 4 * ourReqq {
		flood = wire.AppendRequest(flood, wire.Request, 0, 0, wire.MaxBlock)
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	c.Write(flood)
	var v int
	deadline := time.Now().Add(5 * time.Second)
	for v == 0 && time.Now().Before(deadline) {
		waitTick(seeder)
		v = seeder.Snapshot().Violations
	}
	if v != 1 {
		t.Fatalf("%d violations counted, want 1: the flood was not dropped", v)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, br); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("shoal kept the flooding peer")
	}
}
