package swarm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// webSeed is the loop's view of one web seed; only the loop touches it.
type webSeed struct {
	url    string // redacted, for people
	id     picker.PeerID
	jobs   chan webJob
	client interface{ CloseIdleConnections() }
	cancel context.CancelFunc // ends its workers
	ctx    context.Context
	// jobCtx ends the jobs of the current generation: a failure takes
	// every piece the server holds back at once, and the answers still
	// on their way are recognised by gen and ignored.
	jobCtx    context.Context
	jobCancel context.CancelFunc
	gen       uint64
	seq       uint64
	inflight  int
	// requests maps each outstanding block to the job it went out in.
	requests   map[picker.Block]uint64
	downloaded int64
	meter      meter
	// heldSince is when it last went from holding no blocks to some.
	heldSince time.Time
	failures  int
	nextTry   time.Time
	lastErr   string
}

// webJobMin and webJobMax bound one request's size; in between it covers
// a few seconds at the server's rate, so a slow server holds few pieces.
const (
	webJobMin = 256 << 10
	webJobMax = 16 << 20
)

// startWebSeeds starts a worker pool for every usable url-list entry.
func (l *loop) startWebSeeds() {
	cfg := l.t.cfg.WebSeeds
	if cfg.Disable {
		return
	}
	seen := map[string]bool{}
	for _, raw := range l.t.m.WebSeeds {
		u, err := parseWebSeed(raw)
		if err != nil {
			l.t.log.Warn("web seed ignored", "url", redactedURL(raw), "err", err)
			continue
		}
		if seen[u.String()] {
			continue
		}
		seen[u.String()] = true
		l.nextID++
		ctx, cancel := context.WithCancel(l.ctx)
		client := newWebClient(cfg)
		ws := &webSeed{url: u.Redacted(), id: l.nextID, jobs: make(chan webJob, cfg.Concurrency), client: client,
			ctx: ctx, cancel: cancel, requests: map[picker.Block]uint64{}}
		ws.jobCtx, ws.jobCancel = context.WithCancel(ctx)
		l.picker.AddPeer(ws.id)
		l.picker.PeerHaveAll(ws.id)
		l.picker.SetWholePieces(ws.id, true)
		if l.webEvents == nil {
			l.webEvents = make(chan webEvent, 64) // only torrents with web seeds pay for it
		}
		limit, _ := l.t.limiters()
		f := &webFetcher{ws: ws, client: client, layout: l.layout, urls: webFileURLs(u, l.layout),
			credit: l.hasher.credit, limit: limit, events: l.webEvents, cfg: cfg, agent: "shoal/" + l.t.s.cfg.Version}
		for range cfg.Concurrency {
			go f.work(ctx, ws.jobs)
		}
		l.webSeeds = append(l.webSeeds, ws)
		l.t.log.Debug("web seed", "url", ws.url)
	}
}

func redactedURL(raw string) string {
	if u, err := parseWebSeed(raw); err == nil {
		return u.Redacted()
	}
	return fmt.Sprintf("%.60q", raw)
}

// webRequest hands a web seed jobs while it has room: whole pieces the
// picker gives it alone. The job queue has room for every job in flight,
// so this never waits.
func (l *loop) webRequest(ws *webSeed, now time.Time) {
	cfg := l.t.cfg.WebSeeds
	if l.paused || l.diskErr != nil || l.seeding() || now.Before(ws.nextTry) {
		return
	}
	per := int((l.layout.PieceLength + piece.BlockSize - 1) / piece.BlockSize)
	pieces := max(1, int((min(max(ws.meter.rate(3)*pipelineSeconds/float64(cfg.Concurrency), webJobMin), webJobMax)+float64(l.layout.PieceLength)-1)/float64(l.layout.PieceLength)))
	for ws.inflight < cfg.Concurrency {
		l.buf = l.picker.Pick(l.buf[:0], ws.id, pieces*per)
		l.resetBuf = l.picker.TakeRestarted(l.resetBuf[:0])
		for _, p := range l.resetBuf {
			l.startOver(p)
		}
		if len(l.buf) == 0 {
			return
		}
		blocks := slices.Clone(l.buf)
		slices.SortFunc(blocks, func(a, b picker.Block) int {
			if a.Piece != b.Piece {
				return a.Piece - b.Piece
			}
			return a.Index - b.Index
		})
		ws.seq++
		if len(ws.requests) == 0 {
			ws.heldSince = now
		}
		for _, b := range blocks {
			ws.requests[b] = ws.seq
		}
		ws.inflight++
		ws.jobs <- webJob{ctx: ws.jobCtx, gen: ws.gen, seq: ws.seq, blocks: blocks}
	}
}

// webEvent applies what a web seed's worker sent.
func (l *loop) webEvent(ev webEvent) {
	ws := ev.ws
	if ev.done {
		l.webDone(ws, ev)
		return
	}
	seq, asked := ws.requests[ev.blk]
	if !asked || seq != ev.seq || !slices.Contains(l.webSeeds, ws) {
		l.waste(ev.buf, ev.n)
		return
	}
	delete(ws.requests, ev.blk)
	ws.downloaded += int64(ev.n)
	out := l.picker.Received(ws.id, ev.blk)
	if !out.Useful || l.diskErr != nil {
		l.waste(ev.buf, ev.n)
		return
	}
	for _, id := range out.Cancel { // not expected: its pieces are its own
		if o := l.conns[id]; o != nil {
			if _, ok := o.requests[ev.blk]; ok {
				delete(o.requests, ev.blk)
				o.released.add(ev.blk)
				begin, length := l.layout.BlockSpan(ev.blk.Piece, ev.blk.Index)
				o.out.push(func(b []byte) []byte {
					return wire.AppendRequest(b, wire.Cancel, uint32(ev.blk.Piece), uint32(begin), uint32(length))
				})
			}
		}
	}
	l.webPieces[ev.blk.Piece] = ws
	l.hasher.submit(blockJob{piece: ev.blk.Piece, index: ev.blk.Index, attempt: l.attempt[ev.blk.Piece], buf: ev.buf, n: ev.n})
}

// webDone ends a job: a success asks for more; a failure gives back what
// the server holds and rests it, or drops it for good.
func (l *loop) webDone(ws *webSeed, ev webEvent) {
	ws.inflight--
	now := l.now()
	if !slices.Contains(l.webSeeds, ws) {
		return
	}
	if ev.gen != ws.gen {
		l.webRequest(ws, now) // cancelled with the generation it belonged to
		return
	}
	if ev.err == nil {
		ws.failures = 0
		l.webRequest(ws, now)
		return
	}
	var we *webError
	permanent := errors.As(ev.err, &we) && we.permanent
	ws.failures++
	ws.lastErr = ev.err.Error()
	if permanent || ws.failures > l.t.cfg.WebSeeds.MaxFailures {
		l.dropWebSeed(ws, ev.err)
		return
	}
	var retryAfter time.Duration
	if we != nil {
		retryAfter = we.retryAfter
	}
	wait := webBackoff(l.t.cfg.WebSeeds, ws.failures, retryAfter)
	ws.nextTry = now.Add(wait)
	l.t.log.Info("web seed failed; retrying later", "url", ws.url, "err", ev.err, "in", wait)
	l.webRelease(ws)
}

// webRelease takes back every block a web seed was asked for: its jobs in
// flight are cancelled, pieces it sent part of start over, and peers may
// take the rest at once.
func (l *loop) webRelease(ws *webSeed) {
	ws.gen++
	ws.jobCancel()
	ws.jobCtx, ws.jobCancel = context.WithCancel(ws.ctx)
	for b := range ws.requests {
		l.picker.Release(ws.id, b)
	}
	clear(ws.requests)
	l.resetBuf = l.picker.Abandon(l.resetBuf[:0], ws.id)
	for _, p := range l.resetBuf {
		l.startOver(p)
	}
	l.requestAll()
}

// dropWebSeed stops using a web seed: it sent bad data, lacks the files,
// or kept failing.
func (l *loop) dropWebSeed(ws *webSeed, why error) {
	i := slices.Index(l.webSeeds, ws)
	if i < 0 {
		return
	}
	l.webSeeds = slices.Delete(l.webSeeds, i, i+1)
	// Front ends say so from the snapshot (a line, a --json event); the
	// log keeps the detail for -v.
	l.t.log.Info("web seed dropped", "url", ws.url, "err", why)
	l.webDrops = append(l.webDrops, WebSeedDrop{URL: ws.url, Err: why.Error()})
	l.closedDown += ws.downloaded
	ws.cancel()
	ws.client.CloseIdleConnections()
	for p, o := range l.webPieces {
		if o == ws {
			delete(l.webPieces, p)
		}
	}
	l.webRelease(ws)
	l.picker.RemovePeer(ws.id)
}

// webPieceDone settles a piece a web seed sent: one that fails its hash
// drops the server, as a lone sender of a bad piece is banned.
func (l *loop) webPieceDone(p int, ok bool) {
	ws := l.webPieces[p]
	if ws == nil {
		return
	}
	delete(l.webPieces, p)
	if !ok {
		l.dropWebSeed(ws, fmt.Errorf("piece %d it sent failed its hash check", p))
	}
}

// webTick samples rates, hands back what slow servers hold when it is
// holding the download up, and retries rested web seeds.
func (l *loop) webTick(now time.Time) {
	for _, ws := range slices.Clone(l.webSeeds) {
		ws.meter.sample(ws.downloaded, now)
		if l.webTooSlow(ws, now) && l.webHoldsUp(ws) && l.peerCanServe() {
			l.t.log.Debug("web seed too slow; its pieces go to peers", "url", ws.url, "rate", ws.meter.rate(5))
			ws.nextTry = now.Add(l.t.cfg.WebSeeds.HandBack)
			l.webRelease(ws)
			continue
		}
		l.webRequest(ws, now)
	}
}

// webTooSlow reports a web seed that has held blocks for HandBack and
// would take longer than that again to send them at its rate.
func (l *loop) webTooSlow(ws *webSeed, now time.Time) bool {
	hb := l.t.cfg.WebSeeds.HandBack
	held := float64(len(ws.requests) * wire.MaxBlock)
	return held > 0 && now.Sub(ws.heldSince) >= hb && held > ws.meter.rate(5)*hb.Seconds()
}

// webHoldsUp reports the download waiting on the web seed: every block
// is out (end-game, where its pieces cannot be shared), or a streaming
// reader waits for a piece it holds.
func (l *loop) webHoldsUp(ws *webSeed) bool {
	if l.picker.Endgame() {
		return true
	}
	for p := range l.waiters {
		if owner, ok := l.picker.Exclusive(p); ok && owner == ws.id {
			return true
		}
	}
	return false
}

// peerCanServe reports a peer that unchoked us and has something we want.
func (l *loop) peerCanServe() bool {
	for _, c := range l.conns {
		if !c.peerChoking && c.amInterested && !c.closing {
			return true
		}
	}
	return false
}

// webRequestAll tops up every web seed, after blocks came free.
func (l *loop) webRequestAll() {
	now := l.now()
	for _, ws := range slices.Clone(l.webSeeds) {
		l.webRequest(ws, now)
	}
}

// webDownloaded is the block bytes every web seed sent, for the totals.
func (l *loop) webDownloaded() int64 {
	var n int64
	for _, ws := range l.webSeeds {
		n += ws.downloaded
	}
	return n
}

// webSnapshots lists web seeds as peers are listed.
func (l *loop) webSnapshots(now time.Time) []PeerSnapshot {
	var out []PeerSnapshot
	for _, ws := range l.webSeeds {
		resting := now.Before(ws.nextTry)
		out = append(out, PeerSnapshot{Addr: ws.url, Client: "web seed", Source: "webseed",
			AmInterested: !l.seeding(), PeerChoking: resting, AmChoking: true, DownRate: ws.meter.rate(5),
			Progress: 1, Downloaded: ws.downloaded})
	}
	return out
}

// webBlocksHeld is how many blocks web seeds are asked for now (tests).
func (l *loop) webBlocksHeld() int {
	n := 0
	for _, ws := range l.webSeeds {
		n += len(ws.requests)
	}
	return n
}
