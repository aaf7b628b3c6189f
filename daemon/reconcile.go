package daemon

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/shoal-torrent/shoal/internal/atomicfile"
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

// complete says whether a torrent is a seed, for the queue.
func (e *entry) complete() bool {
	if e.t != nil {
		if s := e.t.Snapshot(); s != nil && s.State != swarm.StateChecking {
			return s.State == swarm.StateSeeding
		}
	}
	return !e.Done.IsZero()
}

// reconcile notices what the running torrents did (finished, failed,
// reached their ratio), then starts and stops torrents as the queue says.
func (d *Daemon) reconcile(now time.Time) {
	for _, e := range d.entries {
		if e.stopping != nil && isClosed(e.stopping.Done()) {
			d.finishStop(e)
		}
	}
	for _, e := range d.entries {
		if e.t == nil {
			continue
		}
		t := e.t
		snap := t.Snapshot()
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
			continue
		}
		if e.checkOnly && snap.State != swarm.StateChecking {
			e.checkOnly = false // checked: stopped again below
		}
		if snap.DownRate > 0 || snap.UpRate > 0 || snap.State == swarm.StateChecking {
			e.activeAt = now
		}
		if isClosed(t.Completed()) && e.Done.IsZero() {
			e.Done = now
			d.dirty = true
			if c := d.cfg.CompleteDir; c != "" && e.Dir != c {
				e.moving = true
				d.stop(e)
				continue
			}
		}
		if e.SeedRatio > 0 && snap.State == swarm.StateSeeding &&
			float64(e.Uploaded+snap.Uploaded)/float64(max(snap.Size, 1)) >= e.SeedRatio {
			d.log.Info("seed ratio reached", "id", e.ID, "name", e.Name)
			e.Paused = true
			d.dirty = true
		}
	}
	items := make([]QueueItem, 0, len(d.entries))
	for _, e := range d.entries {
		items = append(items, QueueItem{ID: e.ID, Pos: e.QueuePos, Paused: e.Paused && !e.checkOnly || e.removing || e.recheck || e.moving,
			Failed: e.failed != "", Complete: e.complete(), Running: e.t != nil || e.fetch != nil, ActiveAt: e.activeAt})
	}
	plan := Plan(items, d.queue, now)
	for _, e := range d.sorted() {
		want := plan[e.ID]
		switch {
		case want && e.t == nil && e.stopping == nil && e.fetch == nil:
			d.start(e, now)
		case !want && (e.t != nil || e.fetch != nil):
			d.stop(e)
		}
	}
	if d.dirty {
		if err := d.save(); err != nil {
			d.log.Error("save the torrent list", "err", err)
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
	e.t, e.last = t, nil
	if e.Sequential {
		go t.SetSequential(true) // waits for the data check: not on the loop
	}
	if prios := e.Priorities; len(prios) > 0 {
		// SetFilePriority waits for the data check: not on the loop.
		files := fileIndexes(e.m)
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

// fetchMetadata asks peers for a magnet's metainfo in the background.
func (d *Daemon) fetchMetadata(e *entry) {
	mag, err := meta.ParseMagnet(e.Magnet)
	if err != nil {
		e.failed = err.Error()
		return
	}
	var peers []netip.AddrPort
	peers = append(peers, d.cfg.Torrent.Peers...)
	for _, p := range mag.Peers {
		if ap, err := netip.ParseAddrPort(p); err == nil {
			peers = append(peers, ap)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.fetch = cancel
	id := e.ID
	req := swarm.MetadataRequest{InfoHash: mag.InfoHash, V2InfoHash: mag.V2InfoHash, HasV2: mag.HasV2, Name: mag.Name,
		Trackers: mag.Trackers, WebSeeds: mag.WebSeeds, Peers: peers,
		Lookup: d.s.DHTLookup()}
	if d.cfg.Torrent.DisableTrackers {
		req.Trackers = nil
	}
	d.fetches.Add(1)
	go func() {
		defer d.fetches.Done()
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

// fileIndexes maps the files people see (no BEP 47 padding) to the
// layout's.
func fileIndexes(m *meta.Torrent) []int {
	var out []int
	for i, f := range m.Layout.Files {
		if !f.Pad {
			out = append(out, i)
		}
	}
	return out
}

func parsePriority(p string) picker.Priority {
	switch p {
	case "skip":
		return picker.Skip
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
