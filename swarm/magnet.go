package swarm

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"net/netip"
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
	InfoHash metainfo.Hash
	Name     string
	Trackers []string
	Peers    []netip.AddrPort
	// Lookup, when set, finds more peers (the DHT); it is called again
	// while the fetch goes on, and sends what it finds to found.
	Lookup func(ctx context.Context, infoHash [20]byte, found chan<- netip.AddrPort)
}

// metadataParallel is how many peers are asked at once.
const metadataParallel = 6

// FetchMetadata gets a magnet link's info dictionary from peers (BEP 9),
// checks it against the infohash, and returns the complete torrent (with
// the magnet's trackers) and the peers it found, for the download to
// start with. A peer that sends pieces of the wrong size, metadata that
// does not hash to the infohash, or more than MaxMetadataSize is dropped
// and another is asked.
func (s *Session) FetchMetadata(ctx context.Context, req MetadataRequest) (*meta.Torrent, []netip.AddrPort, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	found := make(chan netip.AddrPort, 256)
	var known sync.Map // netip.AddrPort -> true: every peer found once
	var peers []netip.AddrPort
	var peersMu sync.Mutex // guards peers
	offer := func(a netip.AddrPort) {
		if !a.IsValid() || a.Port() == 0 || s.isSelf(a) {
			return
		}
		if _, dup := known.LoadOrStore(a, true); dup {
			return
		}
		peersMu.Lock()
		peers = append(peers, a)
		peersMu.Unlock()
		select {
		case found <- a:
		case <-ctx.Done():
		}
	}
	go func() {
		for _, a := range req.Peers {
			offer(a)
		}
	}()
	if len(req.Trackers) > 0 {
		go s.magnetAnnounces(ctx, req, offer)
	}
	if req.Lookup != nil {
		relay := make(chan netip.AddrPort, 64)
		go func() {
			for a := range relay {
				offer(a)
			}
		}()
		go func() {
			defer close(relay)
			for ctx.Err() == nil {
				req.Lookup(ctx, req.InfoHash, relay)
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Second):
				}
			}
		}()
	}

	type result struct {
		info []byte
		err  error
		addr netip.AddrPort
	}
	results := make(chan result)
	slots := make(chan struct{}, metadataParallel)
	var lastErr error
	for {
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return nil, nil, fmt.Errorf("fetch metadata: %w (last peer: %v)", ctx.Err(), lastErr)
			}
			return nil, nil, fmt.Errorf("fetch metadata: no peer with the metadata found: %w", ctx.Err())
		case a := <-found:
			go func() {
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					results <- result{err: ctx.Err(), addr: a}
					return
				}
				info, err := s.metadataFrom(ctx, req.InfoHash, a)
				<-slots
				select {
				case results <- result{info, err, a}:
				case <-ctx.Done():
				}
			}()
		case r := <-results:
			if r.err != nil {
				lastErr = fmt.Errorf("%s: %w", r.addr, r.err)
				s.log.Debug("metadata fetch failed", "peer", r.addr, "err", r.err)
				continue
			}
			t, err := torrentFromInfo(r.info, req.Trackers)
			if err != nil {
				lastErr = err
				continue
			}
			peersMu.Lock()
			defer peersMu.Unlock()
			return t, append([]netip.AddrPort(nil), peers...), nil
		}
	}
}

// torrentFromInfo builds a .torrent around fetched metadata, with the
// magnet's trackers as one tier each.
func torrentFromInfo(info []byte, trackers []string) (*meta.Torrent, error) {
	mi := metainfo.MetaInfo{InfoBytes: info}
	if len(trackers) > 0 {
		mi.Announce = trackers[0]
		for _, u := range trackers {
			mi.AnnounceList = append(mi.AnnounceList, []string{u})
		}
	}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		return nil, err
	}
	return meta.Parse(buf.Bytes())
}

// magnetAnnounces asks the magnet's trackers for peers until the fetch
// ends.
func (s *Session) magnetAnnounces(ctx context.Context, req MetadataRequest, offer func(netip.AddrPort)) {
	for ctx.Err() == nil {
		var wg sync.WaitGroup
		for _, u := range req.Trackers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				actx, cancel := context.WithTimeout(ctx, announceTimeout)
				defer cancel()
				res, err := tracker.Announce{TrackerUrl: u, Context: actx, UserAgent: "shoal/" + s.cfg.Version,
					Request: tracker.AnnounceRequest{InfoHash: req.InfoHash, PeerId: s.peerID, Port: s.port, Left: 1, NumWant: 50, Event: tracker.Started}}.Do()
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

// metadataFetchTimeout bounds one peer's attempt.
const metadataFetchTimeout = 30 * time.Second

// metadataFrom asks one peer for the whole info dictionary.
func (s *Session) metadataFrom(ctx context.Context, ih [20]byte, a netip.AddrPort) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, metadataFetchTimeout)
	defer cancel()
	c, err := s.dialHandshake(ctx, ih, a)
	if err != nil {
		return nil, err
	}
	defer s.connClosed()
	defer c.nc.Close()
	go func() { <-ctx.Done(); c.nc.Close() }()
	if !c.hs.Reserved.Extended() {
		return nil, errors.New("peer does not speak the extension protocol")
	}
	ext := wire.ExtHandshake{V: "shoal " + s.cfg.Version, P: int(s.port), M: map[string]int{"ut_metadata": int(wire.ExtMetadata)}}
	out := wire.AppendPayload(nil, wire.Extended, 0, ext.Encode())
	if c.hs.Reserved.Fast() {
		out = wire.AppendSimple(out, wire.HaveNone)
	}
	if _, err := c.nc.Write(out); err != nil {
		return nil, err
	}
	r := wire.NewReader(c.nc, 0)
	var info []byte
	var have []bool
	got := 0
	for {
		var m wire.Message
		if err := r.Read(&m, func(n int) []byte { return make([]byte, n) }); err != nil {
			return nil, err
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
			case info != nil:
				continue // a repeated handshake changes nothing
			}
			info = make([]byte, h.MetadataSize)
			have = make([]bool, (h.MetadataSize+wire.MetadataPieceSize-1)/wire.MetadataPieceSize)
			var reqs []byte
			for i := range have {
				reqs = wire.AppendPayload(reqs, wire.Extended, byte(id), wire.EncodeMetadataMsg(wire.MetadataMsg{Type: wire.MetadataRequest, Piece: i}))
			}
			if _, err := c.nc.Write(reqs); err != nil {
				return nil, err
			}
		case wire.ExtMetadata:
			msg, err := wire.ParseMetadataMsg(m.Payload)
			if err != nil {
				return nil, err
			}
			if info == nil {
				return nil, errors.New("metadata before the extension handshake")
			}
			switch msg.Type {
			case wire.MetadataReject:
				return nil, fmt.Errorf("peer rejected metadata piece %d", msg.Piece)
			case wire.MetadataRequest:
				continue // we have nothing to give yet
			}
			off := msg.Piece * wire.MetadataPieceSize
			want := min(wire.MetadataPieceSize, len(info)-off)
			if msg.Piece >= len(have) || msg.TotalSize != int64(len(info)) || len(msg.Data) != want {
				return nil, fmt.Errorf("metadata piece %d: %d bytes of %d total, want %d of %d", msg.Piece, len(msg.Data), msg.TotalSize, want, len(info))
			}
			if !have[msg.Piece] {
				have[msg.Piece] = true
				got++
				copy(info[off:], msg.Data)
			}
			if got == len(have) {
				if sha1.Sum(info) != ih {
					return nil, errors.New("metadata does not match the infohash")
				}
				if err := meta.CheckBencode(info, meta.MaxDepth); err != nil {
					return nil, err
				}
				var probe map[string]bencode.Bytes
				if err := bencode.Unmarshal(info, &probe); err != nil {
					return nil, fmt.Errorf("metadata is not a dictionary: %w", err)
				}
				return info, nil
			}
		}
	}
}
