package swarm

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/tracker"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// MaxMetadataSize bounds an info dictionary fetched from peers: the
// largest real ones are a few MiB, and a peer must not make us hold more.
const MaxMetadataSize = 16 << 20

// MetadataRequest says what a magnet link gives to start from.
type MetadataRequest struct {
	// InfoHash is the swarm's 20-byte hash: the v1 infohash, or a
	// v2-only link's truncated v2 one.
	InfoHash metainfo.Hash
	// V2InfoHash, when HasV2, is the link's full BEP 52 infohash (btmh):
	// the fetched info must hash to it.
	V2InfoHash [32]byte
	HasV2      bool
	Name       string
	Trackers   []string
	// WebSeeds (the link's ws=) become the torrent's url-list.
	WebSeeds []string
	Peers    []netip.AddrPort
	// Lookup, when set, finds more peers (the DHT); it is called again
	// while the fetch goes on, and sends what it finds to found. It must
	// return soon after ctx ends.
	Lookup func(ctx context.Context, infoHash [20]byte, found chan<- netip.AddrPort)
	// Patience is how long a peer may stay silent at each step (connect,
	// handshake, extension handshake, each metadata piece) before another
	// is asked instead; 0 means DefaultMetadataPatience.
	Patience time.Duration
}

// DefaultMetadataPatience is long enough for a peer across the world
// and short enough that peers which connect and then say nothing (or
// never answer) do not hold the fetch's workers for long.
const DefaultMetadataPatience = 5 * time.Second

// metadataParallel is how many peers are asked at once: it bounds the
// fetch's goroutines and sockets, and it is wide enough that a handful of
// silent peers ahead of a good one only delay it by one patience.
const metadataParallel = 16

// maxMetadataPeers bounds the peers one fetch remembers (and returns).
const maxMetadataPeers = 2000

// FetchMetadata gets a magnet link's info dictionary from peers (BEP 9),
// checks it against the infohash, and returns the complete torrent (with
// the magnet's trackers) and the peers it found, for the download to
// start with. A peer that sends pieces of the wrong size, metadata that
// does not hash to the infohash, or more than MaxMetadataSize is dropped
// and another is asked. At most metadataParallel peers are asked at once,
// in the order they were found; every goroutine it starts has ended when
// it returns.
func (s *Session) FetchMetadata(ctx context.Context, req MetadataRequest) (*meta.Torrent, []netip.AddrPort, error) {
	patience := req.Patience
	if patience <= 0 {
		patience = DefaultMetadataPatience
	}
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: the sources and workers all watch ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	spawn := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}

	// Sources send what they find to found; this loop alone dedups and
	// queues, so no state is shared with them.
	found := make(chan netip.AddrPort, 64)
	offer := func(a netip.AddrPort) {
		select {
		case found <- a:
		case <-ctx.Done():
		}
	}
	spawn(func() {
		for _, a := range req.Peers {
			offer(a)
		}
	})
	if len(req.Trackers) > 0 {
		spawn(func() { s.magnetAnnounces(ctx, req, offer) })
	}
	if req.Lookup != nil {
		spawn(func() {
			for ctx.Err() == nil {
				req.Lookup(ctx, req.InfoHash, found)
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Second):
				}
			}
		})
	}

	// Buffered for every worker, so none blocks once we stop listening.
	results := make(chan fetched, metadataParallel)
	known := map[netip.AddrPort]bool{}
	var peers, queue []netip.AddrPort
	active := 0
	var lastErr error
	// A v2 or hybrid torrent's piece layers are asked for on the
	// connection that gave the info; once the info is known, peers found
	// later are asked for the missing layers alone.
	var lf *layerFetch
	for {
		for active < metadataParallel && len(queue) > 0 {
			a := queue[0]
			queue = queue[1:]
			active++
			if lf != nil {
				want, t := lf.wanted(), lf.t
				spawn(func() {
					ls, err := s.layersFrom(ctx, req.InfoHash, a, patience, t, want)
					results <- fetched{addr: a, layers: ls, layersErr: err}
				})
				continue
			}
			spawn(func() { results <- s.torrentFrom(ctx, req, a, patience) })
		}
		if lf != nil && lf.giveUp(active, len(queue)) {
			s.log.Info("no peer sent the piece layers of the hybrid torrent: it is checked by its v1 hashes alone", "torrent", lf.t.Name, "err", lastErr)
			return lf.t, lf.trusted(peers), nil
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return nil, nil, fmt.Errorf("fetch metadata: %w (last peer: %v)", ctx.Err(), lastErr)
			}
			return nil, nil, fmt.Errorf("fetch metadata: no peer with the metadata found: %w", ctx.Err())
		case a := <-found:
			if !a.IsValid() || a.Port() == 0 || s.isSelf(a) || known[a] || len(peers) >= maxMetadataPeers {
				continue
			}
			known[a] = true
			peers = append(peers, a)
			queue = append(queue, a)
		case r := <-results:
			active--
			if err := cmp.Or(r.err, r.layersErr); err != nil {
				lastErr = fmt.Errorf("%s: %w", r.addr, err)
				s.log.Debug("metadata fetch failed", "peer", r.addr, "err", err)
			}
			if r.err != nil {
				continue
			}
			if lf == nil {
				if len(r.t.MissingLayers()) == 0 {
					return r.t, peers, nil
				}
				lf = newLayerFetch(r.t)
			}
			done, err := lf.add(r.addr, r.layers, r.layersErr)
			if err != nil {
				return nil, nil, fmt.Errorf("fetch metadata: %w", err)
			}
			if done {
				return lf.t, lf.trusted(peers), nil
			}
		}
	}
}

// fetched is what one peer gave a metadata fetch: the torrent (unless
// only layers were asked for), the piece layers it proved, and why it
// failed the metadata (err) or the layers (layersErr).
type fetched struct {
	addr      netip.AddrPort
	t         *meta.Torrent
	layers    map[[32]byte][]byte
	err       error
	layersErr error
}

// torrentFrom asks peer a for the info dictionary and, if the torrent
// it makes lacks piece layers, for those on the same connection. Of a
// hybrid's peers only those with the BEP 52 bit are asked (v1 clients
// share its swarm, and its v1 hashes will do); a v2-only torrent's peers
// all speak v2, and libtorrent 2.0 answers hash requests without setting
// the bit on connections it accepts.
func (s *Session) torrentFrom(ctx context.Context, req MetadataRequest, a netip.AddrPort, patience time.Duration) fetched {
	r := fetched{addr: a}
	_, r.err = s.metadataFrom(ctx, req.InfoHash, a, patience, func(info []byte, nc net.Conn, wr *wire.Reader, hs wire.Handshake) error {
		t, err := torrentFromInfo(info, req)
		if err != nil {
			return err
		}
		r.t = t
		if want := t.MissingLayers(); len(want) > 0 {
			if t.HasV1 && !hs.Reserved.V2() {
				r.layersErr = errNoHashMessages
				return nil
			}
			r.layers, r.layersErr = s.layersOver(ctx, nc, wr, patience, t.Layout.PieceLength, want)
		}
		return nil
	})
	return r
}

// torrentFromInfo builds a .torrent around fetched metadata, with the
// magnet's trackers as one tier each and its web seeds, and checks it
// against the magnet's v2 infohash when it has one.
func torrentFromInfo(info []byte, req MetadataRequest) (*meta.Torrent, error) {
	mi := metainfo.MetaInfo{InfoBytes: info, UrlList: req.WebSeeds}
	if len(req.Trackers) > 0 {
		mi.Announce = req.Trackers[0]
		for _, u := range req.Trackers {
			mi.AnnounceList = append(mi.AnnounceList, []string{u})
		}
	}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		return nil, err
	}
	t, err := meta.ParseWith(buf.Bytes(), meta.ParseOptions{AllowV2Only: true})
	if err != nil {
		return nil, err
	}
	if req.HasV2 && (t.V2 == nil || t.V2.InfoHash != req.V2InfoHash) {
		return nil, errors.New("metadata does not match the magnet link's v2 infohash (btmh)")
	}
	return t, nil
}

// magnetAnnounceParallel bounds the trackers asked at once: a magnet may
// list hundreds.
const magnetAnnounceParallel = 8

// magnetAnnounces asks the magnet's trackers for peers until the fetch
// ends; every announce it starts has ended when it returns.
func (s *Session) magnetAnnounces(ctx context.Context, req MetadataRequest, offer func(netip.AddrPort)) {
	slots := make(chan struct{}, magnetAnnounceParallel)
	for ctx.Err() == nil {
		var wg sync.WaitGroup
		for _, u := range req.Trackers {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				actx, cancel := context.WithTimeout(ctx, announceTimeout)
				defer cancel()
				u, err := resolveUDPTracker(actx, u)
				if err != nil {
					s.log.Debug("magnet announce", "tracker", u, "err", err)
					return
				}
				res, err := tracker.Announce{TrackerUrl: u, Context: actx, UserAgent: "shoal/" + s.cfg.Version,
					Request: tracker.AnnounceRequest{InfoHash: req.InfoHash, PeerId: s.peerID, Port: s.announcePort(), Left: 1, NumWant: 50, Event: tracker.Started}}.Do()
				if err != nil {
					s.log.Debug("magnet announce", "tracker", u, "err", err)
					return
				}
				for _, p := range res.Peers {
					if ap, ok := p.ToNetipAddrPort(); ok {
						offer(ap)
					}
				}
			}()
		}
		wg.Wait()
		select {
		case <-ctx.Done():
		case <-time.After(minAnnounceInterval):
		}
	}
}

// resolveUDPTracker puts a udp:// tracker's address in its URL, looked up
// within ctx: anacrolix's UDP client resolves names without a context, so
// a slow DNS server would hold the announce (and the fetch's return)
// past the fetch's end.
func resolveUDPTracker(ctx context.Context, u string) (string, error) {
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "udp" {
		return u, nil
	}
	host := pu.Hostname()
	if _, err := netip.ParseAddr(host); err == nil {
		return u, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return u, err
	}
	if len(ips) == 0 {
		return u, fmt.Errorf("no address for %s", host)
	}
	ip := ips[0].Unmap()
	for _, a := range ips {
		if a.Unmap().Is4() { // most UDP trackers listen on IPv4 only
			ip = a.Unmap()
			break
		}
	}
	pu.Host = net.JoinHostPort(ip.String(), pu.Port())
	return pu.String(), nil
}

// metadataFetchTimeout bounds one peer's attempt, however it trickles.
const metadataFetchTimeout = 30 * time.Second

// metadataFrom asks one peer for the whole info dictionary, then hands
// the live connection and the checked info to then. Each step must make
// progress within patience; ctx ending closes the connection at once, so
// the caller never waits on a silent peer.
func (s *Session) metadataFrom(ctx context.Context, ih [20]byte, a netip.AddrPort, patience time.Duration, then func(info []byte, nc net.Conn, r *wire.Reader, hs wire.Handshake) error) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, metadataFetchTimeout)
	defer cancel()
	var nc net.Conn
	var hs wire.Handshake
	var err error
	awaiting := "the handshake"
	step := func(what string) {
		awaiting = what
		nc.SetDeadline(time.Now().Add(patience))
	}
	silent := func(err error) error {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("peer silent for %v awaiting %s", patience, awaiting)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	// The encryption policy applies here too: required never fetches in
	// plain, preferred tries encrypted first.
	nc, hs, err = s.peerHandshake(ctx, ih, a, patience, wire.OurReserved().WithV2())
	if err != nil {
		return nil, silent(err)
	}
	defer nc.Close()
	defer context.AfterFunc(ctx, func() { nc.Close() })()
	s.conns.Add(1)
	defer s.connClosed()
	if !hs.Reserved.Extended() {
		return nil, errors.New("peer does not speak the extension protocol")
	}

	step("the extension handshake")
	ext := wire.ExtHandshake{V: "shoal " + s.cfg.Version, P: int(s.announcePort()), E: s.cfg.Encryption.extFlag(), M: map[string]int{"ut_metadata": int(wire.ExtMetadata)}}
	out := wire.AppendPayload(nil, wire.Extended, 0, ext.Encode())
	if hs.Reserved.Fast() {
		out = wire.AppendSimple(out, wire.HaveNone)
	}
	if _, err := nc.Write(out); err != nil {
		return nil, silent(err)
	}
	r := wire.NewReader(nc, 0)
	// pieces fill as they arrive: a peer that claims a large size costs
	// only what it really sends.
	var pieces [][]byte
	size, got := 0, 0
	for {
		var m wire.Message
		if err := r.Read(&m, func(n int) []byte { return make([]byte, n) }); err != nil {
			return nil, silent(err)
		}
		if m.ID != wire.Extended {
			continue
		}
		switch m.ExtID {
		case 0:
			h, err := wire.ParseExtHandshake(m.Payload)
			if err != nil {
				return nil, err
			}
			id := h.M["ut_metadata"]
			switch {
			case id <= 0 || id > 255:
				return nil, errors.New("peer does not serve metadata")
			case h.MetadataSize <= 0 || h.MetadataSize > MaxMetadataSize:
				return nil, fmt.Errorf("peer claims %d bytes of metadata", h.MetadataSize)
			case pieces != nil:
				continue // a repeated handshake changes nothing
			}
			size = int(h.MetadataSize)
			pieces = make([][]byte, (size+wire.MetadataPieceSize-1)/wire.MetadataPieceSize)
			var reqs []byte
			for i := range pieces {
				reqs = wire.AppendPayload(reqs, wire.Extended, byte(id), wire.EncodeMetadataMsg(wire.MetadataMsg{Type: wire.MetadataRequest, Piece: i}))
			}
			step("metadata")
			if _, err := nc.Write(reqs); err != nil {
				return nil, silent(err)
			}
		case wire.ExtMetadata:
			msg, err := wire.ParseMetadataMsg(m.Payload)
			if err != nil {
				return nil, err
			}
			if pieces == nil {
				return nil, errors.New("metadata before the extension handshake")
			}
			switch msg.Type {
			case wire.MetadataReject:
				return nil, fmt.Errorf("peer rejected metadata piece %d", msg.Piece)
			case wire.MetadataRequest:
				continue // we have nothing to give yet
			}
			if msg.Piece < 0 || msg.Piece >= len(pieces) {
				return nil, fmt.Errorf("metadata piece %d of %d", msg.Piece, len(pieces))
			}
			want := min(wire.MetadataPieceSize, size-msg.Piece*wire.MetadataPieceSize)
			if msg.TotalSize != int64(size) || len(msg.Data) != want {
				return nil, fmt.Errorf("metadata piece %d: %d bytes of %d total, want %d of %d", msg.Piece, len(msg.Data), msg.TotalSize, want, size)
			}
			if pieces[msg.Piece] == nil {
				pieces[msg.Piece] = bytes.Clone(msg.Data) // the reader reuses its buffer
				got++
				step("metadata")
			}
			if got == len(pieces) {
				info := bytes.Join(pieces, nil)
				if !infoMatches(info, ih) {
					return nil, errors.New("metadata does not match the infohash")
				}
				if err := meta.CheckBencode(info, meta.MaxDepth); err != nil {
					return nil, err
				}
				var probe map[string]bencode.Bytes
				if err := bencode.Unmarshal(info, &probe); err != nil {
					return nil, fmt.Errorf("metadata is not a dictionary: %w", err)
				}
				return info, then(info, nc, r, hs)
			}
		}
	}
}

// metadataHandshake dials a for ih (over TCP, else uTP) and exchanges
// handshakes with our reserved bits, encrypted or plain; ctx ending
// closes the connection at once.
func (s *Session) metadataHandshake(ctx context.Context, ih [20]byte, a netip.AddrPort, patience time.Duration, encrypt bool, reserved wire.Reserved) (net.Conn, wire.Handshake, error) {
	var hs wire.Handshake
	nc, err := s.connectMetadata(ctx, a, patience)
	if err != nil {
		return nil, hs, err
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	nc.SetDeadline(time.Now().Add(patience))
	ours := wire.Handshake{Reserved: reserved, InfoHash: ih, PeerID: s.peerID}
	err = func() error {
		if encrypt {
			enc, _, err := initiateMSE(ctx, nc, ih, ours.Append(nil), s.cfg.Encryption)
			if err != nil {
				return fmt.Errorf("%w: %w", errMSE, err)
			}
			nc = enc
		} else if _, err := nc.Write(ours.Append(nil)); err != nil {
			return err
		}
		if err := wire.ReadHandshakeStart(nc, &hs); err != nil {
			return err
		}
		if hs.InfoHash != ih {
			return fmt.Errorf("%w: peer answered for another torrent", wire.ErrProtocol)
		}
		if err := wire.ReadPeerID(nc, &hs); err != nil {
			return err
		}
		if hs.PeerID == s.peerID {
			return errSelf
		}
		return nil
	}()
	if err != nil {
		nc.Close()
		return nil, hs, err
	}
	return nc, hs, nil
}
