package picker

import (
	"math/rand/v2"
	"testing"

	"github.com/shoal-torrent/shoal/piece"
)

// benchPicker is a 100,000-piece torrent (256 KiB pieces, ~24 GiB) with 50
// peers each holding a random half of it.
func benchPicker(b *testing.B) (*Picker, *rand.Rand) {
	const n = 100_000
	l, err := piece.NewLayout(256<<10, []piece.File{{Path: []string{"big"}, Length: n * 256 << 10}})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	p, err := New(l, piece.NewBitfield(n), Config{RandomFirst: 0, EndgameRequesters: 3, Rand: r})
	if err != nil {
		b.Fatal(err)
	}
	for id := range PeerID(50) {
		bf := piece.NewBitfield(n)
		for i := range n {
			if r.IntN(2) == 0 {
				bf.Set(i)
			}
		}
		p.PeerBitfield(id, bf)
	}
	return p, r
}

// BenchmarkEvents measures availability events on a 100,000-piece torrent:
// have messages, and peers arriving with have_all and leaving. Each must be
// O(1) whatever the piece count.
func BenchmarkEvents(b *testing.B) {
	b.Run("have", func(b *testing.B) {
		p, r := benchPicker(b)
		// 1,000 more peers, each announcing pieces one by one in random
		// order; few events repeat a piece a peer already has.
		const events = 1 << 16
		ids := make([]PeerID, events)
		pcs := make([]int, events)
		for k := range ids {
			ids[k], pcs[k] = PeerID(100+r.IntN(1000)), r.IntN(100_000)
		}
		for id := PeerID(100); id < 1100; id++ {
			p.PeerHave(id, 0)
		}
		b.ResetTimer()
		for i := range b.N {
			p.PeerHave(ids[i%events], (pcs[i%events]+i/events)%100_000)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("have_all+disconnect", func(b *testing.B) {
		p, _ := benchPicker(b)
		b.ResetTimer()
		for i := range b.N {
			p.PeerHaveAll(1000)
			p.RemovePeer(1000)
			_ = i
		}
		b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkPickReceiveVerify measures the request path: pick a piece's
// blocks for a peer, receive them, verify the piece.
func BenchmarkPickReceiveVerify(b *testing.B) {
	p, r := benchPicker(b)
	buf := make([]Block, 0, 16)
	b.ResetTimer()
	done := 0
	for range b.N {
		id := PeerID(r.IntN(50))
		buf = p.Pick(buf[:0], id, 16)
		for _, blk := range buf {
			if p.Received(id, blk).PieceComplete {
				p.PieceVerified(blk.Piece)
				done++
			}
		}
		if p.Wanted() == 0 {
			b.StopTimer()
			p, r = benchPicker(b)
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "pieces/s")
}
