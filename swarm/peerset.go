package swarm

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/swarm/blame"
	"github.com/shoal-torrent/shoal/swarm/evict"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// knownPeer is an address we may dial.
type knownPeer struct {
	source    string // the first source, shown in the UI
	sources   map[string]bool
	failures  int
	nextDial  time.Time
	learnedAt time.Time
	connected bool // connected or being dialled now
	// worked is set once a connection to it was adopted: it is real.
	worked bool
}

// score ranks known peers for keeping when the list is full: addresses
// that connected before and that several sources agree on are worth more
// than one PEX peer's say-so (a tracker, the DHT or the user count double),
// and failures count against.
func (k *knownPeer) score() int {
	s := 0
	for src := range k.sources {
		s += sourceWeight(src)
	}
	if k.worked {
		s += 4
	}
	return s - min(k.failures, 4)
}

func sourceWeight(source string) int {
	if source == "pex" {
		return 1
	}
	return 2
}

// maxKnown bounds the addresses kept per torrent (libtorrent keeps 3,000
// for a downloading torrent): a PEX flood of 100,000 must not grow it.
const maxKnown = 2000

// maxDialing bounds dials in flight per torrent, half-open connections
// that cost a descriptor each.
const maxDialing = 32

type dialResult struct {
	addr netip.AddrPort
	c    *conn
	err  error
}

// learn records an address to dial. When the list is full, the least
// promising address that is not in use makes room, if the newcomer is
// worth more.
func (l *loop) learn(a netip.AddrPort, source string) {
	if !a.IsValid() || a.Port() == 0 || l.t.s.isSelf(a) {
		return
	}
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	if l.blame.Banned(a) {
		return
	}
	if k, ok := l.known[a]; ok {
		k.sources[source] = true
		return
	}
	k := &knownPeer{source: source, sources: map[string]bool{source: true}, learnedAt: l.now()}
	if len(l.known) >= maxKnown {
		// Only a better address replaces one: a flood of newcomers from
		// one source cannot push out what is known, nor cost a search
		// each (a lone PEX address is the least there is).
		if k.score() <= sourceWeight("pex") {
			return
		}
		victim, ok := knownVictim(l.known)
		if !ok || l.known[victim].score() >= k.score() {
			return
		}
		delete(l.known, victim)
	}
	l.known[a] = k
}

// knownVictim picks the known address to forget: not in use, lowest
// score, learned longest ago.
func knownVictim(known map[netip.AddrPort]*knownPeer) (netip.AddrPort, bool) {
	var best netip.AddrPort
	var bk *knownPeer
	for a, k := range known {
		if k.connected {
			continue
		}
		if bk == nil || k.score() < bk.score() || k.score() == bk.score() && k.learnedAt.Before(bk.learnedAt) {
			best, bk = a, k
		}
	}
	return best, bk != nil
}

// fillPeers dials known peers while there is room, with backoff for those
// that failed, never more than the connection limits (per torrent, per
// IP, per session, in flight) allow.
func (l *loop) fillPeers(now time.Time) {
	if l.diskErr != nil {
		return
	}
	for a, k := range l.known {
		if len(l.conns)+l.dialing >= l.t.cfg.MaxPeers || l.dialing >= maxDialing || !l.t.s.connSlotFree() {
			return
		}
		// Seeds dial too: the leechers a tracker names may not be able to
		// reach us first. Two seeds that meet hang up at once.
		if k.connected || now.Before(k.nextDial) || l.ipConns[a.Addr()]+l.dialingIP[a.Addr()] >= l.t.cfg.MaxPeersPerIP {
			continue
		}
		k.connected = true // until the dial fails
		l.dialing++
		l.dialingIP[a.Addr()]++
		go l.t.s.dial(l.ctx, l.t, a)
	}
}

func (l *loop) dialDone(d dialResult) {
	l.dialing--
	if l.dialingIP[d.addr.Addr()]--; l.dialingIP[d.addr.Addr()] <= 0 {
		delete(l.dialingIP, d.addr.Addr())
	}
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
// comes from a banned IP or exceeds the limits. A full torrent makes room
// for a newcomer by evicting its least useful peer, if any may go, so
// idle connections cannot lock honest peers out.
func (l *loop) adopt(c *conn) {
	ip := c.addr.Addr().Unmap()
	now := l.now()
	if e := l.byPeer[c.hs.PeerID]; e != nil {
		// Two connections to one peer, most often both sides dialling
		// at once: keep the one both sides will keep. A peer ID from
		// another address is a claim, not a peer: refused.
		if l.ctx.Err() != nil || e.addr.Addr() != c.addr.Addr() || !l.prefer(c, e) {
			l.refuse(c, now)
			return
		}
		l.drop(e, errDuplicate)
	}
	c.sender = netip.AddrPortFrom(ip, c.addr.Port())
	refuse := l.ctx.Err() != nil || l.blame.Banned(c.sender) || l.ipConns[ip] >= l.t.cfg.MaxPeersPerIP
	if !refuse && len(l.conns) >= l.t.cfg.MaxPeers {
		if victim, ok := evict.Choose(l.evictionCandidates(), l.t.cfg.Evict, now); ok {
			l.evictions++
			l.drop(l.conns[picker.PeerID(victim)], errEvicted)
		} else {
			refuse = true
		}
	}
	if refuse {
		l.refuse(c, now)
		return
	}
	l.nextID++
	c.id = l.nextID
	c.connectedAt = now
	c.lastActive = now
	l.ipConns[ip]++
	c.amChoking, c.peerChoking = true, true
	c.requests = map[picker.Block]sentRequest{}
	c.reqq = defaultReqq
	c.window = newReqWindow(minPipeline, now)
	c.reqCap = requestCap(c.hs.PeerID)
	c.clientName = ClientName(c.hs.PeerID)
	c.out.wake = make(chan struct{}, 1)
	l.conns[c.id] = c
	l.byPeer[c.hs.PeerID] = c
	l.picker.AddPeer(c.id)
	l.picker.SetParole(c.id, l.blame.OnParole(c.sender))
	if k := l.known[c.addr]; k != nil {
		k.connected, k.worked = true, true
		if !c.incoming {
			c.source = k.source
		}
	}

	fast := c.hs.Reserved.Fast()
	c.out.push(func(b []byte) []byte {
		if c.hs.Reserved.Extended() {
			ext := wire.ExtHandshake{V: "shoal " + l.t.s.cfg.Version, Reqq: ourReqq, P: int(l.t.s.announcePort()), E: l.t.s.cfg.Encryption.extFlag(),
				M: map[string]int{"ut_metadata": int(wire.ExtMetadata)}, MetadataSize: int64(len(l.t.m.Meta.InfoBytes))}
			if !l.t.m.Private {
				ext.M["ut_pex"] = int(wire.ExtPex) // BEP 27: no PEX for private torrents
			}
			b = wire.AppendPayload(b, wire.Extended, 0, ext.Encode())
		}
		have := l.picker.Verified()
		switch {
		case l.super != nil:
			// BEP 16: we pose as a peer with nothing; superJoin
			// reveals pieces one by one.
			if fast {
				b = wire.AppendSimple(b, wire.HaveNone)
			}
		case fast && have.Full():
			b = wire.AppendSimple(b, wire.HaveAll)
		case fast && have.Count() == 0:
			b = wire.AppendSimple(b, wire.HaveNone)
		case have.Count() > 0:
			b = wire.AppendPayload(b, wire.Bitfield, 0, have.Wire())
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
	if l.t.events == nil {
		l.t.events = make(chan connEvent, 256)
	}
	c.fromFile = &l.t.uploadedFromFile
	limDown, limUp := l.t.limiters()
	go c.readLoop(l.ctx, l.layout.NumPieces, l.t.events, l.hasher.credit, limDown)
	go c.writeLoop(l.ctx, l.st, l.layout, limUp, func(u upload, err error) {
		select {
		case l.t.events <- connEvent{c: c, readFailed: err, upload: u}:
		case <-l.ctx.Done():
		}
	})
	l.t.log.Debug("peer connected", "addr", c.addr, "client", c.clientName, "incoming", c.incoming, "utp", c.utp, "encrypted", c.encrypted)
	l.superJoin(c)
	// A new interested peer may take a free slot at once.
	l.rechoke(now)
}

// simultaneousOpen is how close together two connections to one peer
// must come to count as both sides dialling at once.
const simultaneousOpen = 2 * time.Second

var (
	errEvicted   = errors.New("evicted to make room for a new peer")
	errDuplicate = errors.New("a second connection to the same peer replaced it")
	errBanned    = errors.New("banned")
)

// prefer reports whether the new connection c should replace e, an
// existing one to the same peer. Both ends apply the same rule to the
// same pair, so they keep the same TCP connection: the one dialled by the
// side with the lower peer ID. Otherwise each could keep the one the
// other closed, and two peers dialling each other at once would end with
// none.
func (l *loop) prefer(c, e *conn) bool {
	if c.incoming == e.incoming || l.now().Sub(e.connectedAt) > simultaneousOpen {
		// The same direction, or a connection that has worked a while
		// (other clients keep the one they have too): keep what works.
		return false
	}
	weDialLow := bytes.Compare(l.t.s.peerID[:], c.hs.PeerID[:]) < 0
	return c.incoming != weDialLow
}

// refuse closes a handshaken connection the torrent will not take; an
// address we dialled waits before it is tried again.
func (l *loop) refuse(c *conn, now time.Time) {
	c.nc.Close()
	l.t.s.connClosed()
	if k := l.known[c.addr]; k != nil && !c.incoming {
		k.connected = false
		k.nextDial = now.Add(30 * time.Second)
	}
}

// evictionCandidates describes every connection to the eviction policy.
func (l *loop) evictionCandidates() []evict.Candidate {
	out := make([]evict.Candidate, 0, len(l.conns))
	for _, c := range l.conns {
		out = append(out, evict.Candidate{ID: uint64(c.id), AmInterested: c.amInterested, PeerInterested: c.peerInterested,
			Snubbed: c.snubbed, ConnectedAt: c.connectedAt, LastActive: c.lastActive})
	}
	return out
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
	if l.super != nil {
		l.super.Leave(uint64(c.id))
	}
	if l.spread != nil {
		l.spread.Leave(uint64(c.id), true)
	}
	delete(l.conns, c.id)
	ip := c.addr.Addr().Unmap()
	if l.ipConns[ip]--; l.ipConns[ip] <= 0 {
		delete(l.ipConns, ip)
	}
	if l.byPeer[c.hs.PeerID] == c {
		delete(l.byPeer, c.hs.PeerID)
	}
	if k := l.known[c.addr]; k != nil {
		k.connected = false
		k.nextDial = l.now().Add(30 * time.Second)
	}
	l.t.s.connClosed()
	l.rechoke(l.now())
	l.requestAll() // its blocks are free: ask others now, not at the tick
}

// requestAll tops up every peer's requests, after blocks came free.
func (l *loop) requestAll() {
	for _, o := range l.conns {
		l.request(o)
	}
	l.webRequestAll()
}

// ban drops the connections of the senders (and whole IPs) a verdict
// bans; the ledger refuses them from now on. Other peers on a banned
// sender's IP stay.
func (l *loop) ban(v blame.Verdict) {
	for _, a := range v.Ban {
		l.t.log.Info("banned peer: it sent data for pieces that failed their hash check", "addr", a) // front ends say so from the snapshot
	}
	for _, ip := range v.BanIP {
		l.t.log.Info("banned IP: several of its peers sent data for pieces that failed their hash check", "ip", ip)
	}
	for _, c := range l.conns {
		if slices.Contains(v.Ban, c.sender) || slices.Contains(v.BanIP, c.sender.Addr()) {
			l.drop(c, errBanned)
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
