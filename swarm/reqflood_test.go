package swarm

import (
	"errors"
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
	c, r := dialPlain(t, s.Addr().String(), f)
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
	for {
		var m wire.Message
		err := r.Read(&m, func(n int) []byte { return make([]byte, n) })
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("shoal kept the flooding peer")
		}
		if err != nil {
			break // closed by shoal
		}
	}
}
