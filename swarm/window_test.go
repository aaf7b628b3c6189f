package swarm

import (
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

var t0 = time.Unix(1_700_000_000, 0)

// A window in slow start doubles each round trip: one more block for
// every block that arrived.
func TestWindowDoublesEachRoundTripInSlowStart(t *testing.T) {
	w := newReqWindow(minPipeline, t0)
	for round, want := range []int{32, 64, 128, 256} {
		for range w.want(maxPipeline, false) {
			w = w.received(wire.MaxBlock, maxPipeline)
		}
		if w.size != want {
			t.Fatalf("round %d: window %d, want %d", round+1, w.size, want)
		}
	}
}

// Growth stops at the limit, and want never exceeds it, even a limit below
// the minimum pipeline (a peer that accepts 10).
func TestWindowStaysWithinTheLimit(t *testing.T) {
	w := newReqWindow(minPipeline, t0)
	for range 5000 {
		w = w.received(wire.MaxBlock, 300)
	}
	if w.size != 300 || w.want(300, false) != 300 {
		t.Fatalf("window %d, want %d: the limit is 300", w.size, w.want(300, false))
	}
	if got := w.want(windowLimit(10, maxPipeline), false); got != 9 {
		t.Fatalf("want %d with a peer that accepts 10, want 9", got)
	}
	if got := windowLimit(1<<20, maxPipeline); got != maxPipeline {
		t.Fatalf("limit %d for a peer that accepts a million, want %d", got, maxPipeline)
	}
	var anacrolix, other [20]byte
	copy(anacrolix[:], "-GT0003-abcdefghijkl")
	copy(other[:], "-lt0D80-abcdefghijkl")
	if got := windowLimit(1024, requestCap(anacrolix)); got*wire.MaxBlock > 1<<20 {
		t.Fatalf("%d requests out with anacrolix: more than its 1 MiB of request data", got)
	}
	if got := windowLimit(2000, requestCap(other)); got != 1800 {
		t.Fatalf("limit %d for libtorrent with reqq 2000, want 1800", got)
	}
	if got := w.want(300, true); got != 1 {
		t.Fatalf("a snubbed peer gets %d requests, want 1", got)
	}
}

// sim runs a peer that serves at most rate bytes/s, rtt away, against the
// window for d and returns the window (ticking once a second as the loop
// does, with the meter's recent rate).
func sim(rtt time.Duration, rate float64, limit int, d time.Duration) (reqWindow, []float64) {
	now := t0
	w := newReqWindow(minPipeline, now)
	var secs []float64 // bytes each second
	var this float64
	nextTick := now.Add(time.Second)
	for end := now.Add(d); now.Before(end); now = now.Add(rtt) {
		// A window's worth per round trip, or what the peer's rate allows.
		blocks := min(float64(w.want(limit, false)), rate*rtt.Seconds()/wire.MaxBlock)
		for range int(blocks) {
			w = w.received(wire.MaxBlock, limit)
		}
		this += float64(int(blocks)) * wire.MaxBlock
		if !now.Add(rtt).Before(nextTick) {
			secs = append(secs, this)
			this = 0
			var recent float64
			for _, s := range secs[max(0, len(secs)-3):] {
				recent += s
			}
			recent /= float64(min(3, len(secs)))
			w = w.tick(nextTick, recent, limit)
			nextTick = nextTick.Add(time.Second)
		}
	}
	return w, secs
}

// A fast peer 200 ms away: slow start takes the window to the limit in
// about a second and a half, and it stays there once slow start ends.
func TestWindowOpensToTheLimitAtHighRTT(t *testing.T) {
	const limit = 1800
	w, secs := sim(200*time.Millisecond, 1e12, limit, 5*time.Second)
	if w.size != limit || w.slowStart {
		t.Fatalf("after 5 s: window %d (slow start %v), want %d out of slow start", w.size, w.slowStart, limit)
	}
	full := limit * wire.MaxBlock * 5.0 // bytes a second at the limit
	if secs[1] < full/2 {
		t.Fatalf("second 2 moved %.0f bytes, want at least half of the %.0f a full window moves", secs[1], full)
	}
}

// A peer whose upload, not the window, is the limit: slow start ends and
// the window covers pipelineSeconds of its rate, far more than rate x RTT,
// and far less than the limit.
func TestWindowFollowsASlowPeersRate(t *testing.T) {
	const rate = 2 << 20 // 2 MiB/s, 100 ms away: 12.8 blocks per round trip
	w, _ := sim(100*time.Millisecond, rate, maxPipeline, 10*time.Second)
	if w.slowStart {
		t.Fatal("still in slow start after 10 s at a steady rate")
	}
	bdp := rate * 0.1 / wire.MaxBlock
	want := rate * pipelineSeconds / wire.MaxBlock
	if float64(w.size) < 2*bdp || w.size > want*11/10 {
		t.Fatalf("window %d: want about %d (3 s of the rate), at least twice the %.0f blocks in flight", w.size, want, bdp)
	}
}

// Slow start goes on while each second is faster than the one before and
// ends when one is not; a tick right after the start ends no measurement.
func TestSlowStartEndsWhenTheRateStopsGrowing(t *testing.T) {
	w := newReqWindow(minPipeline, t0)
	w = w.received(wire.MaxBlock, maxPipeline)
	if w2 := w.tick(t0.Add(10*time.Millisecond), 0, maxPipeline); w2.got != w.got || !w2.mark.Equal(t0) {
		t.Fatal("a 10 ms measurement was ended")
	}
	for range 99 {
		w = w.received(wire.MaxBlock, maxPipeline)
	}
	w = w.tick(t0.Add(time.Second), 100*wire.MaxBlock, maxPipeline)
	for range 200 {
		w = w.received(wire.MaxBlock, maxPipeline)
	}
	w = w.tick(t0.Add(2*time.Second), 150*wire.MaxBlock, maxPipeline)
	if !w.slowStart {
		t.Fatal("slow start ended while the rate doubled")
	}
	size := w.size
	for range 205 { // under a tenth faster
		w = w.received(wire.MaxBlock, maxPipeline)
	}
	if w.size != size+205 {
		t.Fatal("the window did not grow in slow start")
	}
	w = w.tick(t0.Add(3*time.Second), 170*wire.MaxBlock, maxPipeline)
	if w.slowStart {
		t.Fatal("slow start went on with a rate that stopped growing")
	}
	if want := 205 * pipelineSeconds; w.size != want {
		t.Fatalf("window %d after slow start, want %d (3 s of the last second's rate)", w.size, want)
	}
	// Out of slow start, blocks no longer grow it.
	for range 100 {
		w = w.received(wire.MaxBlock, maxPipeline)
	}
	if w.size != 205*pipelineSeconds {
		t.Fatalf("window grew to %d out of slow start", w.size)
	}
}
