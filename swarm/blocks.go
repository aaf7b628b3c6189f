package swarm

import (
	"fmt"
	"time"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

// pipelineSeconds is how many seconds of transfer the request queue covers
// once slow start is over (window.go): on a fast link a shorter queue lets
// the pipe run dry between round trips.
const pipelineSeconds = 3

// request tops up the peer's request queue to its window (window.go):
// never more than it accepts; a snubbed peer gets one at a time.
func (l *loop) request(c *conn) {
	if c.closing || c.peerChoking || !c.amInterested || l.diskErr != nil || l.paused {
		return
	}
	depth := c.window.want(windowLimit(c.reqq, c.reqCap), c.snubbed)
	n := depth - len(c.requests)
	if n <= 0 {
		return
	}
	// Over uTP a request sent per block received is a packet each way
	// per block, and libutp's throughput falls to a third of what it
	// moves without them (measured on loopback): top up a quarter of the
	// queue at a time instead.
	if c.utp && len(c.requests) > 0 && n < max(1, depth/4) {
		return
	}
	l.buf = l.picker.Pick(l.buf[:0], c.id, n)
	l.resetBuf = l.picker.TakeRestarted(l.resetBuf[:0])
	for _, p := range l.resetBuf {
		l.startOver(p)
	}
	if len(l.buf) == 0 {
		return
	}
	now := l.now()
	c.out.push(func(b []byte) []byte {
		for _, blk := range l.buf {
			begin, length := l.layout.BlockSpan(blk.Piece, blk.Index)
			b = wire.AppendRequest(b, wire.Request, uint32(blk.Piece), uint32(begin), uint32(length))
		}
		return b
	})
	if len(c.reqOrder) > 2*len(c.requests)+64 {
		// Rejects and cancels leave entries behind; keep the live ones.
		live := c.reqOrder[:0]
		for _, o := range c.reqOrder {
			if r, ok := c.requests[o.blk]; ok && r.seq == o.seq {
				live = append(live, o)
			}
		}
		c.reqOrder = live
	}
	for _, blk := range l.buf {
		c.reqSeq++
		c.requests[blk] = sentRequest{at: now, seq: c.reqSeq}
		c.reqOrder = append(c.reqOrder, orderedRequest{blk, c.reqSeq})
	}
}

// reqqLimit is how many requests we keep out with a peer that accepts n:
// a tenth less, as Transmission refuses the last of its own reqq and its
// reject comes seconds late.
func reqqLimit(n int) int { return max(1, n-max(1, n/10)) }

// A block is taken as lost (dropped, or rejected without a word) and
// asked for again once the peer answered skippedAfter later requests and
// it has waited skippedAge. Both: some peers (anacrolix) answer out of
// order, and asking again for a block still queued at them makes them
// hang up.
const (
	skippedAfter = 8
	skippedAge   = 5 * time.Second
)

// releaseSkipped gives back the oldest outstanding requests of c that
// the peer passed over.
func (l *loop) releaseSkipped(c *conn, now time.Time) {
	seq := c.answeredSeq
	for len(c.reqOrder) > 0 {
		head := c.reqOrder[0]
		if r, ok := c.requests[head.blk]; !ok || r.seq != head.seq {
			c.reqOrder = c.reqOrder[1:] // answered or released
			continue
		}
		if head.seq+skippedAfter >= seq || now.Sub(c.requests[head.blk].at) < skippedAge {
			break
		}
		c.reqOrder = c.reqOrder[1:]
		delete(c.requests, head.blk)
		l.picker.Release(c.id, head.blk)
		c.released.add(head.blk)
	}
	if len(c.requests) == 0 {
		c.reqOrder = c.reqOrder[:0]
	}
}

// releaseAll gives every outstanding request of c back to the picker,
// and its claim on pieces it was downloading alone, so a peer that chokes
// us or went quiet holds nothing up.
func (l *loop) releaseAll(c *conn) {
	for blk := range c.requests {
		l.picker.Release(c.id, blk)
		c.released.add(blk)
	}
	clear(c.requests)
	c.reqOrder = c.reqOrder[:0]
	l.abandon(c)
}

// abandon ends c's claim on the pieces it was downloading alone (it
// choked us or went quiet). Those it had sent part of start over: the
// hash workers and the blame ledger forget them, and c's requests for them
// are forgiven if answered late but no longer wanted from it.
func (l *loop) abandon(c *conn) {
	l.resetBuf = l.picker.Abandon(l.resetBuf[:0], c.id)
	for _, p := range l.resetBuf {
		l.startOver(p)
		for blk := range c.requests {
			if blk.Piece == p {
				delete(c.requests, blk)
				c.released.add(blk)
			}
		}
	}
}

// startOver forgets what the hash workers and the ledger hold of piece p,
// which the picker started over.
func (l *loop) startOver(p int) {
	l.attempt[p]++
	l.blame.Forget(p)
	delete(l.webPieces, p)
}

// maxUnrequested is how many blocks nobody asked for a peer may send
// before it is dropped: honest peers send none beyond those crossing a
// cancel or choke in flight, which released already forgives.
const maxUnrequested = 32

// received takes a block from a peer. Only blocks we asked this peer for
// (or released from it a moment ago) and that the picker still wants go
// on to the disk and hash workers; the buffer travels, the bytes are not
// copied.
func (l *loop) received(c *conn, m *wire.Message, block *[]byte) error {
	blk, ok := l.blockAt(m.Index, m.Begin, uint32(len(m.Data)))
	if !ok {
		l.discard(block)
		return violation("piece message that is not one of our blocks (%d+%d)", m.Begin, len(m.Data))
	}
	if r, asked := c.requests[blk]; asked {
		delete(c.requests, blk)
		c.window = c.window.received(len(m.Data), windowLimit(c.reqq, c.reqCap))
		c.answeredSeq = max(c.answeredSeq, r.seq)
		l.releaseSkipped(c, l.now())
	} else if c.released.take(blk) {
		// Released a moment ago and in flight: welcome only where it
		// cannot mix senders unseen, not from a peer on parole, not
		// into a block someone else was asked for since, not into a
		// piece another peer downloads alone.
		owner, excl := l.picker.Exclusive(blk.Piece)
		if l.blame.OnParole(c.sender) || l.picker.Requesters(blk) > 0 || excl && owner != c.id {
			l.waste(block, len(m.Data))
			return nil
		}
	} else {
		// Unrequested data would take a block from the peer we asked
		// and, if it is garbage, fail the piece with two senders.
		c.unrequested++
		l.waste(block, len(m.Data))
		if c.unrequested > maxUnrequested {
			return violation("%d blocks nobody requested", c.unrequested)
		}
		return nil
	}
	now := l.now()
	c.lastBlockAt = now
	if c.snubbed {
		c.snubbed = false
		l.rechoke(now)
	}
	out := l.picker.Received(c.id, blk)
	if !out.Useful || l.diskErr != nil {
		l.waste(block, len(m.Data))
		l.request(c)
		return nil
	}
	for _, id := range out.Cancel {
		if o := l.conns[id]; o != nil {
			if _, ok := o.requests[blk]; ok {
				delete(o.requests, blk)
				o.released.add(blk) // it may cross our cancel
				o.out.push(func(b []byte) []byte {
					return wire.AppendRequest(b, wire.Cancel, m.Index, m.Begin, uint32(len(m.Data)))
				})
			}
		}
	}
	l.blame.Contributed(blk.Piece, c.sender)
	l.hasher.submit(blockJob{piece: blk.Piece, index: blk.Index, attempt: l.attempt[blk.Piece], buf: block, n: len(m.Data)})
	l.request(c)
	return nil
}

// waste drops a received block nobody wanted and counts its n bytes.
func (l *loop) waste(block *[]byte, n int) {
	l.wasted += int64(n)
	l.discard(block)
}

// discard returns a received block's buffer and its disk credit.
func (l *loop) discard(block *[]byte) {
	if block != nil {
		putBlock(block)
		l.hasher.credit.release()
	}
}

// pieceDone applies a hash worker's verdict.
func (l *loop) pieceDone(r hashResult) {
	if r.attempt != l.attempt[r.piece] {
		return // about data the piece was started over without
	}
	if r.err != nil {
		if l.diskErr == nil {
			l.diskErr = fmt.Errorf("write piece %d: %w", r.piece, r.err)
			l.t.log.Error("download paused: cannot write to disk", "err", r.err)
			for _, c := range l.conns {
				l.releaseAll(c)
			}
			for _, ws := range l.webSeeds {
				l.webRelease(ws)
			}
		}
		l.blame.Forget(r.piece) // no verdict on data never checked
		l.picker.PieceFailed(r.piece)
		return
	}
	if !r.ok {
		l.hashFails++
		l.picker.PieceFailed(r.piece)
		l.webPieceDone(r.piece, false)
		defer l.requestAll() // its blocks are wanted again
		v := l.blame.Failed(r.piece)
		l.ban(v)
		for _, a := range v.Parole {
			for _, c := range l.conns {
				if c.sender == a {
					l.picker.SetParole(c.id, true)
				}
			}
		}
		return
	}
	l.blame.Verified(r.piece)
	l.webPieceDone(r.piece, true)
	l.picker.PieceVerified(r.piece)
	l.wakeReaders(r.piece)
	delete(l.lost, r.piece)
	l.t.left.Add(-l.layout.DataBytes(r.piece))
	for _, c := range l.conns {
		c.out.push(func(b []byte) []byte { return wire.AppendIndex(b, wire.Have, uint32(r.piece)) })
	}
	if l.picker.Wanted() == 0 {
		l.markComplete(true)
		for _, c := range l.conns {
			if c.seed {
				l.drop(c, nil) // two seeds have nothing to trade
			}
		}
		l.rechoke(l.now())
	}
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (c *conn) oldestRequest() time.Time {
	var o time.Time
	for _, r := range c.requests {
		if o.IsZero() || r.at.Before(o) {
			o = r.at
		}
	}
	return o
}
