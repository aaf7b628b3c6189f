package swarm

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// errBadHashes marks a peer whose hashes fail the merkle proof to the
// file's pieces root (or answer what was not asked): it lied, and is
// left out of the peers the download starts with.
var errBadHashes = fmt.Errorf("%w: hashes", wire.ErrProtocol)

// layerWindow is how many hash requests wait on one peer at once.
const layerWindow = 8

// layerChunk is one hash request for a run of a file's piece layer and
// the uncle hashes from its top to the root.
type layerChunk struct {
	file int // index into the files asked for
	req  wire.HashMsg
}

// layerChunks splits the piece layers of files into hash requests of at
// most maxHashRequest hashes each; a run made only of the padding past a
// file's last piece is not asked for, its hashes being known.
func layerChunks(files []meta.V2File, pieceLength int64) []layerChunk {
	base := uint32(bits.TrailingZeros64(uint64(pieceLength / piece.BlockSize)))
	var out []layerChunk
	for i, f := range files {
		n := int((f.Length + pieceLength - 1) / pieceLength)
		width := 1 << bits.Len(uint(n-1))
		run := min(width, maxHashRequest)
		for idx := 0; idx < n; idx += run {
			out = append(out, layerChunk{file: i, req: wire.HashMsg{Root: f.Root, BaseLayer: base, Index: uint32(idx),
				Length: uint32(run), ProofLayers: uint32(bits.TrailingZeros(uint(width / run)))}})
		}
	}
	return out
}

// proveChunk checks a hashes answer to c: the asked run and then exactly
// the asked uncles, which together must hash up to the file's root.
func proveChunk(c *layerChunk, got *wire.HashMsg) error {
	if len(got.Hashes) != int(c.req.Length+c.req.ProofLayers) {
		return fmt.Errorf("%w: %d hashes for a request of %d and %d proof layers", errBadHashes, len(got.Hashes), c.req.Length, c.req.ProofLayers)
	}
	level := append([][32]byte(nil), got.Hashes[:c.req.Length]...)
	var buf [64]byte
	for len(level) > 1 {
		for i := range len(level) / 2 {
			copy(buf[:32], level[2*i][:])
			copy(buf[32:], level[2*i+1][:])
			level[i] = sha256.Sum256(buf[:])
		}
		level = level[:len(level)/2]
	}
	h := level[0]
	node := c.req.Index / c.req.Length
	for _, uncle := range got.Hashes[c.req.Length:] {
		if node&1 == 0 {
			copy(buf[:32], h[:])
			copy(buf[32:], uncle[:])
		} else {
			copy(buf[:32], uncle[:])
			copy(buf[32:], h[:])
		}
		h = sha256.Sum256(buf[:])
		node >>= 1
	}
	if h != c.req.Root {
		return fmt.Errorf("%w: piece layer hashes at %d..%d do not hash to the file's pieces root", errBadHashes, c.req.Index, c.req.Index+c.req.Length)
	}
	return nil
}

// layersFrom asks peer a for the piece layers of files with BEP 52 hash
// requests and returns those it gave completely, each proven against its
// file's root. It stops at the first reject, lie or silence of patience;
// what it proved until then is returned with the error.
func (s *Session) layersFrom(ctx context.Context, ih [20]byte, a netip.AddrPort, patience time.Duration, t *meta.Torrent, files []meta.V2File) (map[[32]byte][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, metadataFetchTimeout)
	defer cancel()
	nc, hs, err := s.peerHandshake(ctx, ih, a, patience, wire.OurReserved().WithV2())
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	defer context.AfterFunc(ctx, func() { nc.Close() })()
	s.conns.Add(1)
	defer s.connClosed()
	if t.HasV1 && !hs.Reserved.V2() { // see torrentFrom
		return nil, errNoHashMessages
	}
	return s.layersOver(ctx, nc, wire.NewReader(nc, 0), patience, t.Layout.PieceLength, files)
}

// errNoHashMessages is a hybrid's peer without the BEP 52 bit: most
// likely a v1-only client, which cannot send piece layers.
var errNoHashMessages = errors.New("peer does not speak BEP 52 hash messages")

// layersOver asks for the layers on a handshaken connection, read by r.
func (s *Session) layersOver(ctx context.Context, nc net.Conn, r *wire.Reader, patience time.Duration, pieceLength int64, files []meta.V2File) (map[[32]byte][]byte, error) {
	chunks := layerChunks(files, pieceLength)
	layers := make([][]byte, len(files))
	left := make([]int, len(files)) // chunks still to prove, by file
	for i, f := range files {
		layers[i] = make([]byte, 32*((f.Length+pieceLength-1)/pieceLength))
	}
	for _, c := range chunks {
		left[c.file]++
	}
	done := map[[32]byte][]byte{}
	outstanding := map[[3]uint32]*layerChunk{}
	key := func(f int, m *wire.HashMsg) [3]uint32 { return [3]uint32{uint32(f), m.Index, m.Length} }
	byRoot := map[[32]byte]int{}
	for i, f := range files {
		byRoot[f.Root] = i
	}
	next := 0
	for len(done) < len(files) {
		var out []byte
		for ; next < len(chunks) && len(outstanding) < layerWindow; next++ {
			c := &chunks[next]
			outstanding[key(c.file, &c.req)] = c
			out = wire.AppendHashMsg(out, wire.HashRequest, &c.req)
		}
		nc.SetDeadline(time.Now().Add(patience))
		if len(out) > 0 {
			if _, err := nc.Write(out); err != nil {
				return done, s.silence(ctx, err, patience)
			}
		}
		var c *layerChunk
		var got wire.HashMsg
		for c == nil {
			var m wire.Message
			if err := r.Read(&m, func(n int) []byte { return make([]byte, n) }); err != nil {
				return done, s.silence(ctx, err, patience)
			}
			if m.ID != wire.Hashes && m.ID != wire.HashReject {
				continue // bitfields, haves, extensions: not what is waited for
			}
			var err error
			if got, err = wire.ParseHashMsg(m.ID, m.Payload); err != nil {
				return done, err
			}
			f, ok := byRoot[got.Root]
			if ok {
				c = outstanding[key(f, &got)]
			}
			switch {
			case c == nil || got.BaseLayer != c.req.BaseLayer:
				return done, fmt.Errorf("%w: an answer to no request of ours", errBadHashes)
			case m.ID == wire.HashReject:
				return done, fmt.Errorf("peer rejected the hash request for %d hashes at %d", got.Length, got.Index)
			}
		}
		if err := proveChunk(c, &got); err != nil {
			return done, err
		}
		delete(outstanding, key(c.file, &c.req))
		copy(layers[c.file][32*int(c.req.Index):], flatten(got.Hashes[:c.req.Length]))
		if left[c.file]--; left[c.file] == 0 {
			done[files[c.file].Root] = layers[c.file]
		}
	}
	return done, nil
}

// flatten joins hashes into one string of bytes.
func flatten(hs [][32]byte) []byte {
	out := make([]byte, 0, 32*len(hs))
	for i := range hs {
		out = append(out, hs[i][:]...)
	}
	return out
}

// silence names a deadline as the peer's silence, and an ended fetch as
// that.
func (s *Session) silence(ctx context.Context, err error, patience time.Duration) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("peer silent for %v awaiting hashes", patience)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// peerHandshake dials a for ih with the session's encryption policy (an
// encrypted attempt first where allowed) and exchanges handshakes.
func (s *Session) peerHandshake(ctx context.Context, ih [20]byte, a netip.AddrPort, patience time.Duration, reserved wire.Reserved) (net.Conn, wire.Handshake, error) {
	attempts := []bool{true, false}
	switch s.cfg.Encryption {
	case EncryptionRequired:
		attempts = attempts[:1]
	case EncryptionTolerated:
		attempts = attempts[1:]
	}
	var nc net.Conn
	var hs wire.Handshake
	var err error
	for _, encrypt := range attempts {
		nc, hs, err = s.metadataHandshake(ctx, ih, a, patience, encrypt, reserved)
		if err == nil || ctx.Err() != nil || !errors.Is(err, errMSE) {
			break
		}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("peer silent for %v awaiting the handshake", patience)
	}
	return nc, hs, err
}

// infoMatches says whether fetched metadata is the torrent ih names: its
// SHA-1 (a v1 or hybrid swarm) or its truncated SHA-256 (a v2 swarm).
func infoMatches(info []byte, ih [20]byte) bool {
	if metainfo.HashBytes(info) == ih {
		return true
	}
	v2 := sha256.Sum256(info)
	return [20]byte(v2[:20]) == ih
}

// layerFetch gathers a torrent's missing piece layers from the peers a
// metadata fetch knows, each layer proven before it is kept. It belongs
// to FetchMetadata's loop alone.
type layerFetch struct {
	t       *meta.Torrent
	missing []meta.V2File
	got     map[[32]byte][]byte
	liars   map[netip.AddrPort]bool
}

func newLayerFetch(t *meta.Torrent) *layerFetch {
	return &layerFetch{t: t, missing: t.MissingLayers(), got: map[[32]byte][]byte{}, liars: map[netip.AddrPort]bool{}}
}

// wanted lists the files whose layers no peer has sent yet.
func (lf *layerFetch) wanted() []meta.V2File {
	var out []meta.V2File
	for _, f := range lf.missing {
		if lf.got[f.Root] == nil {
			out = append(out, f)
		}
	}
	return out
}

// add keeps what peer a proved and remembers a liar; done is true once
// every layer is known, lf.t then being the complete torrent.
func (lf *layerFetch) add(a netip.AddrPort, layers map[[32]byte][]byte, err error) (done bool, _ error) {
	if errors.Is(err, wire.ErrProtocol) {
		lf.liars[a] = true
	}
	for root, l := range layers {
		lf.got[root] = l
	}
	if len(lf.wanted()) > 0 {
		return false, nil
	}
	t, err := lf.t.WithPieceLayers(lf.got)
	if err != nil {
		return false, err
	}
	lf.t = t
	return true, nil
}

// giveUp says when to stop waiting for layers: a hybrid downloads by its
// v1 hashes, so once every known peer was asked it goes on without them
// (v1-only peers never send any); a v2-only torrent cannot, and waits for
// more peers until the fetch ends.
func (lf *layerFetch) giveUp(active, queued int) bool {
	return lf.t.HasV1 && active == 0 && queued == 0
}

// trusted is peers without those that broke the protocol while asked
// for layers (wrong hashes, unasked answers, oversized messages).
func (lf *layerFetch) trusted(peers []netip.AddrPort) []netip.AddrPort {
	return slices.DeleteFunc(slices.Clone(peers), func(p netip.AddrPort) bool { return lf.liars[p] })
}
