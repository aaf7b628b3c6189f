package swarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/swarm/choke"
	"github.com/shoal-torrent/shoal/swarm/evict"
	"github.com/shoal-torrent/shoal/swarm/spread"
	"github.com/shoal-torrent/shoal/swarm/superseed"
)

// TorrentConfig says how one torrent is downloaded and seeded.
type TorrentConfig struct {
	// Dir is the save path: it holds a single-file torrent's file or a
	// multi-file torrent's top folder.
	Dir string
	// StateDir holds resume state; empty disables it.
	StateDir string
	// DownloadLimit and UploadLimit bound this torrent alone, in bytes
	// per second, within the session's limits; 0 leaves only those.
	DownloadLimit, UploadLimit int64
	// ResumeEvery is how often a download saves its resume state while
	// pieces are being verified, besides at stop and completion; zero
	// saves only then.
	ResumeEvery time.Duration
	// MaxPeers bounds this torrent's connections.
	MaxPeers int
	// MaxPeersPerIP bounds connections from one address, so one host
	// cannot take every slot. Loopback tests with many peers raise it.
	MaxPeersPerIP int
	// Evict says when a full torrent may close an idle peer for a new one.
	Evict evict.Config
	// UploadSlots is how many peers are unchoked at once, optimistic
	// included.
	UploadSlots int
	// Peers are dialled at start, in addition to those trackers return.
	Peers []netip.AddrPort
	// DisableTrackers skips the torrent's trackers (tests, --peer only).
	DisableTrackers bool
	// WebSeeds says how the torrent's url-list servers are used.
	WebSeeds WebSeedConfig
	// Picker and Choke tune the two policies (DefaultTorrentConfig sets
	// their defaults). The choker's slots are UploadSlots, or more while
	// spreading: each rechoke sets them, whatever Choke.Slots says.
	Picker picker.Config
	Choke  choke.Config
	// SuperSeed seeds a torrent that starts complete the BEP 16 way:
	// no bitfield, pieces revealed one at a time to each peer, the next
	// only once the last has reached another peer, so the seeder sends
	// each piece about once. SuperSeedPolicy tunes it.
	SuperSeed       bool
	SuperSeedPolicy superseed.Config
	// NoSpread turns off the initial seeder's policy (swarm/spread), on
	// by default: while a complete torrent is the one source of some
	// piece, a request for a piece on its way to another peer, or held
	// by one, is rejected once, and up to spreadSlots peers are
	// unchoked, so the seeder sends each piece about once and every
	// leecher soon has some to trade. SpreadPolicy tunes it.
	NoSpread     bool
	SpreadPolicy spread.Config

	// openStorage replaces the files on disk (tests: memory, slow or
	// failing disks); nil opens Dir.
	openStorage func(l *piece.Layout, dir string) (storage, error)
}

// DefaultTorrentConfig returns what common clients do: 80 peers, 4 upload
// slots; and 4 connections per IP (libtorrent allows 1, which would keep
// several clients behind one NAT from the same swarm).
func DefaultTorrentConfig(dir string) TorrentConfig {
	return TorrentConfig{Dir: dir, ResumeEvery: DefaultResumeEvery, MaxPeers: 80, MaxPeersPerIP: 4, UploadSlots: 4, Evict: evict.DefaultConfig(),
		Picker: picker.DefaultConfig(), Choke: choke.DefaultConfig(), WebSeeds: DefaultWebSeedConfig(),
		SuperSeedPolicy: superseed.DefaultConfig(), SpreadPolicy: spread.DefaultConfig()}
}

// Validate reports settings the engine cannot run with.
func (c *TorrentConfig) Validate() error {
	if c.Dir == "" {
		return errors.New("no download directory")
	}
	if c.DownloadLimit < 0 || c.UploadLimit < 0 {
		return errors.New("rate limits cannot be negative")
	}
	if c.ResumeEvery < 0 {
		return errors.New("resume save interval cannot be negative")
	}
	if c.MaxPeers < 1 {
		return errors.New("max peers must be at least 1")
	}
	if c.UploadSlots < 1 {
		return errors.New("upload slots must be at least 1")
	}
	if c.MaxPeersPerIP < 1 {
		return errors.New("max peers per IP must be at least 1")
	}
	if err := c.Evict.Validate(); err != nil {
		return err
	}
	if err := c.WebSeeds.Validate(); err != nil {
		return err
	}
	if err := c.SuperSeedPolicy.Validate(); err != nil {
		return err
	}
	if err := c.SpreadPolicy.Validate(); err != nil {
		return err
	}
	if err := c.Picker.Validate(); err != nil {
		return err
	}
	return c.Choke.Validate()
}

// Torrent is the handle to one torrent running in a Session. Its state
// lives in a single goroutine (the loop); the handle only sends it commands
// and reads the snapshots it publishes.
type Torrent struct {
	s   *Session
	m   *meta.Torrent
	cfg TorrentConfig
	log *slog.Logger
	// events carries the connections' messages; the loop makes it with
	// its first connection (34 KiB of buffer a peerless seed never uses).
	events chan connEvent
	conns  chan *conn  // handshaken connections, from the session or dials
	cmds   chan func() // run on the loop goroutine
	dialed chan dialResult
	peers  chan peerBatch
	// pokes asks the loop to publish a snapshot: tracker status changed
	// while the loop, idle, runs no timer that would show it.
	pokes chan struct{}

	snap      atomic.Pointer[Snapshot]
	completed chan struct{} // closed when every wanted piece is verified
	done      chan struct{} // closed when the loop has exited
	cancel    context.CancelFunc
	err       error // why the loop exited, readable after done

	// Counters read by announcers without the loop.
	uploadedTotal    atomic.Int64
	uploadedFromFile atomic.Int64 // of those, sent by sendfile (conn.fromFile)
	downloadedTotal  atomic.Int64
	left             atomic.Int64
	leftAfterCheck   atomic.Int64 // -1 until the data on disk is checked
	// wantPeers is set by the loop when it has room for more peers, so
	// the DHT looks more often; wantMore wakes the DHT loop when it turns
	// on.
	wantPeers atomic.Bool
	wantMore  chan struct{}
	stopOnce  sync.Once
	limits    torrentLimits
	// v2trees answers hash requests of torrents with v2 piece layers;
	// nil otherwise. Only the loop goroutine uses it.
	v2trees *v2Trees
	// state is the loop's, set when it starts; only functions run through
	// do may touch it.
	state *loop
}

func (t *Torrent) loopState() *loop { return t.state }

// poke asks the loop to publish soon; it never blocks.
func (t *Torrent) poke() {
	select {
	case t.pokes <- struct{}{}:
	default:
	}
}

// Session is the session the torrent runs in.
func (t *Torrent) Session() *Session { return t.s }

// InfoHash identifies the torrent.
func (t *Torrent) InfoHash() [20]byte { return t.m.InfoHash }

// Meta is the torrent's checked metainfo.
func (t *Torrent) Meta() *meta.Torrent { return t.m }

// Snapshot returns the latest published state; it never blocks the swarm.
func (t *Torrent) Snapshot() *Snapshot { return t.snap.Load() }

// LeftAfterCheck is what the torrent lacked once its data on disk was
// checked, or -1 before that: what this run has to download, for a
// summary that says how much came from peers.
func (t *Torrent) LeftAfterCheck() int64 { return t.leftAfterCheck.Load() }

// Completed is closed once every wanted piece is downloaded and verified.
func (t *Torrent) Completed() <-chan struct{} { return t.completed }

// Done is closed when the torrent has stopped; Err then says why.
func (t *Torrent) Done() <-chan struct{} { return t.done }

// Err is the reason the torrent stopped: nil after Stop.
func (t *Torrent) Err() error {
	select {
	case <-t.done:
		return t.err
	default:
		return nil
	}
}

// peerBatch is addresses from one source (tracker, dht, ...).
type peerBatch struct {
	addrs  []netip.AddrPort
	source string
}

// AddPeers hands addresses to the dialer.
func (t *Torrent) AddPeers(addrs []netip.AddrPort) { t.addPeers(addrs, "manual") }

func (t *Torrent) addPeers(addrs []netip.AddrPort, source string) {
	select {
	case t.peers <- peerBatch{addrs, source}:
	case <-t.done:
	}
}

// Pause stops requesting and uploading without dropping peers; Resume
// undoes it. Both wait for the loop.
func (t *Torrent) Pause() bool {
	return t.do(func() { l := t.loopState(); l.paused = true; l.rechoke(l.now()) })
}

// Resume restarts a paused torrent.
func (t *Torrent) Resume() bool {
	return t.do(func() {
		l := t.loopState()
		l.paused = false
		l.rechoke(l.now())
		for _, c := range l.conns {
			l.request(c)
		}
	})
}

// SetFilePriority changes one file's priority (Skip, Low, Normal, High); the
// pieces it shares with other files take the highest of their priorities.
func (t *Torrent) SetFilePriority(file int, pr picker.Priority) bool {
	if file < 0 || file >= len(t.m.Layout.Files) {
		return false
	}
	return t.do(func() {
		l := t.loopState()
		l.picker.SetFilePriority(file, pr)
		l.refreshInterest()
	})
}

// Stop closes every connection, saves resume state, sends a stopped
// announce and waits for all of it.
func (t *Torrent) Stop() {
	t.stopOnce.Do(t.cancel)
	<-t.done
}

// do runs fn on the loop goroutine and waits for it; false if the loop is
// gone. It is how tests and commands read or change state safely.
func (t *Torrent) do(fn func()) bool {
	ran := make(chan struct{})
	select {
	case t.cmds <- func() { fn(); close(ran) }:
	case <-t.done:
		return false
	}
	select {
	case <-ran:
		return true
	case <-t.done:
		return false
	}
}

func (t *Torrent) resumePath() string {
	if t.cfg.StateDir == "" {
		return ""
	}
	return filepath.Join(t.cfg.StateDir, t.m.InfoHash.HexString()+".resume")
}

// checkData decides which pieces we have at start: resume state where the
// files are unchanged, hashing for the rest, and a full verify without it.
func (t *Torrent) checkData(ctx context.Context, st storage) (*piece.Bitfield, error) {
	l := t.m.Layout
	var only *piece.Bitfield
	have := piece.NewBitfield(l.NumPieces)
	if p := t.resumePath(); p != "" {
		if r, remembered, err := piece.LoadResume(p, t.m.InfoHash.HexString(), l); err == nil {
			stats, err := st.Stats()
			if err != nil {
				return nil, err
			}
			trusted, recheck := r.Check(l, remembered, stats)
			have, only = trusted, recheck
			t.log.Info("resume state loaded", "trusted", trusted.Count(), "recheck", recheck.Count())
		}
	}
	if only != nil && only.Count() == 0 {
		return have, nil
	}
	t.publishChecking()
	var v *piece.Verification
	var err error
	if v2 := t.v2Only(); v2 != nil {
		v, err = piece.VerifyV2(ctx, st, l, v2, piece.HashOptions{Only: only})
	} else {
		v, err = piece.Verify(ctx, st, l, t.m.Hashes, piece.HashOptions{Only: only})
	}
	if err != nil {
		return nil, fmt.Errorf("check existing data: %w", err)
	}
	for i := v.Have.NextSet(0); i >= 0; i = v.Have.NextSet(i + 1) {
		have.Set(i)
	}
	return have, nil
}

// v2Only returns a v2-only torrent's piece hashes, which pieces are
// checked against instead of SHA-1 ones; nil for v1 and hybrid torrents.
// Hybrids are checked by SHA-1 alone: it covers every byte, padding
// included, and a second (SHA-256) hash of each piece would double the
// hashing cost of every download.
func (t *Torrent) v2Only() [][piece.HashSizeV2]byte {
	if t.m.HasV1 || t.m.V2 == nil {
		return nil
	}
	return t.m.V2.PieceHashes
}

// publishChecking shows the torrent as checking its data: nothing known
// verified yet, so all of it left (a zero Left would read as complete).
func (t *Torrent) publishChecking() {
	t.snap.Store(&Snapshot{Name: t.m.Name, InfoHash: t.m.InfoHash.HexString(), State: StateChecking,
		Size: t.m.Layout.DataTotal, Left: t.left.Load(), NumPieces: t.m.Layout.NumPieces, PieceLength: t.m.Layout.PieceLength})
}
