package swarm

import (
	"context"
	"fmt"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/swarm/blame"
	"github.com/shoal-torrent/shoal/swarm/choke"
	"github.com/shoal-torrent/shoal/swarm/spread"
	"github.com/shoal-torrent/shoal/swarm/superseed"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// loop is the state of one torrent, owned by its run goroutine alone.
type loop struct {
	t       *Torrent
	ctx     context.Context
	layout  *piece.Layout
	st      storage
	picker  *picker.Picker
	choker  *choke.Choker
	hasher  *hasher
	resume  resumeSaver
	conns   map[picker.PeerID]*conn
	byPeer  map[[20]byte]*conn
	nextID  picker.PeerID
	known   map[netip.AddrPort]*knownPeer
	dialing int
	// ipConns counts connections per IP, for TorrentConfig.MaxPeersPerIP.
	ipConns   map[netip.Addr]int
	evictions int

	// blame remembers who sent blocks of each unverified piece and
	// decides parole and bans when one fails its hash.
	blame *blame.Ledger

	diskErr error
	// dataErr says a piece we had could not be read back; lost holds
	// such pieces, which peers may still ask for.
	dataErr error
	lost    map[int]bool
	// attempt counts how often a piece was started over, so the hash
	// workers drop what they hold of an earlier attempt.
	attempt  map[int]uint32
	resetBuf []int
	// dialingIP counts dials in flight per IP, so a list of one host's
	// ports cannot aim every dial at it.
	dialingIP  map[netip.Addr]int
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
	// webSeeds are the url-list servers in use; webEvents carries their
	// workers' blocks; webPieces names the web seed that sent each
	// unverified piece, to drop it if the piece fails.
	webSeeds  []*webSeed
	webEvents chan webEvent
	webPieces map[int]*webSeed
	webDrops  []WebSeedDrop // one per web seed at most: a dropped one never comes back
	// readers are the open streaming readers' windows (stream.go) and
	// waiters the readers blocked until a piece is verified.
	readers    map[uint64]*readerPos
	nextReader uint64
	waiters    map[int][]chan struct{}
	// optimistic is the peer in the optimistic slot, for snapshots.
	optimistic    picker.PeerID
	hasOptimistic bool
	// super is the BEP 16 policy when super-seeding (superseeding.go).
	super *superseed.Seeder
	// spread is the initial seeder's policy (spreading.go), made with
	// the first request once the torrent is complete.
	spread *spread.Seeder
	// timers run only while the loop is busy (idle.go).
	timers loopTimers
}

const (
	minPipeline = 16
	defaultReqq = 250
	// ourReqq is how many requests we accept from one peer, as libtorrent
	// (2000; Transmission says 512, anacrolix 1024). A peer's rate is at
	// most its window over the round trip: at 500, a downloader 200 ms
	// away could take no more than 40 MB/s. It is also the hostile
	// bound: a peer with more queued than this is dropped.
	ourReqq = 2000
	// snubAfter is how long a peer may sit on our requests without
	// sending a block before it is snubbed.
	snubAfter = 60 * time.Second
)

// storage is what the loop needs of a torrent's files: blocks in and out,
// file stats for resume state, and the empty files a finished download
// still has to create.
type storage interface {
	piece.Storage
	Stats() ([]piece.FileStat, error)
	CreateFiles() error
}

// openFileStorage is the storage every real torrent uses, its descriptors
// drawn from the session's shared pool; tests swap in memory through
// TorrentConfig.openStorage.
func (s *Session) openFileStorage(l *piece.Layout, dir string) (storage, error) {
	return piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: dir, Writable: true, Cache: s.files})
}

// run is the torrent's owner goroutine. A bug that panics on it stops this
// torrent with an error instead of the whole process: nothing a peer sends
// may take every other torrent down with it.
func (t *Torrent) run(ctx context.Context) {
	defer close(t.done)
	// However the loop ends (stopped, failed to open or check its files,
	// or a panic), the torrent leaves the session before Done is closed,
	// so whoever waits on Done may add it again.
	defer t.s.unregister(t)
	l := &loop{t: t, ctx: ctx, layout: t.m.Layout, conns: map[picker.PeerID]*conn{}, byPeer: map[[20]byte]*conn{},
		known: map[netip.AddrPort]*knownPeer{}, ipConns: map[netip.Addr]int{}, lost: map[int]bool{},
		attempt: map[int]uint32{}, dialingIP: map[netip.Addr]int{},
		webPieces: map[int]*webSeed{}}
	defer func() {
		if r := recover(); r != nil {
			t.log.Error("torrent stopped by an internal error", "panic", r, "stack", string(debug.Stack()))
			t.err = fmt.Errorf("internal error: %v", r)
			l.abort()
		}
	}()
	t.err = l.serve()
}

// now is the loop's clock: the session's, which tests replace.
func (l *loop) now() time.Time { return l.t.s.now() }

func (l *loop) serve() error {
	t := l.t
	open := t.cfg.openStorage
	if open == nil {
		open = t.s.openFileStorage
	}
	st, err := open(l.layout, t.cfg.Dir)
	if err != nil {
		return err
	}
	l.st = st
	defer st.Close()
	defer l.resume.wg.Wait() // a background save finishes before the files close
	have, err := t.checkData(l.ctx, st)
	if err != nil {
		if l.ctx.Err() != nil {
			return nil
		}
		return err
	}
	if l.picker, err = picker.New(l.layout, have, t.cfg.Picker); err != nil {
		return err
	}
	if l.choker, err = choke.New(t.cfg.Choke); err != nil {
		return err
	}
	if l.blame, err = blame.New(blame.DefaultConfig()); err != nil {
		return err
	}
	l.hasher = newHasher(l.layout, t.m.Hashes, t.v2Only(), st)
	l.startWebSeeds()
	t.state = l
	l.updateLeft()
	t.leftAfterCheck.Store(t.left.Load())
	if l.picker.Wanted() == 0 {
		l.markComplete(false)
	}
	if err := l.startSuperSeed(); err != nil {
		return err
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

	l.timers = loopTimers{manual: t.s.manualTicks}
	timers := &l.timers
	defer timers.stop()
	l.fillPeers(l.now())
	l.webRequestAll()
	l.publish(l.now())
	for {
		busy := l.busy()
		if !busy && timers.running() && !timers.manual {
			l.publish(l.now()) // the last state before going quiet
		}
		tickC, snapC := timers.set(busy)
		select {
		case <-l.ctx.Done():
			return l.shutdown()
		case ev := <-t.events:
			l.handle(ev)
		case ev := <-l.webEvents:
			l.webEvent(ev)
		case c := <-t.conns:
			l.adopt(c)
		case d := <-t.dialed:
			l.dialDone(d)
		case b := <-t.peers:
			for _, a := range b.addrs {
				l.learn(a, b.source)
			}
			l.fillPeers(l.now())
		case fn := <-t.cmds:
			fn()
		case <-t.pokes:
		case <-l.hasher.results.wake:
			l.results = l.hasher.results.take(l.results)
			for _, r := range l.results {
				l.pieceDone(r)
			}
		case <-tickC:
			l.tick(l.now())
		case <-snapC:
			l.publish(l.now())
			continue
		}
		if !timers.running() {
			// No publish timer runs while idle: whatever just happened
			// is shown at once instead.
			l.publish(l.now())
		}
	}
}

// abort releases what a loop that panicked holds, without trusting its
// state further than it must: the context ends (readers, writers, dials
// and announcers stop), every connection is closed and given back to the
// session, and the hash workers drain in the background.
func (l *loop) abort() {
	l.t.cancel()
	for _, c := range l.conns {
		c.out.close()
		c.nc.Close()
		l.t.s.connClosed()
	}
	clear(l.conns)
	if h := l.hasher; h != nil {
		go func() {
			defer func() { recover() }() // a second fault must not escape
			h.close()
		}()
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
			l.discard(ev.block)
		case <-drained:
			done = true
		}
	}
	for _, ws := range l.webSeeds {
		ws.client.CloseIdleConnections()
	}
	l.results = l.hasher.results.take(l.results)
	for _, r := range l.results {
		if r.ok && r.err == nil {
			l.picker.PieceVerified(r.piece)
		}
	}
	err := l.saveResume()
	// The stopped announce and the last snapshot carry every byte, not
	// the last tick's sample.
	l.storeTotals()
	l.stopAnnouncers()
	l.publish(l.now())
	return err
}

func (l *loop) updateLeft() {
	var left int64
	have := l.picker.Verified()
	for i := have.NextClear(0); i >= 0; i = have.NextClear(i + 1) {
		left += l.layout.DataBytes(i)
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
	l.saveResumeAsync(l.now())
	// The totals are otherwise sampled once a second: the completed
	// announce must carry the whole download, not the last sample.
	l.storeTotals()
	// Whoever wakes on completed reads the snapshot: it must be today's,
	// not the last timed one (a web seed dropped a moment ago, the last
	// pieces, the seeding state).
	l.publish(l.now())
	close(l.t.completed)
	if announce {
		l.announceCompleted()
	}
	l.t.log.Info("download complete", "name", l.t.m.Name)
}

// storeTotals publishes the session's block totals for announcers.
func (l *loop) storeTotals() {
	down, up := l.closedDown+l.webDownloaded(), l.closedUp
	for _, c := range l.conns {
		down += c.downloaded.Load()
		up += c.uploaded.Load()
	}
	l.t.downloadedTotal.Store(down)
	l.t.uploadedTotal.Store(up)
}

// tick runs once a second: rates, snubbing, interest, choking, dialling.
func (l *loop) tick(now time.Time) {
	for _, c := range l.conns {
		d, u := c.downloaded.Load(), c.uploaded.Load()
		if d+u != c.movedAtTick {
			c.movedAtTick, c.lastActive = d+u, now
		}
		c.downMeter.sample(d, now)
		c.upMeter.sample(u, now)
		c.window = c.window.tick(now, c.downMeter.rate(3), windowLimit(c.reqq, c.reqCap))
		if len(c.requests) > 0 && !c.snubbed && now.Sub(latest(c.lastBlockAt, c.oldestRequest())) > snubAfter {
			c.snubbed = true
			l.releaseAll(c)
		}
		l.releaseSkipped(c, now)
		if c.amInterested && !l.picker.Interesting(c.id) {
			c.amInterested = false
			c.out.push(func(b []byte) []byte { return wire.AppendSimple(b, wire.NotInterested) })
		}
	}
	l.storeTotals()
	l.downMeter.sample(l.t.downloadedTotal.Load(), now)
	l.upMeter.sample(l.t.uploadedTotal.Load(), now)
	if l.choker.Due(now) {
		l.rechoke(now)
	}
	l.fillPeers(now)
	for _, c := range l.conns {
		l.request(c)
	}
	l.superTick(now)
	l.spreadTick(now)
	l.webTick(now)
	l.sendPex(now)
	l.resumeTick(now)
	want := !l.seeding() && len(l.conns) < l.t.cfg.MaxPeers/2
	if !l.t.wantPeers.Swap(want) && want {
		select {
		case l.t.wantMore <- struct{}{}:
		default:
		}
	}
}
