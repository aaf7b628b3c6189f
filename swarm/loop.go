package swarm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/swarm/choke"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// loop is the state of one torrent, owned by its run goroutine alone.
type loop struct {
	t       *Torrent
	ctx     context.Context
	layout  *piece.Layout
	st      *piece.FileStorage
	have    *piece.Bitfield
	picker  *picker.Picker
	choker  *choke.Choker
	hasher  *hasher
	conns   map[picker.PeerID]*conn
	byPeer  map[[20]byte]*conn
	nextID  picker.PeerID
	known   map[netip.AddrPort]*knownPeer
	dialing int

	// contributors remembers which IPs sent blocks of each unverified
	// piece, so a piece that fails its hash can be blamed.
	contributors map[int]map[netip.Addr]bool
	strikes      map[netip.Addr]int
	banned       map[netip.Addr]bool
	parole       map[netip.Addr]bool

	diskErr    error
	violations int // peers dropped for breaking the protocol
	hashFails  int
	wasted     int64 // bytes received that were not wanted
	downMeter  meter
	upMeter    meter
	// closedDown and closedUp hold the block bytes of connections that
	// are gone, so totals survive disconnects.
	closedDown, closedUp int64
	buf                  []picker.Block
	results              []hashResult
	trackers             []*announcer
	paused               bool
	filePrio             []picker.Priority
	// optimistic is the peer in the optimistic slot, for snapshots.
	optimistic    picker.PeerID
	hasOptimistic bool
}

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

const (
	minPipeline = 16
	defaultReqq = 250
	// ourReqq is how many requests we accept from one peer.
	ourReqq = 250
	// snubAfter is how long a peer may sit on our requests without
	// sending a block before it is snubbed.
	snubAfter = 60 * time.Second
	// banStrikes is how many failed pieces an IP may contribute to.
	banStrikes = 2
)

// run is the torrent's owner goroutine.
func (t *Torrent) run(ctx context.Context) {
	defer close(t.done)
	l := &loop{t: t, ctx: ctx, layout: t.m.Layout, conns: map[picker.PeerID]*conn{}, byPeer: map[[20]byte]*conn{},
		known: map[netip.AddrPort]*knownPeer{}, contributors: map[int]map[netip.Addr]bool{},
		strikes: map[netip.Addr]int{}, banned: map[netip.Addr]bool{}, parole: map[netip.Addr]bool{}}
	t.err = l.main()
}

func (l *loop) main() error {
	t := l.t
	st, err := piece.OpenFileStorage(l.layout, piece.FileStorageConfig{Dir: t.cfg.Dir, Writable: true})
	if err != nil {
		return err
	}
	l.st = st
	defer st.Close()
	have, err := t.checkData(l.ctx, st)
	if err != nil {
		if l.ctx.Err() != nil {
			return nil
		}
		return err
	}
	l.have = have
	if l.picker, err = picker.New(l.layout, have, t.cfg.Picker); err != nil {
		return err
	}
	if l.choker, err = choke.New(t.cfg.Choke); err != nil {
		return err
	}
	l.hasher = newHasher(l.layout, t.m.Hashes, st)
	l.filePrio = make([]picker.Priority, len(l.layout.Files))
	for i := range l.filePrio {
		l.filePrio[i] = picker.Normal
	}
	t.state = l
	l.updateLeft()
	if l.picker.Wanted() == 0 {
		l.markComplete(false)
	}
	for _, a := range t.cfg.Peers {
		l.learn(a, "manual")
	}
	if !t.cfg.DisableTrackers {
		l.startAnnouncers()
	}
	if d := t.s.dht; d != nil && !t.m.Private {
		go t.dhtLoop(l.ctx, d)
	}
	if ld := t.s.lsd; ld != nil && !t.m.Private {
		go t.lsdLoop(l.ctx, ld)
	}
	defer t.s.unregister(t)

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	snapTick := time.NewTicker(250 * time.Millisecond)
	defer snapTick.Stop()
	l.fillPeers(time.Now())
	l.publish(time.Now())
	for {
		select {
		case <-l.ctx.Done():
			return l.shutdown()
		case ev := <-t.events:
			l.handle(ev)
		case c := <-t.conns:
			l.adopt(c)
		case d := <-t.dialed:
			l.dialDone(d)
		case b := <-t.peers:
			for _, a := range b.addrs {
				l.learn(a, b.source)
			}
			l.fillPeers(time.Now())
		case fn := <-t.cmds:
			fn()
		case <-l.hasher.results.wake:
			l.results = l.hasher.results.take(l.results)
			for _, r := range l.results {
				l.pieceDone(r)
			}
		case now := <-tick.C:
			l.tick(now)
		case now := <-snapTick.C:
			l.publish(now)
		}
	}
}

// shutdown closes every connection, drains the workers, saves resume state
// and says goodbye to trackers.
func (l *loop) shutdown() error {
	for _, c := range l.conns {
		c.out.close()
		c.nc.Close()
	}
	// Readers may be blocked handing us events; drain until they are gone.
	drained := make(chan struct{})
	go func() {
		l.hasher.close()
		close(drained)
	}()
	for done := false; !done; {
		select {
		case ev := <-l.t.events:
			putBlock(ev.block)
		case <-drained:
			done = true
		}
	}
	l.results = l.hasher.results.take(l.results)
	for _, r := range l.results {
		if r.ok && r.err == nil {
			l.picker.PieceVerified(r.piece)
			l.have.Set(r.piece)
		}
	}
	err := l.saveResume()
	l.stopAnnouncers()
	l.publish(time.Now())
	return err
}

func (l *loop) saveResume() error {
	p := l.t.resumePath()
	if p == "" {
		return nil
	}
	stats, err := l.st.Stats() // syncs written data first
	if err != nil {
		return fmt.Errorf("save resume state: %w", err)
	}
	return piece.SaveResume(p, piece.NewResume(l.t.m.InfoHash.HexString(), l.layout, l.have, stats))
}

func (l *loop) updateLeft() {
	var left int64
	for i := l.have.NextClear(0); i >= 0; i = l.have.NextClear(i + 1) {
		left += l.layout.PieceSize(i)
	}
	l.t.left.Store(left)
}

func (l *loop) seeding() bool { return l.picker.Wanted() == 0 }

func (l *loop) markComplete(announce bool) {
	select {
	case <-l.t.completed:
		return
	default:
	}
	if err := l.st.CreateFiles(); err != nil {
		l.t.log.Warn("create empty files", "err", err)
	}
	if err := l.saveResume(); err != nil {
		l.t.log.Warn("save resume state", "err", err)
	}
	close(l.t.completed)
	if announce {
		l.announceCompleted()
	}
	l.t.log.Info("download complete", "name", l.t.m.Name)
}

// tick runs once a second: rates, snubbing, interest, choking, dialling.
func (l *loop) tick(now time.Time) {
	down, up := l.closedDown, l.closedUp
	for _, c := range l.conns {
		d, u := c.downloaded.Load(), c.uploaded.Load()
		c.downMeter.sample(d, now)
		c.upMeter.sample(u, now)
		down += d
		up += u
		if len(c.requests) > 0 && !c.snubbed && now.Sub(latest(c.lastBlockAt, c.oldestRequest())) > snubAfter {
			c.snubbed = true
			l.releaseAll(c)
		}
		if c.amInterested && !l.picker.Interesting(c.id) {
			c.amInterested = false
			c.out.push(func(b []byte) []byte { return wire.AppendSimple(b, wire.NotInterested) })
		}
	}
	l.t.downloadedTotal.Store(down)
	l.t.uploadedTotal.Store(up)
	l.downMeter.sample(down, now)
	l.upMeter.sample(up, now)
	if l.choker.Due(now) {
		l.rechoke(now)
	}
	l.fillPeers(now)
	for _, c := range l.conns {
		l.request(c)
	}
	l.sendPex(now)
	l.t.wantPeers.Store(!l.seeding() && len(l.conns) < l.t.cfg.MaxPeers/2)
}

// pexInterval is how often a peer gets our PEX message (BEP 11: at most
// once a minute).
const pexInterval = time.Minute

// sendPex tells PEX-capable peers which peers we are connected to, as a
// change since what we last told each: first on the tick after its
// extension handshake, then at most once a minute.
func (l *loop) sendPex(now time.Time) {
	if l.t.m.Private {
		return
	}
	var current []netip.AddrPort
	var flags []byte
	for _, c := range l.conns {
		if a, ok := c.listenAddr(); ok {
			current = append(current, a)
			f := byte(wire.PexReachable)
			if c.seed {
				f |= wire.PexSeed
			}
			flags = append(flags, f)
		}
	}
	for _, c := range l.conns {
		id := c.peerExt["ut_pex"]
		if id <= 0 || id > 255 || !c.pexAt.IsZero() && now.Sub(c.pexAt) < pexInterval {
			continue
		}
		self, _ := c.listenAddr()
		var added, dropped []netip.AddrPort
		var addedFlags []byte
		seen := map[netip.AddrPort]bool{}
		for i, a := range current {
			seen[a] = true
			if a != self && !c.pexSent[a] {
				added = append(added, a)
				addedFlags = append(addedFlags, flags[i])
			}
		}
		for a := range c.pexSent {
			if !seen[a] {
				dropped = append(dropped, a)
			}
		}
		c.pexAt = now
		if len(added) == 0 && len(dropped) == 0 {
			continue
		}
		if c.pexSent == nil {
			c.pexSent = map[netip.AddrPort]bool{}
		}
		for _, a := range added {
			c.pexSent[a] = true
		}
		for _, a := range dropped {
			delete(c.pexSent, a)
		}
		payload := wire.EncodePex(added, addedFlags, dropped)
		c.out.push(func(b []byte) []byte { return wire.AppendPayload(b, wire.Extended, byte(id), payload) })
	}
}

// rechoke applies the choker's decision.
func (l *loop) rechoke(now time.Time) {
	peers := make([]choke.Peer, 0, len(l.conns))
	for _, c := range l.conns {
		peers = append(peers, c)
	}
	res := l.choker.Rechoke(peers, l.seeding(), now)
	l.optimistic, l.hasOptimistic = picker.PeerID(res.Optimistic), res.HasOptimistic
	if l.paused {
		res.Unchoked, l.hasOptimistic = nil, false
	}
	for _, c := range l.conns {
		want := res.Unchoked[uint64(c.id)]
		switch {
		case want && c.amChoking:
			c.amChoking = false
			c.out.push(func(b []byte) []byte { return wire.AppendSimple(b, wire.Unchoke) })
		case !want && !c.amChoking:
			c.amChoking = true
			c.out.push(func(b []byte) []byte { return wire.AppendSimple(b, wire.Choke) })
			// Queued uploads are dropped; a fast-extension peer is told.
			for _, u := range c.out.dropUploads() {
				if c.hs.Reserved.Fast() && !c.allowedFast[u.index] {
					c.out.push(func(b []byte) []byte { return wire.AppendRequest(b, wire.Reject, u.index, u.begin, u.length) })
				} else if c.allowedFast[u.index] {
					c.out.pushUpload(u)
				}
			}
		}
	}
}

// learn records an address to dial.
func (l *loop) learn(a netip.AddrPort, source string) {
	if !a.IsValid() || a.Port() == 0 || l.banned[a.Addr().Unmap()] || l.t.s.isSelf(a) {
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
			k.nextDial = time.Now().Add(min(time.Duration(1<<min(k.failures-1, 8))*10*time.Second, 30*time.Minute))
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
	case l.ctx.Err() != nil, l.banned[ip], l.byPeer[c.hs.PeerID] != nil, len(l.conns) >= l.t.cfg.MaxPeers && c.incoming:
		c.nc.Close()
		l.t.s.connClosed()
		if k := l.known[c.addr]; k != nil && !c.incoming {
			k.connected = false
		}
		return
	}
	l.nextID++
	c.id = l.nextID
	c.connectedAt = time.Now()
	c.amChoking, c.peerChoking = true, true
	c.requests = map[picker.Block]time.Time{}
	c.reqq = defaultReqq
	c.clientName = ClientName(c.hs.PeerID)
	c.out.wake = make(chan struct{}, 1)
	l.conns[c.id] = c
	l.byPeer[c.hs.PeerID] = c
	l.picker.AddPeer(c.id)
	l.picker.SetParole(c.id, l.parole[ip])
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
	go c.readLoop(l.ctx, l.layout.NumPieces, l.t.events, limDown)
	go c.writeLoop(l.ctx, l.st, l.layout, limUp, func(error) {})
	l.t.log.Debug("peer connected", "addr", c.addr, "client", c.clientName, "incoming", c.incoming)
	// A new interested peer may take a free slot at once.
	l.rechoke(time.Now())
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
		k.nextDial = time.Now().Add(30 * time.Second)
	}
	l.t.s.connClosed()
	l.rechoke(time.Now())
}

// ban refuses an IP for the rest of the session and drops its connections.
func (l *loop) ban(ip netip.Addr) {
	if l.banned[ip] {
		return
	}
	l.banned[ip] = true
	l.t.log.Warn("banned peer: it sent data for pieces that failed their hash check", "ip", ip)
	for _, c := range l.conns {
		if c.addr.Addr().Unmap() == ip {
			l.drop(c, errors.New("banned"))
		}
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
	for _, at := range c.requests {
		if o.IsZero() || at.Before(o) {
			o = at
		}
	}
	return o
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
