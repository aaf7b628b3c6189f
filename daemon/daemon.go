package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/swarm"
)

// ErrClosed is returned by every operation once the daemon has stopped.
var ErrClosed = errors.New("the daemon is shutting down")

// Config configures a Daemon.
type Config struct {
	// StateDir holds the torrent list, each torrent's metainfo and its
	// resume state.
	StateDir string
	// Dir is the default save path for added torrents.
	Dir string
	// AllowedDirs are further roots a remote caller may save under; Dir
	// is always allowed. Nothing is ever written outside them.
	AllowedDirs []string
	// CompleteDir, when set, is where a finished download moves; it
	// seeds from there.
	CompleteDir string
	// Queue bounds how many torrents run at once.
	Queue QueueLimits
	// Torrent is the template every torrent runs with; Dir and StateDir
	// are set per torrent.
	Torrent swarm.TorrentConfig
	// Encryption and LSD are the session's, for callers to read.
	Encryption swarm.Encryption
	LSD        bool
	// Tick is how often the daemon looks at the torrents that need it
	// (checking, downloading, seeding to a ratio); idle seeds are looked
	// at only when something happens, and every 30 ticks. 0 means a
	// second.
	Tick time.Duration
	// ReturnStartupMemory hands the memory start-up used (loading and
	// checking every torrent) back to the system at once when the last
	// start-up check is over, instead of leaving the runtime's background
	// scavenger to return it over the next minutes, a third of an idle
	// 10,000-torrent daemon's CPU. It is process-wide (a forced GC and
	// debug.FreeOSMemory), so only a daemon that is the process sets it.
	ReturnStartupMemory bool
	// Given names the session settings set above on the command line
	// (Dir, Queue, the session's rate limits): they win over those kept
	// from an earlier run's session-set, and are kept in turn, as
	// transmission-daemon's options are written into its settings.json.
	Given SessionKeys
	// Logger receives the daemon's logs; nil discards them.
	Logger *slog.Logger
	// Now is the daemon's clock; nil means time.Now.
	Now func() time.Time
}

// SessionKeys names session settings, for Config.Given.
type SessionKeys struct {
	Dir, DownLimit, UpLimit, MaxDownloads, MaxSeeds bool
}

// DefaultConfig queues five downloads at once, as Transmission does, and
// any number of seeds, and returns start-up memory to the system.
func DefaultConfig(stateDir, dir string) Config {
	return Config{StateDir: stateDir, Dir: dir, Queue: QueueLimits{Downloads: 5, StalledAfter: 30 * time.Minute},
		Torrent: swarm.DefaultTorrentConfig(dir), Tick: time.Second, ReturnStartupMemory: true}
}

// Validate reports settings the daemon cannot run with.
func (c *Config) Validate() error {
	if c.StateDir == "" {
		return errors.New("daemon: no state directory")
	}
	if c.Dir == "" {
		return errors.New("daemon: no download directory")
	}
	if c.Queue.Downloads < 0 || c.Queue.Seeds < 0 {
		return errors.New("daemon: queue sizes cannot be negative")
	}
	if c.CompleteDir != "" && !filepath.IsAbs(c.CompleteDir) {
		return errors.New("daemon: the complete directory must be an absolute path")
	}
	if c.Tick < 0 {
		return errors.New("daemon: tick cannot be negative")
	}
	return nil
}

// Daemon runs the torrent list on one session. A single goroutine owns
// the list; every operation is a function it runs, so there is no lock
// around the torrents and a slow stop never holds up the others.
type Daemon struct {
	cfg   Config
	s     *swarm.Session
	log   *slog.Logger
	now   func() time.Time
	roots []string // cleaned absolute save roots

	cmds      chan func()
	wake      chan struct{}
	ready     chan struct{} // closed when start-up is over
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	// fetches tracks metadata fetches and moves so Close waits for them.
	fetches sync.WaitGroup
	// late holds what background work finished while the loop was
	// closing, for shutdown to apply before the last save.
	lateMu sync.Mutex
	late   []func()

	// Owned by the loop goroutine.
	entries  map[int]*entry
	nextID   int
	started  time.Time
	queue    QueueLimits
	dir      string
	sessUp   int64 // bytes of finished runs this session
	sessDown int64
	dirty    bool
	session  SessionSettings // kept in the state file
	// replan makes the loop look at every torrent and plan the queue
	// again: set by every operation that may change them (call, a stop
	// finished), not by the read-only ones (query).
	replan bool
	// watched are the running torrents looked at every tick.
	watched []*entry
	// looks counts snapshot looks (observe), for tests of what an idle
	// daemon costs.
	looks int
	// startedUp is set once every torrent started with the daemon has
	// checked its data.
	startedUp bool
	// sweepAt is when the loop next looks at every torrent anyway;
	// stallAt, when set, is when a fetching magnet stalls.
	sweepAt, stallAt time.Time
}

// entry is one torrent as the loop sees it.
type entry struct {
	Entry
	m        *meta.Torrent
	t        *swarm.Torrent // running
	stopping *swarm.Torrent // told to stop, not yet stopped
	fetch    context.CancelFunc
	peers    []netip.AddrPort // found while fetching metadata
	failed   string           // why it cannot run until started again
	last     *swarm.Snapshot  // the last run's final state
	seen     *swarm.Snapshot  // the running torrent's snapshot the loop last looked at
	have     int64            // verified bytes known without running
	// link is m's magnet link, made once for linkOf: every status (each
	// torrent-get poll) shows it.
	link     string
	linkOf   *meta.Torrent
	activeAt time.Time
	recheck  bool
	// checkOnly runs a stopped torrent just long enough to hash its
	// data (a verify asked of a stopped torrent).
	checkOnly bool
	moving    bool // stopping or moving to the complete dir
	removing  bool
	delete    bool
	deleted   chan error // told when a removal is finished
}

// New loads the torrent list from cfg.StateDir and starts every torrent
// the queue allows on s, from resume state where it is valid.
func New(cfg Config, s *swarm.Session) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Tick == 0 {
		cfg.Tick = time.Second
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, s: s, log: cfg.Logger, now: cfg.Now, cmds: make(chan func()), wake: make(chan struct{}, 1), ready: make(chan struct{}),
		quit: make(chan struct{}), done: make(chan struct{}), entries: map[int]*entry{}, queue: cfg.Queue}
	for _, r := range append([]string{cfg.Dir}, cfg.AllowedDirs...) {
		abs, err := filepath.Abs(r)
		if err != nil {
			return nil, err
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		d.roots = append(d.roots, abs)
	}
	d.dir = d.roots[0]
	st, err := loadState(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	d.nextID = st.NextID
	d.started = d.now()
	d.restoreSession(st.Session)
	for _, e := range st.Torrents {
		en := &entry{Entry: e}
		if e.Magnet == "" {
			m, err := meta.LoadWith(d.torrentPath(e.InfoHash), meta.ParseOptions{AllowV2Only: true})
			if err != nil {
				en.failed = fmt.Sprintf("metainfo lost: %v", err)
			} else {
				en.m = m
				en.have = d.resumeHave(en)
			}
		}
		d.entries[e.ID] = en
	}
	for _, e := range d.entries {
		if e.MoveTo != "" && e.m != nil {
			e.moving = true // killed during a move: finish it first
			d.moveToComplete(e)
		}
	}
	go d.run()
	return d, nil
}

// restoreSession applies the kept session settings the command line did
// not give; those it gave win, and are kept. A kept save path no longer
// under the roots is dropped with a log line.
func (d *Daemon) restoreSession(kept SessionSettings) {
	g := d.cfg.Given
	down, up := d.s.RateLimits()
	dir, downloads, seeds := d.dir, d.queue.Downloads, d.queue.Seeds
	var given SessionSettings
	if g.Dir {
		given.Dir = &dir
	}
	if g.DownLimit {
		given.DownLimit = &down
	}
	if g.UpLimit {
		given.UpLimit = &up
	}
	if g.MaxDownloads {
		given.MaxDownloads = &downloads
	}
	if g.MaxSeeds {
		given.MaxSeeds = &seeds
	}
	kept.merge(given)
	if err := d.applySession(kept); err != nil {
		d.log.Warn("the kept download directory is dropped", "err", err)
		kept.Dir = nil
		d.applySession(kept)
		d.dirty = true
	}
	d.session = kept
	if given != (SessionSettings{}) {
		d.dirty = true
	}
}

func (d *Daemon) torrentPath(hash string) string {
	return filepath.Join(d.cfg.StateDir, hash+".torrent")
}

func (d *Daemon) resumePath(hash string) string {
	return filepath.Join(d.cfg.StateDir, hash+".resume")
}

// resumeHave counts the bytes a stopped torrent's resume state claims,
// so a list shows its progress without hashing anything.
func (d *Daemon) resumeHave(e *entry) int64 {
	_, have, err := piece.LoadResume(d.resumePath(e.InfoHash), e.InfoHash, e.m.Layout)
	if err != nil {
		return 0
	}
	var n int64
	for i := have.NextSet(0); i >= 0; i = have.NextSet(i + 1) {
		n += e.m.Layout.DataBytes(i)
	}
	return n
}

// run is the loop: it owns the list, runs operations and looks at the
// torrents when something happened, or at a deadline (see next); an idle
// daemon sleeps.
func (d *Daemon) run() {
	defer close(d.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	d.replan = true
	for {
		now := d.now()
		d.reconcile(now)
		timer.Reset(max(d.next(now).Sub(now), 0))
		select {
		case <-d.quit:
			d.shutdown()
			return
		case fn := <-d.cmds:
			fn()
		case <-d.wake:
			d.replan = true
		case <-timer.C:
		}
	}
}

// poke makes the loop look at all its torrents soon; it never blocks.
func (d *Daemon) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// call runs fn on the loop and returns its error; the loop then looks at
// every torrent and plans the queue again, as fn may have changed them.
func (d *Daemon) call(fn func() error) error {
	return d.send(func() error { d.replan = true; return fn() })
}

// query runs a read-only fn on the loop: nothing is planned again, so
// callers polling the list (a UI, an RPC client every second) cost what
// they read and no more.
func (d *Daemon) query(fn func() error) error { return d.send(fn) }

func (d *Daemon) send(fn func() error) error {
	res := make(chan error, 1)
	select {
	case d.cmds <- func() { res <- fn() }:
	case <-d.done:
		return ErrClosed
	case <-d.quit:
		return ErrClosed
	}
	return <-res
}

// Close stops every torrent (stopped announces sent, resume state saved),
// saves the list and returns once all of it is done. The session is the
// caller's to close.
func (d *Daemon) Close() error {
	d.closeOnce.Do(func() { close(d.quit) })
	<-d.done
	return nil
}

// Ready is closed once start-up is over: every torrent the queue started
// with the daemon has checked its data (from resume state where it is
// valid) and, with ReturnStartupMemory, the memory that took is returned.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// Done is closed once the daemon has stopped.
func (d *Daemon) Done() <-chan struct{} { return d.done }

func (d *Daemon) shutdown() {
	var wg sync.WaitGroup
	for _, e := range d.entries {
		if e.fetch != nil {
			e.fetch()
		}
		for _, t := range []*swarm.Torrent{e.t, e.stopping} {
			if t != nil {
				wg.Add(1)
				go func() { defer wg.Done(); t.Stop() }()
			}
		}
	}
	wg.Wait()
	d.fetches.Wait()
	for _, fn := range d.late {
		fn()
	}
	for _, e := range d.entries {
		if e.t != nil {
			d.account(e, e.t.Snapshot())
		}
		if e.stopping != nil {
			d.account(e, e.stopping.Snapshot())
		}
		e.t, e.stopping = nil, nil
		if e.deleted != nil {
			e.deleted <- ErrClosed
		}
	}
	if err := d.save(); err != nil {
		d.log.Error("save the torrent list", "err", err)
	}
}

// account adds a finished run's counters to the entry's totals.
func (d *Daemon) account(e *entry, s *swarm.Snapshot) {
	if s == nil {
		return
	}
	e.Uploaded += s.Uploaded
	e.Downloaded += s.Downloaded
	d.sessUp += s.Uploaded
	d.sessDown += s.Downloaded
	e.last = s
	e.have = s.Size - s.Left
}

// save writes the list; a failure is logged by the caller and retried at
// the next change.
func (d *Daemon) save() error {
	st := state{Version: stateVersion, NextID: d.nextID, Session: d.session}
	for _, e := range d.sorted() {
		if e.removing {
			continue
		}
		st.Torrents = append(st.Torrents, e.Entry)
	}
	if err := saveState(d.cfg.StateDir, st); err != nil {
		return err
	}
	d.dirty = false
	return nil
}
