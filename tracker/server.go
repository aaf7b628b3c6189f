package tracker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a tracker.
type Config struct {
	// HTTPAddr and UDPAddr are where to listen; empty disables one.
	HTTPAddr, UDPAddr string
	// AnnouncePath and ScrapePath are the HTTP paths (a passkey follows in
	// private mode: /announce/<passkey>).
	AnnouncePath, ScrapePath string
	// Interval is what clients are told to wait between announces; peers
	// are forgotten after twice that without one.
	Interval    time.Duration
	MinInterval time.Duration
	// DefaultNumWant is used when a client does not say; MaxNumWant caps
	// what it may ask for.
	DefaultNumWant, MaxNumWant int
	// TrustIPParam and TrustForwardedFor let the ip parameter or the
	// X-Forwarded-For header name the client's address (behind a proxy).
	TrustIPParam, TrustForwardedFor bool
	// Private requires a known passkey in the path.
	Private bool
	// Passkeys, Allowlist and Denylist are files read at start and on
	// Reload (SIGHUP).
	PasskeysFile, AllowlistFile, DenylistFile string
	// AnnounceRate and AnnounceBurst limit announces and scrapes per
	// client IP (an IPv6 client by its /64), all torrents together; 0
	// turns the limit off, the default. No per-address limit is safe for
	// a public tracker: a carrier-grade NAT puts thousands of users
	// behind one address. opentracker has none either.
	AnnounceRate  float64
	AnnounceBurst int
	// TorrentRate and TorrentBurst limit announces per client IP and
	// torrent; 0 turns the limit off. A well-behaved client announces a
	// torrent once an interval (plus its few events), so the default,
	// one a second after a burst of 30, is 1,800 times what one client
	// needs: only a client stuffing one swarm with made-up peers meets it.
	TorrentRate  float64
	TorrentBurst int
	// RateLimitEntries is how many clients each limit remembers, in
	// about 48 bytes each: past it the fullest bucket is forgotten, so
	// a client never seen before is never refused.
	RateLimitEntries int
	Logger           *slog.Logger
}

// DefaultConfig listens on port 6969 over HTTP and UDP, as trackers
// commonly do, with a 30-minute interval.
func DefaultConfig() Config {
	return Config{
		HTTPAddr: ":6969", UDPAddr: ":6969", AnnouncePath: "/announce", ScrapePath: "/scrape",
		Interval: 30 * time.Minute, MinInterval: 5 * time.Minute, DefaultNumWant: 50, MaxNumWant: 200,
		AnnounceRate: 0, AnnounceBurst: 20, TorrentRate: 1, TorrentBurst: 30, RateLimitEntries: 1 << 18,
	}
}

// Validate checks the config and fills in a logger.
func (c *Config) Validate() error {
	switch {
	case c.HTTPAddr == "" && c.UDPAddr == "":
		return errors.New("tracker: neither HTTP nor UDP is enabled")
	case c.Interval < time.Second || c.MinInterval < 0 || c.MinInterval > c.Interval:
		return errors.New("tracker: interval must be at least 1s and min interval at most the interval")
	case c.DefaultNumWant < 0 || c.MaxNumWant < 1:
		return errors.New("tracker: numwant limits must be positive")
	case c.AllowlistFile != "" && c.DenylistFile != "":
		return errors.New("tracker: use an allowlist or a denylist, not both")
	case c.Private && c.PasskeysFile == "":
		return errors.New("tracker: private mode needs a passkeys file")
	case c.AnnounceRate < 0 || c.AnnounceRate > 0 && c.AnnounceBurst < 1:
		return errors.New("tracker: the per-IP rate must be 0 (off) or positive, with a burst of at least 1")
	case c.TorrentRate < 0 || c.TorrentRate > 0 && c.TorrentBurst < 1:
		return errors.New("tracker: the per-IP and torrent rate must be 0 (off) or positive, with a burst of at least 1")
	case (c.AnnounceRate > 0 || c.TorrentRate > 0) && c.RateLimitEntries < 1:
		return errors.New("tracker: rate limits need room for at least one entry")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Server is a running tracker.
type Server struct {
	cfg   Config
	store PeerStore
	// compact is store when it can answer in compact form, else nil;
	// httpBufs holds HTTP announces' scratch between requests.
	compact  CompactAnnouncer
	httpBufs sync.Pool
	// textPlain is every HTTP answer's Content-Type, one slice for all:
	// net/http only reads it.
	textPlain []string
	log       *slog.Logger
	lists     atomic.Pointer[lists]
	// limiter is per client IP, torrentLimiter per client IP and
	// torrent; either is nil when off.
	limiter, torrentLimiter *ipLimiter
	secret                  [32]byte // keys UDP connection IDs; fresh per process
	started                 time.Time

	httpSrv *http.Server
	httpLn  net.Listener
	udp     *net.UDPConn
	udpStop atomic.Bool   // tells UDP workers to return
	udpDone chan struct{} // closed when every UDP worker has returned
	wg      sync.WaitGroup
	stop    chan struct{}

	reg       *prometheus.Registry
	announces *prometheus.CounterVec
	scrapes   *prometheus.CounterVec
	failures  *prometheus.CounterVec
	// The per-protocol counters, resolved once: a label lookup per
	// announce would cost a map walk and a lock.
	announceCount map[string]prometheus.Counter
	scrapeCount   map[string]prometheus.Counter
	rates         rateWindow
}

// New prepares a tracker over store; Start opens its sockets.
func New(cfg Config, store PeerStore) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: store, log: cfg.Logger, stop: make(chan struct{}), started: time.Now()}
	if cfg.AnnounceRate > 0 {
		s.limiter = newIPLimiter(cfg.AnnounceRate, cfg.AnnounceBurst, cfg.RateLimitEntries)
	}
	if cfg.TorrentRate > 0 {
		s.torrentLimiter = newIPLimiter(cfg.TorrentRate, cfg.TorrentBurst, cfg.RateLimitEntries)
	}
	s.compact, _ = store.(CompactAnnouncer)
	s.httpBufs.New = func() any { return &httpScratch{out: make([]byte, 0, headRoom+64*18)} }
	s.textPlain = []string{"text/plain"}
	rand.Read(s.secret[:])
	if err := s.Reload(); err != nil {
		return nil, err
	}
	s.initMetrics()
	return s, nil
}

// Start listens on the configured addresses and serves until Close.
func (s *Server) Start() error {
	if s.cfg.UDPAddr != "" {
		ua, err := net.ResolveUDPAddr("udp", s.cfg.UDPAddr)
		if err != nil {
			return fmt.Errorf("udp address %s: %w", s.cfg.UDPAddr, err)
		}
		if s.udp, err = net.ListenUDP("udp", ua); err != nil {
			return fmt.Errorf("listen udp %s: %w", s.cfg.UDPAddr, err)
		}
		s.udp.SetReadBuffer(4 << 20)
		s.udp.SetWriteBuffer(4 << 20)
		if err := s.startUDPWorkers(); err != nil {
			s.udp.Close()
			return fmt.Errorf("udp workers: %w", err)
		}
	}
	if s.cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
		if err != nil {
			s.Close()
			return fmt.Errorf("listen http %s: %w", s.cfg.HTTPAddr, err)
		}
		s.httpLn = ln
		s.httpSrv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10,
			IdleTimeout: time.Minute}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("http server", "err", err)
			}
		}()
	}
	if sw, ok := s.store.(interface{ Sweep(time.Time) }); ok {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			t := time.NewTicker(max(s.cfg.Interval/4, time.Second))
			defer t.Stop()
			for {
				select {
				case <-s.stop:
					return
				case now := <-t.C:
					sw.Sweep(now)
				}
			}
		}()
	}
	return nil
}

// HTTPAddr is where the HTTP side listens.
func (s *Server) HTTPAddr() netip.AddrPort {
	if s.httpLn == nil {
		return netip.AddrPort{}
	}
	return s.httpLn.Addr().(*net.TCPAddr).AddrPort()
}

// UDPAddr is where the UDP side listens.
func (s *Server) UDPAddr() netip.AddrPort {
	if s.udp == nil {
		return netip.AddrPort{}
	}
	return s.udp.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Close stops serving; in-flight HTTP requests get a few seconds.
func (s *Server) Close() error {
	close(s.stop)
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.httpSrv.Shutdown(ctx)
		cancel()
	}
	if s.udp != nil {
		s.stopUDP()
		s.udp.Close()
	}
	s.wg.Wait()
	return nil
}

// refusal is an announce or scrape refused with a reason the client sees.
type refusal struct{ reason string }

func (r refusal) Error() string { return r.reason }

// errSlowDown refuses a client over a rate limit.
var errSlowDown = refusal{"too many requests; slow down"}

// admit is the protocol-independent part of an announce before the
// store: checks, rate limits, numwant and TTL.
func (s *Server) admit(req *AnnounceRequest, passkey string) error {
	l := s.lists.Load()
	if s.cfg.Private && !l.passkeys[passkey] {
		return refusal{"unknown passkey"}
	}
	if !l.allowed(req.InfoHash) {
		return refusal{"torrent not allowed on this tracker"}
	}
	if s.limiter != nil && !s.limiter.allow(req.Peer.Addr.Addr(), req.Now) {
		return errSlowDown
	}
	if s.torrentLimiter != nil && !s.torrentLimiter.allowTorrent(req.Peer.Addr.Addr(), req.InfoHash, req.Now) {
		return errSlowDown
	}
	if req.NumWant < 0 || req.NumWant > s.cfg.MaxNumWant {
		if req.NumWant < 0 {
			req.NumWant = s.cfg.DefaultNumWant
		} else {
			req.NumWant = s.cfg.MaxNumWant
		}
	}
	req.TTL = 2 * s.cfg.Interval
	return nil
}

// stored turns a store's answer into what the client is told, and
// counts an announce served.
func (s *Server) stored(err error, proto string, now time.Time) error {
	if errors.Is(err, ErrFull) {
		return refusal{"tracker is full"}
	}
	if err != nil {
		s.log.Error("announce", "err", err)
		return refusal{"internal error"}
	}
	s.announceCount[proto].Inc()
	s.rates.announce(now)
	return nil
}

// announce is the protocol-independent announce: checks, rate limit,
// store.
func (s *Server) announce(ctx context.Context, req *AnnounceRequest, passkey, proto string) (AnnounceResponse, error) {
	if err := s.admit(req, passkey); err != nil {
		return AnnounceResponse{}, err
	}
	resp, err := s.store.Announce(ctx, req)
	return resp, s.stored(err, proto, req.Now)
}

// announceCompact is announce with the peers appended to dst in compact
// form, at most limit of them; ok is false when the store cannot, and
// then nothing was done.
func (s *Server) announceCompact(ctx context.Context, req *AnnounceRequest, passkey, proto string, dst []byte, limit int) (resp AnnounceResponse, out []byte, ok bool, err error) {
	if s.compact == nil {
		return resp, dst, false, nil
	}
	if err := s.admit(req, passkey); err != nil {
		return resp, dst, true, err
	}
	resp, out, err = s.compact.AnnounceCompact(ctx, req, dst, limit)
	return resp, out, true, s.stored(err, proto, req.Now)
}

func (s *Server) scrape(ctx context.Context, hashes []InfoHash, passkey, proto string, now time.Time, from netip.Addr) ([]Scrape, error) {
	l := s.lists.Load()
	if s.cfg.Private && !l.passkeys[passkey] {
		return nil, refusal{"unknown passkey"}
	}
	if s.limiter != nil && !s.limiter.allow(from, now) {
		return nil, errSlowDown
	}
	out, err := s.store.Scrape(ctx, hashes, now)
	if err != nil {
		s.log.Error("scrape", "err", err)
		return nil, refusal{"internal error"}
	}
	for i, h := range hashes {
		if !l.allowed(h) {
			out[i] = Scrape{}
		}
	}
	s.scrapeCount[proto].Inc()
	s.rates.scrape(now)
	return out, nil
}

func (s *Server) fail(proto, reason string) {
	s.failures.WithLabelValues(proto, reason).Inc()
}

// failUDP counts a refused or dropped UDP packet. Reasons are a small
// fixed set, so the label lookup stays cheap on this rarer path.
func (s *Server) failUDP(reason string) { s.fail("udp", reason) }
