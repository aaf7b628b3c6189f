package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/swarm"
)

// swarmFlags are the flags get and seed share.
type swarmFlags struct {
	dir       string
	stateDir  string
	port      int
	bind      string // the address to listen on; "" for every one
	peers     []string
	maxPeers  int
	perIP     int
	slots     int
	downLimit sizeValue
	upLimit   sizeValue
	jsonOut   bool
	verbose   bool
	noTracker bool
	noTUI     bool
	noDHT     bool
	lsd       bool
	dhtPort   portValue
	dhtBoot   []string
	noWeb     bool
	noSpread  bool // every request served, even while we are the one source of a piece
	// encryption is the MSE/PE policy, in Transmission's words.
	encryption string
	// noPortForwarding: no UPnP or NAT-PMP mapping is asked of the router;
	// upnpURL and natpmpGateway name the gateway instead of discovery.
	noPortForwarding       bool
	upnpURL, natpmpGateway string
	noUTP                  bool // TCP only: no uTP (BEP 29) in or out
	noBell                 bool // no terminal bell when a download completes
	// logger, when set, replaces the stderr logger (the UI logs to a file).
	logger *slog.Logger
}

func (f *swarmFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.dir, "dir", "d", ".", "save path holding the torrent's file or top folder")
	fl.StringVar(&f.stateDir, "state-dir", defaultStateDir(), "where resume state is kept; one get or seed at a time may use it")
	fl.IntVarP(&f.port, "port", "p", 6881, "port to listen on, TCP and uTP (UDP) alike (0 picks a free one)")
	fl.StringVar(&f.bind, "bind", "", "IP address to listen on, for peers and the DHT (default: every address; 127.0.0.1 keeps shoal on this host)")
	fl.StringArrayVar(&f.peers, "peer", nil, "HOST:PORT of a peer to connect to (an IP address or a host name); may repeat")
	fl.IntVar(&f.maxPeers, "max-peers", 80, "connections per torrent")
	fl.IntVar(&f.perIP, "max-peers-per-ip", 4, "connections per torrent from one IP address (peers on one host or behind one NAT share it)")
	fl.IntVar(&f.slots, "upload-slots", 4, "peers uploaded to at once, optimistic slot included")
	f.downLimit, f.upLimit = sizeValue{zero: "unlimited"}, sizeValue{zero: "unlimited"}
	fl.Var(&f.downLimit, "down-limit", "download rate limit per second, e.g. 2MiB")
	fl.Var(&f.upLimit, "up-limit", "upload rate limit per second, e.g. 512KiB")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON event per line instead of progress")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log peer and tracker activity to stderr")
	fl.BoolVar(&f.noTracker, "no-trackers", false, "do not announce to the torrent's trackers")
	fl.BoolVar(&f.noSpread, "no-spread", false, "as the one source of some pieces, serve every request with the usual upload slots, instead of turning down (once) a piece already on its way to, or held by, another peer and unchoking up to 16")
	fl.BoolVar(&f.noTUI, "no-tui", false, "print progress lines instead of opening the terminal UI")
	fl.BoolVar(&f.noBell, "no-bell", false, "do not ring the terminal bell when a download completes")
	fl.BoolVar(&f.noDHT, "no-dht", false, "do not use the DHT (private torrents never do)")
	fl.BoolVar(&f.lsd, "lsd", false, "find peers on the local network (BEP 14 multicast)")
	f.dhtPort = portValue{n: -1}
	fl.Var(&f.dhtPort, "dht-port", "UDP port of the DHT node (default: the listen port, on uTP's socket)")
	fl.StringVar(&f.encryption, "encryption", string(swarm.EncryptionPreferred), "peer encryption (MSE/PE): preferred (try encrypted, fall back to plain), required (never plain) or tolerated (dial plain, accept encrypted)")
	fl.BoolVar(&f.noPortForwarding, "no-port-forwarding", false, "do not ask the router to forward the ports (UPnP, NAT-PMP, PCP)")
	f.registerPortForwarding(cmd)
	fl.BoolVar(&f.noWeb, "no-web-seeds", false, "do not download from the torrent's HTTP servers (url-list, BEP 19)")
	fl.BoolVar(&f.noUTP, "no-utp", false, "speak TCP only: no uTP (BEP 29) listener on the port's UDP side, and no dialling over uTP first")
	fl.StringArrayVar(&f.dhtBoot, "dht-bootstrap", nil, "HOST:PORT of a DHT node to join through; may repeat (default: the public routers)")
}

// useUI says whether to open the terminal UI: on a terminal, unless told
// not to or asked for JSON.
func (f *swarmFlags) useUI(e env) bool { return e.tty && !f.noTUI && !f.jsonOut }

// defaultStateDir follows the XDG base directory spec.
func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "shoal")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "shoal")
	}
	return filepath.Join(os.TempDir(), "shoal-state")
}

func (f *swarmFlags) validate() error {
	if f.port < 0 || f.port > 65535 {
		return usageError{fmt.Errorf("--port %d: want a port number from 0 to 65535 (0 picks a free one)", f.port)}
	}
	if f.bind != "" {
		if _, err := netip.ParseAddr(f.bind); err != nil {
			return usageError{fmt.Errorf("--bind %q: want an IP address of this host, e.g. 192.168.1.20 or ::1", f.bind)}
		}
	}
	if err := f.validatePortForwarding(); err != nil {
		return err
	}
	if err := swarm.Encryption(f.encryption).Validate(); err != nil {
		return usageError{fmt.Errorf("--encryption %q: want preferred, required or tolerated", f.encryption)}
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"--max-peers", f.maxPeers}, {"--max-peers-per-ip", f.perIP}, {"--upload-slots", f.slots}} {
		if v.n < 1 {
			return usageError{fmt.Errorf("%s must be at least 1, not %d", v.name, v.n)}
		}
	}
	return nil
}

func (f *swarmFlags) session(e env) (*swarm.Session, error) {
	cfg := swarm.DefaultSessionConfig()
	cfg.ListenAddr = net.JoinHostPort(f.bind, strconv.Itoa(f.port))
	cfg.DownloadLimit, cfg.UploadLimit = f.downLimit.n, f.upLimit.n
	cfg.Encryption = swarm.Encryption(f.encryption)
	cfg.DisableUTP = f.noUTP
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	if f.logger != nil {
		cfg.Logger = f.logger
	}
	cfg.Version = strings.TrimPrefix(version, "v")
	if f.lsd {
		cfg.LSD = &swarm.LSDConfig{Listen: true}
	}
	if !f.noDHT {
		cfg.DHT = &swarm.DHTConfig{Bootstrap: f.dhtBoot, NodesFile: filepath.Join(f.stateDir, "dht.nodes")}
		if f.dhtPort.n >= 0 {
			cfg.DHT.Addr = net.JoinHostPort(f.bind, strconv.Itoa(f.dhtPort.n))
		}
		if err := os.MkdirAll(f.stateDir, 0o755); err != nil {
			return nil, err
		}
	}
	return swarm.NewSession(cfg)
}

// open sets up what get and seed share: the state directory, locked for
// this process; where logs go (a file while the UI owns the screen); the
// session and the reporter. close releases them.
func (f *swarmFlags) open(e env, ui bool) (s *swarm.Session, r *reporter, close func(), err error) {
	unlock, err := lockStateDir(f.stateDir)
	if err != nil {
		return nil, nil, nil, err
	}
	closeLog := func() error { return nil }
	if ui {
		log, closer, err := uiLogger(f.stateDir)
		if err != nil {
			unlock()
			return nil, nil, nil, err
		}
		f.logger, closeLog = log, closer.Close
	}
	s, err = f.session(e)
	if err != nil {
		closeLog()
		unlock()
		return nil, nil, nil, err
	}
	stopForwarding := f.startPortForwarding(e, s)
	r = newReporter(e, f.jsonOut)
	r.bell = !f.noBell
	return s, r, func() { stopForwarding(); s.Close(); closeLog(); unlock() }, nil
}

func (f *swarmFlags) torrentConfig(peers []netip.AddrPort) swarm.TorrentConfig {
	cfg := swarm.DefaultTorrentConfig(f.dir)
	cfg.StateDir, cfg.MaxPeers, cfg.UploadSlots, cfg.Peers = f.stateDir, f.maxPeers, f.slots, peers
	cfg.MaxPeersPerIP = f.perIP
	cfg.DisableTrackers = f.noTracker
	cfg.WebSeeds.Disable = f.noWeb
	cfg.NoSpread = f.noSpread
	return cfg
}

// loadTorrent loads a .torrent argument.
func loadTorrent(arg string) (*meta.Torrent, error) {
	if meta.IsMagnet(arg) {
		return nil, errors.New("seed needs .torrent files; to download a magnet link use shoal get")
	}
	t, err := meta.LoadWith(arg, meta.ParseOptions{AllowV2Only: true})
	if err != nil {
		return nil, torrentError(arg, err)
	}
	return t, nil
}

// runSwarm keeps torrents going until stop says the job is done, ctx ends
// or (with the UI) the person quits. Both modes apply the same stop rule:
// with the UI it runs beside it, its output discarded, and closes the UI
// when it fires. stop gets the reporter to tell of milestones.
func runSwarm(ctx context.Context, r *reporter, ui bool, eng *liveEngine, torrents []*swarm.Torrent,
	wake <-chan struct{}, stop func(*reporter) (bool, error)) error {
	if !ui {
		return watch(ctx, r, torrents, wake, func() (bool, error) { return stop(r) })
	}
	quiet := newReporter(env{stdout: io.Discard, stderr: io.Discard}, false)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		werr = watch(ctx, quiet, torrents, wake, func() (bool, error) { return stop(quiet) })
		cancel() // the job is done, or failed: close the UI
	}()
	uerr := runUI(ctx, eng, r.bell)
	cancel()
	<-done
	if errors.Is(werr, context.Canceled) {
		werr = nil // the person quit, or Ctrl-C
	}
	return errors.Join(uerr, werr)
}

// watch reports progress until ctx ends or stop says so; it returns the
// reason. stop is asked every second and at once when wake fires (a
// download completing), so a command never lingers after its job is done.
func watch(ctx context.Context, r *reporter, torrents []*swarm.Torrent, wake <-chan struct{}, stop func() (bool, error)) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		case <-wake:
			wake = nil // closed channels fire once here
		}
		var snaps []*swarm.Snapshot
		for _, t := range torrents {
			select {
			case <-t.Done():
				if err := t.Err(); err != nil {
					return fmt.Errorf("%s: %w", t.Meta().Name, err)
				}
			default:
			}
			snaps = append(snaps, t.Snapshot())
		}
		r.progress(snaps, time.Now())
		if done, err := stop(); done || err != nil {
			return err
		}
	}
}

// resolveTarget turns get's or stream's argument into the torrent to add,
// saying every warning: a .torrent as loaded (m), or a magnet link (mag)
// whose metadata is fetched from peers, its x.pe and those found joining
// peers. Ctrl-C while fetching is exit status 130 with a line saying so.
func (f *swarmFlags) resolveTarget(ctx context.Context, e env, r *reporter, s *swarm.Session, arg string, mag *meta.Magnet, m *meta.Torrent, peers []netip.AddrPort) (*meta.Torrent, []netip.AddrPort, error) {
	if mag == nil {
		warnTorrent(e, r, m)
		warnNoPeerSource(e, r, m.Name, m.InfoHash.HexString(), f.torrentSources(m, peers))
		return m, peers, nil
	}
	peers = append(peers, magnetPeers(ctx, e, r, mag)...)
	warnNoPeerSource(e, r, magnetName(mag), mag.InfoHash.HexString(), f.magnetSources(mag, peers))
	m, found, err := resolveMagnet(ctx, e, r, s, arg, f.stateDir, peers, s.DHTLookup())
	if errors.Is(err, context.Canceled) {
		// Ctrl-C: not an error, and nothing to save yet.
		return nil, nil, exitCodeError{code: 130, msg: magnetName(mag) + ": stopped before any peer sent the metadata"}
	} else if err != nil {
		return nil, nil, err
	}
	warnTorrent(e, r, m)
	return m, append(peers, found...), nil
}

// resolveMagnet turns a magnet link into a torrent: from the .torrent saved
// in the state directory by an earlier run, or by fetching the metadata
// from peers (extra: --peer and the link's x.pe, resolved) and saving it
// there. It returns the peers it found too.
func resolveMagnet(ctx context.Context, e env, r *reporter, s *swarm.Session, link, stateDir string, extra []netip.AddrPort, lookup func(context.Context, [20]byte, chan<- netip.AddrPort)) (*meta.Torrent, []netip.AddrPort, error) {
	mag, err := meta.ParseMagnet(link)
	if err != nil {
		return nil, nil, err
	}
	saved := filepath.Join(stateDir, mag.InfoHash.HexString()+".torrent")
	if t, err := meta.LoadWith(saved, meta.ParseOptions{AllowV2Only: true}); err == nil && t.InfoHash == mag.InfoHash {
		return t, nil, nil
	}
	peers := append([]netip.AddrPort(nil), extra...)
	name := magnetName(mag)
	r.event("metadata", map[string]any{"info_hash": mag.InfoHash.HexString()}, fmt.Sprintf("%s: fetching metadata from peers", name))
	for _, w := range mag.Warnings {
		tell(e, r, mag.InfoHash.HexString(), fmt.Sprintf("%s: magnet link: %s", name, w))
	}
	t, found, err := s.FetchMetadata(ctx, swarm.MetadataRequest{InfoHash: mag.InfoHash, V2InfoHash: mag.V2InfoHash, HasV2: mag.HasV2,
		Name: mag.Name, Trackers: mag.Trackers, WebSeeds: mag.WebSeeds, Peers: peers, Lookup: lookup})
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	if err := t.Write(&buf); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, nil, err
	}
	if err := writeFileAtomic(saved, buf.Bytes()); err != nil {
		return nil, nil, err
	}
	r.event("metadata", map[string]any{"info_hash": mag.InfoHash.HexString(), "saved": saved}, fmt.Sprintf("%s: metadata saved to %s", t.Name, saved))
	return t, found, nil
}
