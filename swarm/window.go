package swarm

import (
	"time"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

// The request window: how many blocks we keep asked for from one peer.
// A round trip is paid per window, so the window caps a peer's rate at
// window / RTT; at 200 ms a window of 450 blocks holds a peer to 36 MB/s.
//
// It opens like TCP's slow start (and libtorrent's): one block more for
// every block that arrives, so it doubles each round trip, until a second
// brings less than a tenth more than the one before (the peer or the link,
// not the window, is the limit now). From then on it covers
// pipelineSeconds of the peer's measured rate, which is many round trips'
// worth on any real link. Either way it stays within what the peer accepts
// (its reqq, with a margin) and maxPipeline. An unchoke opens slow start
// again: the rate measured while choked says nothing.

// maxPipeline bounds the requests we keep out with one peer whatever it
// accepts: 2000 blocks is 32 MiB in flight, 160 MB/s at a 200 ms round
// trip.
const maxPipeline = 2000

// slowStartGain is how much faster a second must be than the one before
// for slow start to go on.
const slowStartGain = 1.1

// minMeasure is the shortest measurement tick ends: a tick just after an
// unchoke would time a block or two and make the next second look slow.
const minMeasure = 500 * time.Millisecond

// reqWindow is one peer's request window and what it has measured. The
// zero value is not ready: start from newReqWindow.
type reqWindow struct {
	size      int // blocks to keep requested
	slowStart bool
	// mark starts the current measurement, got counts its bytes;
	// lastRate is the rate of the measurement before (0: none yet).
	mark     time.Time
	got      int64
	lastRate float64
}

// newReqWindow is the window of a new connection, or of one just
// unchoked after which the old measurements are stale.
func newReqWindow(size int, now time.Time) reqWindow {
	return reqWindow{size: max(size, minPipeline), slowStart: true, mark: now}
}

// windowLimit is the most requests we keep out with a peer that accepts
// reqq and whose client takes at most most (requestCap).
func windowLimit(reqq, most int) int { return min(reqqLimit(reqq), most) }

// anacrolixMaxRequests keeps an anacrolix peer's queued request data under
// 1 MiB. anacrolix v1.59 with its default MaxAllocPeerRequestDataPerConn
// (1 MiB) deadlocks a connection that has more queued: its one request
// server picks a queued request at random and waits for that request's
// memory, which only the requests ahead of it, which that same server has
// to read, would free (the interop tests stall at ~1 MiB without this).
// v1.62 serves them differently, but its peer ID says the same.
const anacrolixMaxRequests = 56

// requestCap is the most requests we keep out with a peer, from what its
// peer ID says it runs.
func requestCap(peerID [20]byte) int {
	if string(peerID[:3]) == "-GT" { // anacrolix/torrent
		return anacrolixMaxRequests
	}
	return maxPipeline
}

// received accounts for a block of n bytes that arrived: in slow start
// the window grows by one, up to limit.
func (w reqWindow) received(n int, limit int) reqWindow {
	w.got += int64(n)
	if w.slowStart {
		w.size = min(w.size+1, limit)
	}
	return w
}

// tick ends a measurement (the loop calls it about once a second):
// slow start stops when the rate has stopped growing, and outside it the
// window follows recent, the peer's rate over the last few seconds.
func (w reqWindow) tick(now time.Time, recent float64, limit int) reqWindow {
	elapsed := now.Sub(w.mark)
	if elapsed < minMeasure {
		return w // too short to say anything: the next tick goes on with it
	}
	rate := float64(w.got) / elapsed.Seconds()
	if w.slowStart && w.lastRate > 0 && rate < w.lastRate*slowStartGain {
		w.slowStart = false
	}
	if !w.slowStart {
		// Never below what this measurement moved: recent averages
		// over seconds that may predate the window's growth.
		target := max(recent, rate) * pipelineSeconds / float64(wire.MaxBlock)
		w.size = int(min(target, float64(limit)))
	}
	w.size = max(minPipeline, min(w.size, limit))
	if rate > 0 || w.lastRate > 0 {
		w.lastRate = rate
	}
	w.mark, w.got = now, 0
	return w
}

// want is how many blocks to keep requested now.
func (w reqWindow) want(limit int, snubbed bool) int {
	if snubbed {
		return 1
	}
	return max(1, min(w.size, limit))
}
