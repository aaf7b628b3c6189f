package tracker

import (
	"bytes"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// TestCompactAnswersMatchPeerAnswers: the HTTP answer built from the
// store's compact peers is byte for byte the one built from Peers.
func TestCompactAnswersMatchPeerAnswers(t *testing.T) {
	s, err := New(DefaultConfig(), NewMemoryStore(DefaultMemoryConfig()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v6     bool
		counts int
	}{{false, 3}, {true, 3}, {false, math.MinInt64}, {true, math.MaxInt64}} {
		// The extreme counts are the longest keys finishCompactAnnounce
		// must fit in front of the peers.
		v6 := c.v6
		resp := AnnounceResponse{Seeders: c.counts, Leechers: c.counts, Downloaded: c.counts}
		size := 6
		if v6 {
			size = 18
		}
		var compact []byte
		for i := range 4 {
			a := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
			if v6 {
				a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
			}
			p := Peer{Addr: netip.AddrPortFrom(a, uint16(6881+i))}
			resp.Peers = append(resp.Peers, p)
			compact = appendPeer(compact, p, size)
		}
		want := s.appendAnnounce(nil, resp, v6, true, false)
		if got := s.finishCompactAnnounce(new([headRoom]byte), resp, v6, append(make([]byte, headRoom), compact...)); !bytes.Equal(got, want) {
			t.Errorf("v6=%v: compact answer %q, want %q", v6, got, want)
		}
	}
}

// TestPickRunsCoverEach: the bulk-copy runs of a pick list exactly the
// members each visits, in order, for every start, size and self.
func TestPickRunsCoverEach(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var buf [4][2]int
	for n := 0; n <= 9; n++ {
		for self := -1; self < n; self++ {
			for want := 0; want <= n+1; want++ {
				p := planGroup(n, self, want, rng)
				var each, runs []int
				p.each(n, func(i int) bool { each = append(each, i); return true }) // the member-by-member reference
				for _, r := range p.runs(n, &buf) {
					for i := r[0]; i < r[1]; i++ {
						runs = append(runs, i)
					}
				}
				if len(each) != p.n || !slices.Equal(each, runs) {
					t.Fatalf("n=%d self=%d want=%d %+v: each %v, runs %v", n, self, want, p, each, runs)
				}
				for _, i := range each {
					if i == self {
						t.Fatalf("n=%d: self %d handed out", n, self)
					}
				}
			}
		}
	}
}

// each calls f with the index of every member p picks from a group of
// size n, in order, stopping early when f returns false: the plain walk
// that runs must agree with.
func (p pick) each(n int, f func(i int) bool) {
	for k, i := 0, p.start; k < p.n; i++ {
		if i == n {
			i = 0
		}
		if i == p.self {
			continue
		}
		if !f(i) {
			return
		}
		k++
	}
}
