package swarm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/shoal-torrent/shoal/piece"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// SessionConfig configures the process-wide part of the engine.
type SessionConfig struct {
	// ListenAddr is the TCP address for incoming peers; port 0 picks a
	// free one (see Session.Port).
	ListenAddr string
	// MaxConns bounds connections across all torrents.
	MaxConns int
	// MaxHalfOpen bounds incoming connections that have not finished the
	// handshake: each costs a descriptor, and a flood of them must not
	// run the process out.
	MaxHalfOpen int
	// DownloadLimit and UploadLimit cap the session's rates in bytes per
	// second; 0 means unlimited.
	DownloadLimit, UploadLimit int64
	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger
	// Version is shoal's version as peers and trackers see it: in the
	// peer ID, the extension handshake and the User-Agent.
	Version string
	// DHT, when set, runs a DHT node for the session's non-private
	// torrents. Its Addr defaults to the TCP listen port.
	DHT *DHTConfig
	// LSD, when set, announces non-private torrents on the LAN.
	LSD *LSDConfig
	// Encryption is the MSE/PE policy for dialled and accepted peers.
	Encryption Encryption
	// DisableUTP turns uTP (BEP 29) off: no UDP listener beside the TCP
	// one, and dials go over TCP alone. With uTP on, the DHT shares its
	// UDP socket, so everything runs on one port number.
	DisableUTP bool
	// MaxOpenFiles bounds the data files every torrent of the session
	// holds open together; 0 means piece.DefaultSessionOpenFiles. Idle
	// torrents hold none, so 10,000 seeds cost no descriptor each.
	MaxOpenFiles int
}

// DefaultSessionConfig listens on port 6881 of every interface with 500
// connections at most, as common clients do.
func DefaultSessionConfig() SessionConfig {
	return SessionConfig{ListenAddr: ":6881", MaxConns: 500, MaxHalfOpen: 64, Version: "0.1",
		Encryption: EncryptionPreferred}
}

// Validate reports settings the session cannot run with.
func (c *SessionConfig) Validate() error {
	if c.MaxConns < 1 {
		return errors.New("max connections must be at least 1")
	}
	if c.MaxHalfOpen < 1 {
		return errors.New("max half-open connections must be at least 1")
	}
	if c.DownloadLimit < 0 || c.UploadLimit < 0 {
		return errors.New("rate limits cannot be negative")
	}
	if c.MaxOpenFiles < 0 {
		return errors.New("max open files cannot be negative")
	}
	if err := c.Encryption.Validate(); err != nil {
		return err
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Session runs many torrents on one listen port, routing incoming
// connections by infohash.
type Session struct {
	cfg    SessionConfig
	ln     net.Listener
	utp    *utpSocket // nil with uTP off
	port   uint16
	peerID [20]byte
	log    *slog.Logger
	// down and up are nil when unlimited, so an unlimited session takes
	// no lock per block; SetRateLimits swaps them.
	down, up atomic.Pointer[rate.Limiter]
	conns    atomic.Int64 // handshaken connections across torrents
	halfOpen atomic.Int64 // incoming connections still handshaking
	// pending holds those connections and when each arrived: when they
	// reach MaxHalfOpen the oldest is closed to admit a newcomer, so a
	// flood of silent connections delays honest peers by nothing.
	pendingMu sync.Mutex
	pending   map[net.Conn]pendingConn
	pendingIP map[netip.Addr]int
	dht       *DHT // nil without a DHT
	files     *piece.FileCache
	lsd       *lsd // nil without local service discovery
	network   atomic.Pointer[NetworkSnapshot]
	portMoved portWatch // fires when announcePort changes
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	// now is the engine's clock and manualTicks stops the loops' own
	// tickers: the loop-harness tests drive both.
	now         func() time.Time
	manualTicks bool

	mu       sync.Mutex            // guards torrents, the infohash routing table
	torrents map[[20]byte]*Torrent // a hybrid's under both its hashes
	limitsMu sync.Mutex            // guards cfg's rate limits
}

// NewSession starts listening.
func NewSession(cfg SessionConfig) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Session{cfg: cfg, log: cfg.Logger, torrents: map[[20]byte]*Torrent{}, now: time.Now,
		files: piece.NewFileCache(cfg.MaxOpenFiles)}
	if err := s.listen(); err != nil {
		return nil, err
	}
	ln := s.ln
	s.port = uint16(addrOf(ln.Addr()).Port())
	copy(s.peerID[:], "-SH"+versionDigits(cfg.Version)+"-")
	rand.Read(s.peerID[8:])
	s.down.Store(newLimiter(cfg.DownloadLimit))
	s.up.Store(newLimiter(cfg.UploadLimit))
	if cfg.DHT != nil {
		dc := *cfg.DHT
		if dc.Addr == "" {
			host, _, _ := net.SplitHostPort(cfg.ListenAddr)
			dc.Addr = net.JoinHostPort(host, fmt.Sprint(s.port))
		}
		if dc.Logger == nil {
			dc.Logger = cfg.Logger
		}
		if s.utp != nil && dc.Conn == nil && s.utp.sharesPort(cfg.DHT.Addr) {
			dc.Conn = s.utp.packetConn()
		}
		d, err := NewDHT(dc)
		if err != nil {
			s.closeListeners()
			return nil, err
		}
		s.dht = d
	}
	if cfg.LSD != nil {
		l, err := startLSD(s, *cfg.LSD)
		if err != nil {
			s.closeListeners()
			if s.dht != nil {
				s.dht.Close()
			}
			return nil, err
		}
		s.lsd = l
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.accept(ln)
	if s.utp != nil {
		s.wg.Add(1)
		go s.accept(s.utp)
	}
	return s, nil
}

// newLimiter returns a limiter for bps bytes per second, or nil for no
// limit. Its burst is a tenth of a second (at least one block), so a limit
// holds over short transfers too.
func newLimiter(bps int64) *rate.Limiter {
	if bps <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(bps), int(max(bps/10, wire.MaxBlock)))
}

// Port is the TCP port peers reach us on.
func (s *Session) Port() uint16 { return s.port }

// Addr is the listen address.
func (s *Session) Addr() netip.AddrPort { return addrOf(s.ln.Addr()) }

// PeerID is the ID this session announces.
func (s *Session) PeerID() [20]byte { return s.peerID }

// Add starts a torrent: its data is checked (from resume state where
// possible), then it downloads and seeds until stopped.
func (s *Session) Add(m *meta.Torrent, cfg TorrentConfig) (*Torrent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !m.HasV1 && (m.V2 == nil || m.V2.PieceHashes == nil) {
		// A magnet link's info dictionary holds no piece layers:
		// FetchMetadata asks peers for them before the torrent is added.
		return nil, fmt.Errorf("v2-only torrent %s has no piece layers to check pieces against: load it from its .torrent file or fetch them with its metadata", m.Name)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	t := &Torrent{
		s: s, m: m, cfg: cfg, log: s.log.With("torrent", m.Name),
		conns: make(chan *conn), cmds: make(chan func()), pokes: make(chan struct{}, 1),
		wantMore: make(chan struct{}, 1),
		dialed:   make(chan dialResult), peers: make(chan peerBatch, 4),
		completed: make(chan struct{}), done: make(chan struct{}), cancel: cancel,
	}
	if m.V2 != nil && m.V2.PieceHashes != nil {
		t.v2trees = newV2Trees(m.V2)
	}
	t.left.Store(m.Layout.DataTotal)
	t.leftAfterCheck.Store(-1)
	t.SetRateLimits(cfg.DownloadLimit, cfg.UploadLimit)
	t.publishChecking()
	// Registered at once: peers that connect while the data is being
	// checked wait for the loop instead of being turned away.
	s.mu.Lock()
	var dup bool
	for _, ih := range swarmHashes(m) {
		_, taken := s.torrents[ih]
		dup = dup || taken
	}
	if !dup {
		for _, ih := range swarmHashes(m) {
			s.torrents[ih] = t
		}
	}
	s.mu.Unlock()
	if dup {
		cancel()
		return nil, fmt.Errorf("torrent %s is already running", m.InfoHash.HexString())
	}
	go t.run(ctx)
	return t, nil
}

// swarmHashes lists the 20-byte hashes m's swarms know it by: its
// infohash and, for a hybrid, the truncated v2 one as well (a v2-only
// torrent's InfoHash is already the truncated v2 hash).
func swarmHashes(m *meta.Torrent) [][20]byte {
	if m.HasV1 && m.V2 != nil {
		return [][20]byte{m.InfoHash, m.V2.Truncated()}
	}
	return [][20]byte{m.InfoHash}
}

// Torrents lists the running torrents.
func (s *Session) Torrents() []*Torrent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Torrent, 0, len(s.torrents))
	for ih, t := range s.torrents {
		if ih == t.m.InfoHash { // a hybrid is listed under both its hashes
			out = append(out, t)
		}
	}
	return out
}

func (s *Session) unregister(t *Torrent) {
	s.mu.Lock()
	for _, ih := range swarmHashes(t.m) {
		if s.torrents[ih] == t {
			delete(s.torrents, ih)
		}
	}
	s.mu.Unlock()
}

// Close stops every torrent (each saves its state and announces stopped)
// and the listener.
func (s *Session) Close() error {
	s.ln.Close()
	if s.lsd != nil {
		s.lsd.close()
	}
	var wg sync.WaitGroup
	for _, t := range s.Torrents() {
		wg.Add(1)
		go func() { defer wg.Done(); t.Stop() }()
	}
	wg.Wait()
	s.cancel()
	var err error
	if s.dht != nil {
		err = s.dht.Close()
	}
	// After the torrents and the DHT, which use the UDP socket; this
	// ends the uTP accept loop and handshakes still in progress.
	if s.utp != nil {
		s.utp.Close()
	}
	s.wg.Wait()
	return err
}

// DHT is the session's DHT node, or nil.
func (s *Session) DHT() *DHT { return s.dht }

// DHTLookup finds peers for an infohash through the session's DHT without
// announcing (a magnet link's metadata is not ours to offer yet); nil
// without a DHT.
func (s *Session) DHTLookup() func(context.Context, [20]byte, chan<- netip.AddrPort) {
	if s.dht == nil {
		return nil
	}
	return func(ctx context.Context, ih [20]byte, found chan<- netip.AddrPort) {
		if err := s.dht.Lookup(ctx, ih, 0, found); err != nil && ctx.Err() == nil {
			s.log.Debug("dht lookup", "err", err)
		}
	}
}

func (s *Session) connSlotFree() bool { return s.conns.Load() < int64(s.cfg.MaxConns) }
func (s *Session) connClosed()        { s.conns.Add(-1) }

func (s *Session) isSelf(a netip.AddrPort) bool {
	return a.Port() == s.port && (a.Addr().IsLoopback() || a.Addr().IsUnspecified())
}

// limiters returns the waits connections apply per block; each looks up
// the current limiter, so a change applies to running connections.
func (s *Session) limiters() (down, up func(context.Context, int) error) {
	wait := func(p *atomic.Pointer[rate.Limiter]) func(context.Context, int) error {
		return func(ctx context.Context, n int) error {
			if l := p.Load(); l != nil {
				return l.WaitN(ctx, n)
			}
			return nil
		}
	}
	return wait(&s.down), wait(&s.up)
}

// SetRateLimits changes the session's limits in bytes per second (0 means
// unlimited); running connections follow at their next block.
func (s *Session) SetRateLimits(down, up int64) {
	s.down.Store(newLimiter(down))
	s.up.Store(newLimiter(up))
	s.limitsMu.Lock()
	s.cfg.DownloadLimit, s.cfg.UploadLimit = down, up
	s.limitsMu.Unlock()
}

// RateLimits reports the current limits (0: unlimited).
func (s *Session) RateLimits() (down, up int64) {
	s.limitsMu.Lock()
	defer s.limitsMu.Unlock()
	return s.cfg.DownloadLimit, s.cfg.UploadLimit
}
