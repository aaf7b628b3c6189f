package swarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/krpc"
	peer_store "github.com/anacrolix/dht/v2/peer-store"
	alog "github.com/anacrolix/log"
	"golang.org/x/time/rate"

	"github.com/shoal-torrent/shoal/piece/meta"
)

// DHTConfig configures a session's DHT node (BEP 5).
type DHTConfig struct {
	// Addr is the UDP address; by convention the TCP listen port.
	Addr string
	// Bootstrap nodes (HOST:PORT), contacted at every start whatever was
	// saved, and again whenever the routing table is empty. Nil means the
	// public routers, which tests and private networks replace with their
	// own.
	Bootstrap []string
	// NodesFile keeps the routing table across runs; empty: not kept.
	// Saved nodes are only hints, asked beside the bootstrap nodes: they
	// join the table once they answer, so a stale table (or one from
	// another DHT) cannot strand the node.
	NodesFile string
	Logger    *slog.Logger
	// Conn, when set, is the UDP socket to use instead of one opened at
	// Addr: a session hands over its uTP socket, whose non-uTP datagrams
	// come out of ReadFrom, so one port serves both (as in libtorrent).
	// The node does not close it; its owner does, after the node.
	Conn net.PacketConn
}

// DHT is a session's node in the mainline DHT: it answers other nodes,
// stores the peers they announce, and finds peers for our torrents.
type DHT struct {
	srv   *dht.Server
	conn  net.PacketConn
	store *dhtPeerStore
	cfg   DHTConfig
	log   *slog.Logger
}

// NewDHT starts a node.
func NewDHT(cfg DHTConfig) (*DHT, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for _, b := range cfg.Bootstrap {
		// anacrolix's resolver panics on an address without a port.
		if _, _, err := net.SplitHostPort(b); err != nil {
			return nil, fmt.Errorf("dht: bootstrap node %q: want HOST:PORT", b)
		}
	}
	var conn net.PacketConn
	owned := cfg.Conn == nil
	if owned {
		var err error
		conn, err = net.ListenPacket("udp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("dht: listen on %s: %w", cfg.Addr, err)
		}
	} else {
		conn = sharedConn{cfg.Conn}
	}
	store := newDHTPeerStore(10_000, 200, 30*time.Minute)
	sc := dht.NewDefaultServerConfig()
	sc.Conn = checkedConn{conn}
	sc.PeerStore = store
	// Each node gets its own send limiter: the package default is shared
	// by every server in the process.
	sc.SendLimiter = rate.NewLimiter(rate.Limit(250), 50)
	sc.Logger = alog.Default.WithFilterLevel(alog.Disabled)
	bootstrap := cfg.Bootstrap
	if bootstrap == nil {
		bootstrap = dht.DefaultGlobalBootstrapHostPorts
	}
	hints := savedNodes(cfg.NodesFile)
	// The table starts empty, so the first bootstrap (which the table
	// maintainer runs at once) asks these: the given nodes and the hints.
	sc.StartingNodes = func() ([]dht.Addr, error) {
		addrs, err := dht.ResolveHostPorts(bootstrap)
		addrs = append(addrs, hints...)
		if len(addrs) == 0 {
			return nil, err
		}
		return addrs, nil
	}
	srv, err := dht.NewServer(sc)
	if err != nil {
		if owned {
			conn.Close()
		}
		return nil, fmt.Errorf("dht: %w", err)
	}
	d := &DHT{srv: srv, conn: conn, store: store, cfg: cfg, log: cfg.Logger}
	if len(hints) > 0 {
		d.log.Info("dht saved nodes to try", "nodes", len(hints))
	}
	go srv.TableMaintainer()
	return d, nil
}

// maxSavedNodes bounds the hints read from a saved routing table (a full
// table holds a few hundred).
const maxSavedNodes = 1000

// savedNodes reads the addresses of a saved routing table; a missing or
// unreadable file gives none.
func savedNodes(file string) []dht.Addr {
	if file == "" {
		return nil
	}
	ns, err := dht.ReadNodesFromFile(file)
	if err != nil {
		return nil
	}
	var out []dht.Addr
	for _, n := range ns[:min(len(ns), maxSavedNodes)] {
		if n.Addr.Port > 0 && n.Addr.Port <= 65535 && len(n.Addr.IP) > 0 {
			out = append(out, dht.NewAddr(n.Addr.UDP()))
		}
	}
	return out
}

// Addr is where the node listens.
func (d *DHT) Addr() netip.AddrPort { return addrOf(d.conn.LocalAddr()) }

// Nodes is the routing table's size.
func (d *DHT) Nodes() int { return d.srv.NumNodes() }

// Stats reports the node's table and traffic for people watching it.
func (d *DHT) Stats() dht.ServerStats { return d.srv.Stats() }

// Ping asks a node to reply, which puts it in the routing table: how
// nodes learned from peers' port messages join.
func (d *DHT) Ping(a netip.AddrPort) {
	go d.srv.Ping(netipUDP(a))
}

func netipUDP(a netip.AddrPort) *net.UDPAddr { return net.UDPAddrFromAddrPort(a) }

// Close saves the routing table (when configured) and stops the node.
func (d *DHT) Close() error {
	var err error
	if d.cfg.NodesFile != "" {
		if nodes := d.srv.Nodes(); len(nodes) > 0 {
			err = dht.WriteNodesToFile(nodes, d.cfg.NodesFile)
		}
	}
	d.srv.Close()
	return err
}

// Lookup runs one get_peers traversal for infoHash and sends the peers
// found to found; with announcePort non-zero it then announces us on that
// port to the closest nodes. It returns when the traversal ends or ctx
// does.
func (d *DHT) Lookup(ctx context.Context, infoHash [20]byte, announcePort int, found chan<- netip.AddrPort) error {
	var opts []dht.AnnounceOpt
	if announcePort > 0 {
		opts = append(opts, dht.AnnouncePeer(dht.AnnouncePeerOpts{Port: announcePort}))
	}
	a, err := d.srv.AnnounceTraversal(infoHash, opts...)
	if err != nil {
		return err
	}
	defer a.Close()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case pv, ok := <-a.Peers:
			if !ok {
				return nil
			}
			for _, p := range pv.Peers {
				ap, ok := netip.AddrFromSlice(p.IP)
				if !ok || p.Port <= 0 || p.Port > 65535 {
					continue
				}
				select {
				case found <- netip.AddrPortFrom(ap.Unmap(), uint16(p.Port)):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
	}
}

// dhtPeerStore keeps the peers other nodes announce to us, bounded in
// torrents and peers per torrent, each peer forgotten after ttl.
// anacrolix/dht v2.23.0's own in-memory store keys peers by IP alone.
type dhtPeerStore struct {
	maxTorrents, maxPeers int
	ttl                   time.Duration

	mu       sync.Mutex // guards torrents
	torrents map[peer_store.InfoHash]map[netip.AddrPort]time.Time
}

var _ peer_store.Interface = (*dhtPeerStore)(nil)

func newDHTPeerStore(maxTorrents, maxPeers int, ttl time.Duration) *dhtPeerStore {
	return &dhtPeerStore{maxTorrents: maxTorrents, maxPeers: maxPeers, ttl: ttl,
		torrents: map[peer_store.InfoHash]map[netip.AddrPort]time.Time{}}
}

// AddPeer implements peer_store.Interface.
func (s *dhtPeerStore) AddPeer(ih peer_store.InfoHash, na krpc.NodeAddr) {
	ip, ok := netip.AddrFromSlice(na.IP)
	if !ok || na.Port <= 0 || na.Port > 65535 {
		return
	}
	ap := netip.AddrPortFrom(ip.Unmap(), uint16(na.Port))
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	peers := s.torrents[ih]
	if peers == nil {
		if len(s.torrents) >= s.maxTorrents {
			s.expireLocked(now)
			if len(s.torrents) >= s.maxTorrents {
				return
			}
		}
		peers = map[netip.AddrPort]time.Time{}
		s.torrents[ih] = peers
	}
	if _, ok := peers[ap]; !ok && len(peers) >= s.maxPeers {
		for p, exp := range peers {
			if now.After(exp) {
				delete(peers, p)
			}
		}
		if len(peers) >= s.maxPeers {
			return
		}
	}
	peers[ap] = now.Add(s.ttl)
}

// GetPeers implements peer_store.Interface: up to 50 live peers, random.
func (s *dhtPeerStore) GetPeers(ih peer_store.InfoHash) []krpc.NodeAddr {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []krpc.NodeAddr
	for p, exp := range s.torrents[ih] {
		if now.After(exp) {
			delete(s.torrents[ih], p)
			continue
		}
		out = append(out, krpc.NodeAddr{IP: p.Addr().AsSlice(), Port: int(p.Port())})
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:min(len(out), 50)]
}

func (s *dhtPeerStore) expireLocked(now time.Time) {
	for ih, peers := range s.torrents {
		for p, exp := range peers {
			if now.After(exp) {
				delete(peers, p)
			}
		}
		if len(peers) == 0 {
			delete(s.torrents, ih)
		}
	}
}

// DHT timing for a torrent: announce every 15 minutes as BEP 5 clients
// do, and look again every two while the torrent wants more peers.
const (
	dhtAnnounceInterval = 15 * time.Minute
	dhtWantInterval     = 2 * time.Minute
)

// dhtLoop finds peers for t through the DHT and announces it there. It
// sleeps until the next lookup is due, or until the loop says it wants
// peers: a seed's loop wakes every 15 minutes, not every 5 seconds (2,000
// wake-ups a second for 10,000 seeds).
func (t *Torrent) dhtLoop(ctx context.Context, d *DHT) {
	var last time.Time
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if last.IsZero() || time.Since(last) >= dhtAnnounceInterval || t.wantPeers.Load() && time.Since(last) >= dhtWantInterval {
			last = time.Now()
			found := make(chan netip.AddrPort, 64)
			done := make(chan struct{})
			go func() {
				defer close(done)
				var batch []netip.AddrPort
				for a := range found {
					batch = append(batch, a)
					if len(batch) == 16 {
						t.addPeers(batch, "dht")
						batch = nil
					}
				}
				if len(batch) > 0 {
					t.addPeers(batch, "dht")
				}
			}()
			for _, ih := range swarmHashes(t.m) { // a hybrid is in both swarms
				if err := d.Lookup(ctx, ih, int(t.s.announcePort()), found); err != nil && ctx.Err() == nil {
					t.log.Debug("dht lookup", "err", err)
				}
			}
			close(found)
			<-done
		}
		due := last.Add(dhtAnnounceInterval)
		if t.wantPeers.Load() {
			due = last.Add(dhtWantInterval)
		}
		timer.Reset(max(time.Until(due), 0))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-t.wantMore: // due sooner now; Reset needs no drain since Go 1.23
		}
	}
}

// sharedConn is a socket the DHT borrows: closing the node leaves it
// open, and deadlines (which go-libutp's socket does not support, and
// panics on) are not set on it.
type sharedConn struct{ net.PacketConn }

func (sharedConn) Close() error                     { return nil }
func (sharedConn) SetDeadline(time.Time) error      { return errors.ErrUnsupported }
func (sharedConn) SetReadDeadline(time.Time) error  { return errors.ErrUnsupported }
func (sharedConn) SetWriteDeadline(time.Time) error { return errors.ErrUnsupported }

// maxKRPCDepth bounds KRPC nesting; real messages need about four levels.
const maxKRPCDepth = 16

// checkedConn drops datagrams that are not one well-formed, shallow
// bencode value before anacrolix's decoder sees them: that decoder trusts
// nesting depth and length claims, and anyone can send us UDP.
type checkedConn struct{ net.PacketConn }

func (c checkedConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || meta.CheckBencode(p[:n], maxKRPCDepth) == nil {
			return n, addr, err
		}
	}
}
