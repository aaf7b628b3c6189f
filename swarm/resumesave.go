package swarm

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoal-torrent/shoal/piece"
)

// DefaultResumeEvery is how often a download saves its resume state while
// it runs, so a crash or kill -9 costs at most this much hashing again.
const DefaultResumeEvery = 30 * time.Second

// resumeSaver writes a torrent's resume state. A save during the download
// runs on a goroutine of its own: the loop hands it a copy of the verified
// pieces and never waits on the disk. Saves are numbered so a slow early
// one can never land over a later one (the one at stop, say).
type resumeSaver struct {
	mu      sync.Mutex // serialises writes; guards written
	written uint64     // number of the newest state on disk

	// The loop's own: what it handed out last, and when.
	seq       uint64
	lastAt    time.Time
	lastCount int
	pending   bool        // a save was asked for while another ran
	busy      atomic.Bool // a background save is in flight
	wg        sync.WaitGroup
}

// write saves have, with the files' stats taken now (which syncs the data
// first, so the state never claims bytes the disk could lose). partial
// names the files the download may still write to.
func (r *resumeSaver) write(seq uint64, path, infoHash string, l *piece.Layout, st storage, have *piece.Bitfield, partial []int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq < r.written {
		return nil // a newer state is already on disk
	}
	stats, err := st.Stats()
	if err != nil {
		return fmt.Errorf("save resume state: %w", err)
	}
	res := piece.NewResume(infoHash, l, have, stats)
	res.Partial = partial
	if err := piece.SaveResume(path, res); err != nil {
		return err
	}
	r.written = seq
	return nil
}

// saveResume writes the state now and waits: at stop, when the loop is
// done with peers and the disk is all that is left to do.
func (l *loop) saveResume() error {
	p := l.t.resumePath()
	if p == "" {
		return nil
	}
	r := &l.resume
	r.seq++
	v := l.picker.Verified()
	r.lastCount = v.Count()
	return r.write(r.seq, p, l.t.m.InfoHash.HexString(), l.layout, l.st, v, nil)
}

// saveResumeAsync starts a save of the verified pieces in the background,
// unless one is still running (the next tick tries again).
func (l *loop) saveResumeAsync(now time.Time) {
	p := l.t.resumePath()
	r := &l.resume
	if p == "" {
		return
	}
	if r.busy.Load() {
		r.pending = true // the next tick saves
		return
	}
	v := l.picker.Verified()
	r.pending = false
	r.seq++
	r.lastAt, r.lastCount = now, v.Count()
	r.busy.Store(true)
	r.wg.Add(1)
	seq, have, ih, layout, st, log := r.seq, v.Clone(), l.t.m.InfoHash.HexString(), l.layout, l.st, l.t.log
	go func() {
		defer r.wg.Done()
		defer r.busy.Store(false)
		partial := piece.PartialFiles(layout, have)
		if err := r.write(seq, p, ih, layout, st, have, partial); err != nil {
			log.Warn("save resume state", "err", err)
			return
		}
		log.Debug("resume state saved", "verified", have.Count(), "partial_files", len(partial))
	}()
}

// resumeTick saves the state once every ResumeEvery while pieces are
// being verified (an idle or seeding torrent writes nothing), and a save
// put off because another was running.
func (l *loop) resumeTick(now time.Time) {
	every := l.t.cfg.ResumeEvery
	r := &l.resume
	if r.pending {
		l.saveResumeAsync(now)
		return
	}
	if every <= 0 || now.Sub(r.lastAt) < every || l.picker.Verified().Count() == r.lastCount {
		return
	}
	l.saveResumeAsync(now)
}
