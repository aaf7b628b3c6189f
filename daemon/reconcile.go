package daemon

import (
	"bytes"
	"context"
	"errors"
	"os"
	"runtime/debug"
	"slices"
	"time"

	"github.com/shoal-torrent/shoal/internal/atomicfile"
	"github.com/shoal-torrent/shoal/internal/hostport"
	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/swarm"
)

// sorted lists the entries by queue position, then id.
func (d *Daemon) sorted() []*entry {
	out := make([]*entry, 0, len(d.entries))
	for _, e := range d.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *entry) int {
		if a.QueuePos != b.QueuePos {
			return a.QueuePos - b.QueuePos
		}
		return a.ID - b.ID
	})
	return out
}

// complete says whether a torrent is a seed, for the queue: what its
// last seen snapshot says once it has checked its data, else whether it
// ever finished.
func (e *entry) complete() bool {
	if e.t != nil {
		if s := e.seen; s != nil && s.State != swarm.StateChecking {
			return s.State == swarm.StateSeeding
		}
	}
	return !e.Done.IsZero()
}

// watching says whether a running torrent's snapshot must be looked at
// every tick: while it checks, downloads (its activity feeds the stalled
// rule), verifies for a stopped torrent, is yet to record its completion
// or seeds towards a ratio. An idle seed is not: 10,000 of them cost the
// loop nothing until something happens.
func (e *entry) watching() bool {
	if e.t == nil {
		return false
	}
	s := e.seen
	return s == nil || s.State != swarm.StateSeeding || e.checkOnly || e.SeedRatio > 0 || e.Done.IsZero()
}

// sweepTicks is how many ticks apart the loop looks at every running
// torrent, watched or not. The swarm signals a torrent's end and its
// completion by channels but a seed's later trouble (a disk error, data
// lost under it) only by its snapshot; the sweep notices those within
// half a minute at a cost of a few hundred microseconds per 10,000.
const sweepTicks = 30

// reconcile notices what the running torrents did (finished, failed,
// reached their ratio), then starts and stops torrents as the queue says.
// It looks at every torrent only when something may have changed them
// all (a command, a stopped torrent, the periodic sweep); on other ticks
// at the watched ones alone, and it plans the queue again only when one
// of them changed in a way the queue cares about.
func (d *Daemon) reconcile(now time.Time) {
	if d.replan || !now.Before(d.sweepAt) || !d.stallAt.IsZero() && !now.Before(d.stallAt) {
		d.replan = false
		d.sweepAt = now.Add(sweepTicks * d.cfg.Tick)
		d.stallAt = time.Time{}
		for _, e := range d.entries {
			if e.stopping != nil && isClosed(e.stopping.Done()) {
				d.finishStop(e)
			}
		}
		clear(d.watched)
		d.watched = d.watched[:0]
		for _, e := range d.entries {
			d.observe(e, now)
			if e.watching() {
				d.watched = append(d.watched, e)
			}
		}
		d.plan(now)
		for _, e := range d.entries {
			// A magnet fetching its metadata moves no data the loop can
			// see: its slot frees at a deadline instead.
			if e.fetch != nil && d.queue.StalledAfter > 0 {
				if at := e.activeAt.Add(d.queue.StalledAfter + time.Nanosecond); at.After(now) && (d.stallAt.IsZero() || at.Before(d.stallAt)) {
					d.stallAt = at
				}
			}
		}
	} else if len(d.watched) > 0 {
		changed := false
		keep := d.watched[:0]
		for _, e := range d.watched {
			if d.observe(e, now) {
				changed = true
			}
			if e.watching() {
				keep = append(keep, e)
			}
		}
		clear(d.watched[len(keep):]) // no stale pointers kept alive
		d.watched = keep
		if changed {
			d.plan(now)
		}
	}
	if d.dirty {
		if err := d.save(); err != nil {
			d.log.Error("save the torrent list", "err", err)
		}
	}
	if !d.startedUp && d.checked() {
		d.startedUp = true
		d.log.Info("start-up done", "torrents", len(d.entries), "took", now.Sub(d.started).Round(time.Millisecond))
		if d.cfg.ReturnStartupMemory {
			debug.FreeOSMemory()
		}
		close(d.ready)
	}
}

// checked says no running torrent is checking its data or yet to be
// looked at (a checking torrent is always watched).
func (d *Daemon) checked() bool {
	for _, e := range d.watched {
		if e.seen == nil || e.seen.State == swarm.StateChecking {
			return false
		}
	}
	return true
}

// next is when the loop must look again without being asked: the next
// tick while torrents are watched, else the first of the next sweep and
// a fetching magnet's stalled deadline. Running downloads need no
// deadline of their own: they are watched.
func (d *Daemon) next(now time.Time) time.Time {
	at := d.sweepAt
	if !d.stallAt.IsZero() && d.stallAt.Before(at) {
		at = d.stallAt
	}
	if tick := now.Add(d.cfg.Tick); len(d.watched) > 0 && tick.Before(at) {
		at = tick
	}
	return at
}

// observe looks at a running torrent's latest snapshot, once per look:
// it notes a failure, the end of a check, activity, completion and a
// reached seed ratio, and reports whether anything changed that the queue
// must hear of.
func (d *Daemon) observe(e *entry, now time.Time) bool {
	t := e.t
	if t == nil {
		return false
	}
	d.looks++
	snap := t.Snapshot()
	prev := e.seen
	e.seen = snap
	if isClosed(t.Done()) || snap.State == swarm.StateError {
		msg := snap.Error
		if err := t.Err(); err != nil {
			msg = err.Error()
		}
		if msg == "" {
			msg = "stopped unexpectedly"
		}
		e.failed = msg
		d.log.Warn("torrent failed", "id", e.ID, "name", e.Name, "err", msg)
		d.stop(e)
		return true
	}
	changed := prev == nil || prev.State != snap.State
	if e.checkOnly && snap.State != swarm.StateChecking {
		e.checkOnly = false // checked: stopped again by the plan
		changed = true
	}
	wasStalled := d.queue.stalled(true, e.activeAt, now)
	if snap.DownRate > 0 || snap.UpRate > 0 || snap.State == swarm.StateChecking {
		e.activeAt = now
	}
	if d.queue.stalled(true, e.activeAt, now) != wasStalled && !e.complete() {
		changed = true
	}
	if isClosed(t.Completed()) && e.Done.IsZero() {
		e.Done = now
		d.dirty = true
		changed = true
		if c := d.cfg.CompleteDir; c != "" && e.Dir != c {
			e.moving = true
			d.stop(e)
			return true
		}
	}
	if e.SeedRatio > 0 && !e.Paused && snap.State == swarm.StateSeeding &&
		float64(e.Uploaded+snap.Uploaded)/float64(max(snap.Size, 1)) >= e.SeedRatio {
		d.log.Info("seed ratio reached", "id", e.ID, "name", e.Name)
		e.Paused = true
		d.dirty = true
		changed = true
	}
	return changed
}

// plan starts and stops torrents as the queue says, over the list sorted
// once; the torrents it starts are watched from now on.
func (d *Daemon) plan(now time.Time) {
	order := d.sorted()
	items := make([]QueueItem, len(order))
	for i, e := range order {
		items[i] = QueueItem{ID: e.ID, Pos: e.QueuePos, Paused: e.Paused && !e.checkOnly || e.removing || e.recheck || e.moving,
			Failed: e.failed != "", Complete: e.complete(), Running: e.t != nil || e.fetch != nil, ActiveAt: e.activeAt}
	}
	run := Plan(items, d.queue, now)
	for _, e := range order {
		want := run[e.ID]
		switch {
		case want && e.t == nil && e.stopping == nil && e.fetch == nil:
			d.start(e, now)
			if e.watching() {
				d.watched = append(d.watched, e)
			}
		case !want && (e.t != nil || e.fetch != nil):
			d.stop(e)
		}
	}
}

// start runs a torrent, or fetches its metadata first.
func (d *Daemon) start(e *entry, now time.Time) {
	e.activeAt = now
	if e.m == nil {
		d.fetchMetadata(e)
		return
	}
	cfg := d.cfg.Torrent
	cfg.Dir, cfg.StateDir = e.Dir, d.cfg.StateDir
	cfg.DownloadLimit, cfg.UploadLimit = e.DownLimit, e.UpLimit
	cfg.Peers = append(slices.Clone(cfg.Peers), e.peers...)
	t, err := d.s.Add(e.m, cfg)
	if err != nil {
		e.failed = err.Error()
		d.log.Warn("start torrent", "id", e.ID, "name", e.Name, "err", err)
		return
	}
	e.t, e.last, e.seen = t, nil, nil
	if e.Sequential {
		go t.SetSequential(true) // waits for the data check: not on the loop
	}
	if prios := e.Priorities; len(prios) > 0 {
		// SetFilePriority waits for the data check: not on the loop.
		files := e.m.Layout.ShownFiles()
		go func() {
			for i, p := range prios {
				if i < len(files) && p != "normal" {
					t.SetFilePriority(files[i], parsePriority(p))
				}
			}
		}()
	}
}

// stop tells a torrent to stop; the loop collects it once it has.
func (d *Daemon) stop(e *entry) {
	if e.fetch != nil {
		e.fetch()
		e.fetch = nil
	}
	if e.t == nil {
		return
	}
	t := e.t
	e.t, e.stopping = nil, t
	go func() { t.Stop(); d.poke() }()
}

// finishStop collects a stopped torrent: its counters, a pending recheck
// or removal.
func (d *Daemon) finishStop(e *entry) {
	d.account(e, e.stopping.Snapshot())
	e.stopping = nil
	if e.recheck {
		d.forgetPieces(e)
	}
	if e.removing {
		d.finishRemove(e)
		return
	}
	if e.moving {
		d.moveToComplete(e)
	}
}

// moveToComplete moves a stopped, finished download to the complete
// directory in the background; it starts again from there, its resume
// state still valid (a rename, or a copy that keeps mtimes). The target is
// saved first, so a daemon killed during the move finishes it on restart
// (files already moved are skipped).
func (d *Daemon) moveToComplete(e *entry) {
	if e.MoveTo == "" {
		e.MoveTo = d.cfg.CompleteDir
		if err := d.save(); err != nil {
			d.log.Error("save the torrent list", "err", err)
		}
	}
	id, m, from, to := e.ID, e.m, e.Dir, e.MoveTo
	d.fetches.Add(1)
	go func() {
		defer d.fetches.Done()
		err := moveData(m, from, to)
		if d.call(func() error { d.moved(id, to, err); return nil }) != nil {
			// The daemon is closing: it applies this before its last save.
			d.lateMu.Lock()
			d.late = append(d.late, func() { d.moved(id, to, err) })
			d.lateMu.Unlock()
		}
	}()
}

// moved records the end of a move, on the loop.
func (d *Daemon) moved(id int, to string, err error) {
	e := d.entries[id]
	if e == nil {
		return
	}
	e.moving = false
	d.dirty = true
	if err != nil {
		e.failed = "move to the complete directory: " + err.Error()
		d.log.Warn("move to the complete directory", "id", id, "err", err)
		return
	}
	d.log.Info("moved to the complete directory", "id", id, "name", e.Name, "dir", to)
	e.Dir, e.MoveTo = to, ""
}

// peerLookupTimeout bounds the host-name lookups of one magnet's peers.
const peerLookupTimeout = 10 * time.Second

// fetchMetadata asks peers for a magnet's metainfo in the background.
func (d *Daemon) fetchMetadata(e *entry) {
	mag, err := meta.ParseMagnet(e.Magnet)
	if err != nil {
		e.failed = err.Error()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.fetch = cancel
	id := e.ID
	req := swarm.MetadataRequest{InfoHash: mag.InfoHash, V2InfoHash: mag.V2InfoHash, HasV2: mag.HasV2, Name: mag.Name,
		Trackers: mag.Trackers, WebSeeds: mag.WebSeeds, Peers: slices.Clone(d.cfg.Torrent.Peers),
		Lookup: d.s.DHTLookup()}
	if d.cfg.Torrent.DisableTrackers {
		req.Trackers = nil
	}
	d.fetches.Add(1)
	go func() {
		defer d.fetches.Done()
		// x.pe peers may be host names, as get and seed take them; the
		// lookups run here, off the loop.
		lookupCtx, done := context.WithTimeout(ctx, peerLookupTimeout)
		peers, skipped, over := hostport.MagnetPeers(lookupCtx, mag.Peers)
		done()
		for _, sk := range skipped {
			d.log.Warn("skipping a magnet link's peer", "id", id, "peer", sk.Peer, "err", sk.Err)
		}
		if over > 0 {
			d.log.Warn("magnet link names too many peers by host name; the rest are not looked up", "id", id, "not looked up", over)
		}
		req.Peers = append(req.Peers, peers...)
		m, found, err := d.s.FetchMetadata(ctx, req)
		var raw bytes.Buffer
		if err == nil {
			err = m.Write(&raw)
		}
		if err == nil {
			err = atomicfile.Write(d.torrentPath(m.InfoHash.HexString()), raw.Bytes(), 0o600)
		}
		d.call(func() error {
			e := d.entries[id]
			if e == nil || e.fetch == nil {
				return nil // removed or stopped meanwhile
			}
			e.fetch = nil
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				e.failed = "metadata: " + err.Error()
				return nil
			}
			e.m, e.Name, e.Magnet, e.peers = m, m.Name, "", found
			d.dirty = true
			return nil
		})
		cancel()
	}()
}

func parsePriority(p string) picker.Priority {
	switch p {
	case "skip":
		return picker.Skip
	case "low":
		return picker.Low
	case "high":
		return picker.High
	}
	return picker.Normal
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// forgetPieces drops resume state so the next start hashes everything.
func (d *Daemon) forgetPieces(e *entry) {
	e.recheck = false
	if err := os.Remove(d.resumePath(e.InfoHash)); err != nil && !errors.Is(err, os.ErrNotExist) {
		d.log.Warn("remove resume state", "id", e.ID, "err", err)
	}
	e.last, e.have, e.Done = nil, 0, time.Time{}
	d.dirty = true
}
