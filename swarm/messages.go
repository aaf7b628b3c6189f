package swarm

import (
	"fmt"
	"net/netip"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// handle applies one message from a peer. A message that breaks the
// protocol drops the peer; it is counted, not treated as our error.
func (l *loop) handle(ev connEvent) {
	c := ev.c
	if c.closing || l.conns[c.id] != c {
		l.discard(ev.block)
		return
	}
	if ev.err != nil {
		l.drop(c, ev.err)
		return
	}
	if ev.readFailed != nil {
		l.uploadFailed(c, ev.upload, ev.readFailed)
		return
	}
	if err := l.handleMsg(c, &ev.msg, ev.block); err != nil {
		l.drop(c, err)
	}
}

func violation(format string, args ...any) error {
	return fmt.Errorf("%w: %s", wire.ErrProtocol, fmt.Sprintf(format, args...))
}

func (l *loop) handleMsg(c *conn, m *wire.Message, block *[]byte) error {
	first := !c.anyMessage
	if m.ID != wire.KeepAlive && m.ID != wire.Extended {
		c.anyMessage = true
	}
	n := l.layout.NumPieces
	switch m.ID {
	case wire.KeepAlive, wire.Suggest:
	case wire.Port:
		// BEP 5: the peer runs a DHT node there; pinging it adds it to
		// our routing table once it answers.
		if d := l.t.s.dht; d != nil && m.Port != 0 && !l.t.m.Private {
			d.Ping(netip.AddrPortFrom(c.addr.Addr(), m.Port))
		}
	case wire.Choke:
		c.peerChoking = true
		if !c.hs.Reserved.Fast() {
			// Without the fast extension a choke discards our requests.
			l.releaseAll(c)
		}
		// A choking peer finishes nothing soon: a piece it was
		// downloading alone (on parole) is open to others again.
		l.abandon(c)
	case wire.Unchoke:
		c.peerChoking = false
		// What was measured while choked says nothing of the link:
		// open the window from where it was, in slow start again.
		c.window = newReqWindow(c.window.size, l.now())
		l.request(c)
	case wire.Interested:
		c.peerInterested = true
		l.rechoke(l.now())
	case wire.NotInterested:
		c.peerInterested = false
		l.rechoke(l.now())
	case wire.Have:
		if int(m.Index) >= n {
			return violation("have for piece %d of %d", m.Index, n)
		}
		if !l.picker.PeerHas(c.id, int(m.Index)) {
			c.haveCount++
		}
		l.picker.PeerHave(c.id, int(m.Index))
		l.superHave(c, int(m.Index))
		if l.spread != nil {
			l.spread.Have(uint64(c.id), int(m.Index))
		}
		l.peerGained(c, int(m.Index))
	case wire.Bitfield, wire.HaveAll, wire.HaveNone:
		// Only as the first message: a second one finds anyMessage set.
		if !first {
			return violation("%v after the first message", m.ID)
		}
		if m.ID != wire.Bitfield && !c.hs.Reserved.Fast() {
			return violation("fast-extension message without the fast extension")
		}
		switch m.ID {
		case wire.HaveAll:
			c.haveCount = n
			l.picker.PeerHaveAll(c.id)
		case wire.Bitfield:
			bf, err := piece.BitfieldFromWire(m.Payload, n)
			if err != nil {
				return fmt.Errorf("%w: %v", wire.ErrProtocol, err)
			}
			c.haveCount = bf.Count()
			l.picker.PeerBitfield(c.id, bf)
		}
		if m.ID != wire.HaveNone {
			l.superBitfield(c)
			l.spreadBitfield(c)
		}
		l.peerGained(c, -1)
	case wire.Request:
		return l.peerRequest(c, m)
	case wire.Cancel:
		c.out.cancelUpload(upload{m.Index, m.Begin, m.Length})
	case wire.Piece:
		return l.received(c, m, block)
	case wire.Reject:
		if !c.hs.Reserved.Fast() {
			return violation("reject without the fast extension")
		}
		blk, ok := l.blockAt(m.Index, m.Begin, m.Length)
		if ok {
			if _, asked := c.requests[blk]; asked {
				delete(c.requests, blk)
				l.picker.Release(c.id, blk)
				if !c.peerChoking {
					l.refused(c, blk.Piece)
				}
			}
		}
	case wire.AllowedFast:
		if int(m.Index) >= n {
			return violation("allowed_fast for piece %d of %d", m.Index, n)
		}
	case wire.Extended:
		switch m.ExtID {
		case 0:
			h, err := wire.ParseExtHandshake(m.Payload)
			if err != nil {
				return err
			}
			if h.Reqq > 0 {
				c.reqq = min(h.Reqq, 2000)
			}
			if name := sanitizeName(h.V); h.V != "" && name != c.clientName {
				// The name the client gives itself is what the UI shows;
				// the log says it too, not only the peer ID's guess.
				l.t.log.Debug("peer client", "addr", c.addr, "client", name, "peer_id_says", c.clientName)
				c.clientName = name
			}
			if c.incoming && c.listenPort == 0 && h.P > 0 && h.P < 1<<16 && c.downloaded.Load() == 0 {
				// Known by its listen port from now on: a sender we
				// banned comes back from another port, not that one.
				c.sender = netip.AddrPortFrom(c.sender.Addr(), uint16(h.P))
				if l.blame.Banned(c.sender) {
					return errBanned
				}
				l.picker.SetParole(c.id, l.blame.OnParole(c.sender))
			}
			c.peerExt, c.listenPort = h.M, h.P
		case wire.ExtMetadata:
			return l.serveMetadata(c, m.Payload)
		case wire.ExtPex:
			if l.t.m.Private {
				return nil // BEP 27: ignore PEX on private torrents
			}
			p, err := wire.ParsePex(m.Payload)
			if err != nil {
				return err
			}
			// BEP 11 sends at most 50 added peers a message; more is
			// a flood, and only the first 50 are heard.
			for _, a := range p.Added[:min(len(p.Added), maxPexAdded)] {
				l.learn(a, "pex")
			}
			l.fillPeers(l.now())
		}
	case wire.HashRequest:
		return l.serveHashRequest(c, m.Payload)
	case wire.Hashes, wire.HashReject:
		// We ask for no hashes: the piece layers come with the .torrent.
		// Unasked ones are ignored.
		if _, err := wire.ParseHashMsg(m.ID, m.Payload); err != nil {
			return err
		}
	default:
		// Unknown message types were skipped by the reader.
	}
	return nil
}

// peerGained updates interest after a peer announced piece p (-1: a whole
// bitfield). A single have costs O(1): only that piece can make the peer
// newly interesting.
func (l *loop) peerGained(c *conn, p int) {
	c.seed = c.haveCount == l.layout.NumPieces
	if l.seeding() && c.seed {
		// Two seeds have nothing to trade.
		l.drop(c, nil)
		return
	}
	newly := p >= 0 && l.picker.Wants(p) || p < 0 && l.picker.Interesting(c.id)
	if !c.amInterested && l.diskErr == nil && newly {
		c.amInterested = true
		c.out.push(func(b []byte) []byte { return wire.AppendSimple(b, wire.Interested) })
	}
	l.request(c)
}

// refreshInterest tells every peer that has something we now want that we
// are interested, after what we want grew (a file no longer skipped):
// interest lost earlier is otherwise never regained.
func (l *loop) refreshInterest() {
	for _, c := range l.conns {
		if !c.amInterested && l.diskErr == nil && l.picker.Interesting(c.id) {
			c.amInterested = true
			c.out.push(func(b []byte) []byte { return wire.AppendSimple(b, wire.Interested) })
			l.request(c)
		}
	}
}

// peerRequest queues an upload after checking it is one we may serve.
func (l *loop) peerRequest(c *conn, m *wire.Message) error {
	if m.Length == 0 || m.Length > wire.MaxBlock {
		return violation("request of %d bytes", m.Length)
	}
	if int(m.Index) >= l.layout.NumPieces || int64(m.Begin)+int64(m.Length) > l.requestLimit(int(m.Index)) {
		return violation("request outside piece %d", m.Index)
	}
	u := upload{m.Index, m.Begin, m.Length}
	if l.lost[int(m.Index)] {
		// We said we had it before its data went missing: not the
		// peer's fault.
		l.reject(c, u)
		return nil
	}
	if !l.picker.Have(int(m.Index)) {
		return violation("request for piece %d we do not have", m.Index)
	}
	if l.super != nil && !l.super.Told(uint64(c.id), int(m.Index)) {
		// Super-seeding: only what we showed it, or the peer takes
		// what others could give it.
		l.reject(c, u)
		return nil
	}
	if l.paused || c.amChoking && !c.allowedFast[m.Index] {
		l.reject(c, u)
		return nil
	}
	if c.out.queuedUploads() >= ourReqq {
		// Queued requests are a subset of those the peer has out, and
		// we said it may have ourReqq: more is a flood.
		return violation("more than %d requests queued", ourReqq)
	}
	if !l.spreadAllows(c, int(m.Index)) {
		l.reject(c, u)
		return nil
	}
	c.out.pushUpload(u)
	return nil
}

// reject tells a fast-extension peer we will not serve u; others are
// simply not answered (BEP 3 has no word for it).
func (l *loop) reject(c *conn, u upload) {
	if c.hs.Reserved.Fast() {
		c.out.push(func(b []byte) []byte { return wire.AppendRequest(b, wire.Reject, u.index, u.begin, u.length) })
	}
}

// uploadFailed handles a block the writer could not read back. Out of
// descriptors is a passing shortage: the request is refused. Anything
// else means the files changed under us (truncated, removed): the piece
// is no longer ours, is wanted again, and the torrent shows an error that
// says what to do.
func (l *loop) uploadFailed(c *conn, u upload, err error) {
	l.reject(c, u)
	if isFDShortage(err) {
		return
	}
	i := int(u.index)
	if !l.picker.Have(i) {
		return
	}
	l.lost[i] = true
	l.picker.PieceLost(i)
	l.t.left.Add(l.layout.DataBytes(i))
	if l.dataErr != nil {
		l.t.log.Debug("cannot read a piece we had", "piece", i, "err", err)
	} else {
		l.t.log.Error("cannot read a piece we had; the data files changed on disk", "piece", i, "err", err)
	}
	if l.dataErr == nil {
		l.dataErr = fmt.Errorf("piece %d can no longer be read (%v): the files changed on disk; run shoal verify", i, err)
	}
	l.refreshInterest() // peers may have it for us again
}

// blockAt maps a wire (index, begin, length) to a picker block, if it
// names exactly one of our blocks.
func (l *loop) blockAt(index, begin, length uint32) (picker.Block, bool) {
	i := int(index)
	if i >= l.layout.NumPieces || begin%piece.BlockSize != 0 {
		return picker.Block{}, false
	}
	b := int(begin / piece.BlockSize)
	if b >= l.layout.NumBlocks(i) {
		return picker.Block{}, false
	}
	if _, n := l.layout.BlockSpan(i, b); uint32(n) != length {
		return picker.Block{}, false
	}
	return picker.Block{Piece: i, Index: b}, true
}

// sanitizeName keeps a peer-supplied client name printable and short.
func sanitizeName(s string) string {
	out := make([]rune, 0, 32)
	for _, r := range s {
		if len(out) == 40 {
			break
		}
		if r >= 0x20 && r != 0x7f {
			out = append(out, r)
		}
	}
	return string(out)
}
