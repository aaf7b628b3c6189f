package swarm

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// knownPeer is an address we may dial.
type knownPeer struct {
	source    string
	failures  int
	nextDial  time.Time
	connected bool
}

type dialResult struct {
	addr netip.AddrPort
	c    *conn
	err  error
}

// learn records an address to dial.
func (l *loop) learn(a netip.AddrPort, source string) {
	if !a.IsValid() || a.Port() == 0 || l.blame.Banned(a.Addr().Unmap()) || l.t.s.isSelf(a) {
		return
	}
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	if _, ok := l.known[a]; !ok {
		l.known[a] = &knownPeer{source: source}
	}
}

// fillPeers dials known peers while there is room, with backoff for those
// that failed.
func (l *loop) fillPeers(now time.Time) {
	if l.diskErr != nil {
		return
	}
	for a, k := range l.known {
		if len(l.conns)+l.dialing >= l.t.cfg.MaxPeers || !l.t.s.connSlotFree() {
			return
		}
		// Seeds dial too: the leechers a tracker names may not be able to
		// reach us first. Two seeds that meet hang up at once.
		if k.connected || now.Before(k.nextDial) {
			continue
		}
		k.connected = true // until the dial fails
		l.dialing++
		go l.t.s.dial(l.ctx, l.t, a)
	}
}

func (l *loop) dialDone(d dialResult) {
	l.dialing--
	k := l.known[d.addr]
	if d.err != nil {
		if k != nil {
			k.connected = false
			k.failures++
			k.nextDial = l.now().Add(min(time.Duration(1<<min(k.failures-1, 8))*10*time.Second, 30*time.Minute))
		}
		l.t.log.Debug("dial failed", "addr", d.addr, "err", d.err)
		return
	}
	if k != nil {
		k.failures = 0
	}
	l.adopt(d.c)
}

// adopt starts a handshaken connection, unless it duplicates one we have,
// comes from a banned IP or exceeds the limits.
func (l *loop) adopt(c *conn) {
	ip := c.addr.Addr().Unmap()
	switch {
	case l.ctx.Err() != nil, l.blame.Banned(ip), l.byPeer[c.hs.PeerID] != nil, len(l.conns) >= l.t.cfg.MaxPeers && c.incoming:
		c.nc.Close()
		l.t.s.connClosed()
		if k := l.known[c.addr]; k != nil && !c.incoming {
			k.connected = false
		}
		return
	}
	l.nextID++
	c.id = l.nextID
	c.connectedAt = l.now()
	c.amChoking, c.peerChoking = true, true
	c.requests = map[picker.Block]time.Time{}
	c.reqq = defaultReqq
	c.clientName = ClientName(c.hs.PeerID)
	c.out.wake = make(chan struct{}, 1)
	l.conns[c.id] = c
	l.byPeer[c.hs.PeerID] = c
	l.picker.AddPeer(c.id)
	l.picker.SetParole(c.id, l.blame.OnParole(ip))
	if k := l.known[c.addr]; k != nil {
		k.connected = true
		if !c.incoming {
			c.source = k.source
		}
	}

	fast := c.hs.Reserved.Fast()
	c.out.push(func(b []byte) []byte {
		if c.hs.Reserved.Extended() {
			ext := wire.ExtHandshake{V: "shoal " + l.t.s.cfg.Version, Reqq: ourReqq, P: int(l.t.s.Port()),
				M: map[string]int{"ut_metadata": int(wire.ExtMetadata)}, MetadataSize: int64(len(l.t.m.Meta.InfoBytes))}
			if !l.t.m.Private {
				ext.M["ut_pex"] = int(wire.ExtPex) // BEP 27: no PEX for private torrents
			}
			b = wire.AppendPayload(b, wire.Extended, 0, ext.Encode())
		}
		switch {
		case fast && l.have.Full():
			b = wire.AppendSimple(b, wire.HaveAll)
		case fast && l.have.Count() == 0:
			b = wire.AppendSimple(b, wire.HaveNone)
		case l.have.Count() > 0:
			b = wire.AppendPayload(b, wire.Bitfield, 0, l.have.Wire())
		}
		if d := l.t.s.dht; d != nil && c.hs.Reserved.DHT() && !l.t.m.Private {
			b = wire.AppendPort(b, d.Addr().Port()) // BEP 5: where our node listens
		}
		if fast {
			c.allowedFast = map[uint32]bool{}
			for _, p := range allowedFastSet(ip, l.t.m.InfoHash, l.layout.NumPieces, 10) {
				c.allowedFast[p] = true
				b = wire.AppendIndex(b, wire.AllowedFast, p)
			}
		}
		return b
	})
	limDown, limUp := l.t.s.limiters()
	go c.readLoop(l.ctx, l.layout.NumPieces, l.t.events, l.hasher.credit, limDown)
	go c.writeLoop(l.ctx, l.st, l.layout, limUp, func(error) {})
	l.t.log.Debug("peer connected", "addr", c.addr, "client", c.clientName, "incoming", c.incoming)
	// A new interested peer may take a free slot at once.
	l.rechoke(l.now())
}

// drop closes a connection and forgets it; its blocks go back to the
// picker and a free upload slot is refilled at once.
func (l *loop) drop(c *conn, why error) {
	if c.closing {
		return
	}
	c.closing = true
	if errors.Is(why, wire.ErrProtocol) {
		l.violations++
		l.t.log.Info("dropped peer for a protocol violation", "addr", c.addr, "err", why)
	} else if why != nil && !isClosedErr(why) {
		l.t.log.Debug("peer gone", "addr", c.addr, "err", why)
	}
	c.out.close()
	c.nc.Close()
	l.closedDown += c.downloaded.Load()
	l.closedUp += c.uploaded.Load()
	l.picker.RemovePeer(c.id)
	delete(l.conns, c.id)
	if l.byPeer[c.hs.PeerID] == c {
		delete(l.byPeer, c.hs.PeerID)
	}
	if k := l.known[c.addr]; k != nil {
		k.connected = false
		k.nextDial = l.now().Add(30 * time.Second)
	}
	l.t.s.connClosed()
	l.rechoke(l.now())
}

// ban drops a banned IP's connections; the ledger refuses it from now on.
func (l *loop) ban(ip netip.Addr) {
	l.t.log.Warn("banned peer: it sent data for pieces that failed their hash check", "ip", ip)
	for _, c := range l.conns {
		if c.addr.Addr().Unmap() == ip {
			l.drop(c, errors.New("banned"))
		}
	}
}

// addrOf turns a net.Addr into an AddrPort.
func addrOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
