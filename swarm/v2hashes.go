package swarm

import (
	"crypto/sha256"
	"math/bits"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// maxHashRequest is the most hashes one request may ask for: BEP 52
// clients ask for 512 at a time; more is refused (hash reject).
const maxHashRequest = 512

// maxHashBacklog is how many bytes of control messages may wait for a
// peer before its hash requests count as a flood and it is dropped: a
// peer that asks without reading cannot make us buffer without end.
const maxHashBacklog = 1 << 20

// v2Trees holds the merkle trees above the piece layers, built on the
// first hash request for a file and kept for the next ones. Only the
// loop goroutine touches it.
type v2Trees struct {
	files map[[32]byte]*meta.V2File // by pieces root, files with a piece layer
	trees map[[32]byte][][][32]byte // levels, piece layer first, root last
}

func newV2Trees(v *meta.V2) *v2Trees {
	t := &v2Trees{files: map[[32]byte]*meta.V2File{}, trees: map[[32]byte][][][32]byte{}}
	for i := range v.Files {
		if f := &v.Files[i]; len(f.Layer) > 0 {
			t.files[f.Root] = f
		}
	}
	return t
}

// tree returns the levels of root's tree from the piece layer (padded to
// a power of two with the hash of an all-zero piece) up to the root.
func (t *v2Trees) tree(root [32]byte, pieceLength int64) [][][32]byte {
	if lv, ok := t.trees[root]; ok {
		return lv
	}
	f := t.files[root]
	if f == nil {
		return nil
	}
	n := len(f.Layer) / 32
	width := 1 << bits.Len(uint(n-1))
	level := make([][32]byte, width)
	for i := range n {
		level[i] = [32]byte(f.Layer[i*32:])
	}
	pad := metainfo.HashForPiecePad(pieceLength)
	for i := n; i < width; i++ {
		level[i] = pad
	}
	levels := [][][32]byte{level}
	var buf [64]byte
	for len(level) > 1 {
		up := make([][32]byte, len(level)/2)
		for i := range up {
			copy(buf[:32], level[2*i][:])
			copy(buf[32:], level[2*i+1][:])
			up[i] = sha256.Sum256(buf[:])
		}
		levels = append(levels, up)
		level = up
	}
	t.trees[root] = levels
	return levels
}

// answer returns the hashes message for req: the requested hashes of a
// layer at or above the piece layer (block hashes are not kept), then
// the uncle hashes towards the root, bottom first, as many as asked and
// the tree has below its root. ok is false for a request to reject.
func (t *v2Trees) answer(req *wire.HashMsg, pieceLength int64) (hashes [][32]byte, ok bool) {
	pieceLayer := uint32(bits.TrailingZeros64(uint64(pieceLength / piece.BlockSize)))
	switch {
	case req.BaseLayer < pieceLayer, req.Length == 0, req.Length > maxHashRequest,
		req.Length&(req.Length-1) != 0, req.Index%req.Length != 0:
		return nil, false
	}
	levels := t.tree(req.Root, pieceLength)
	k := int(req.BaseLayer - pieceLayer)
	if levels == nil || k >= len(levels) || int(req.Index)+int(req.Length) > len(levels[k]) {
		return nil, false
	}
	hashes = append(hashes, levels[k][req.Index:req.Index+req.Length]...)
	// The requested run is one subtree; its uncles start at its top.
	top := k + bits.TrailingZeros32(req.Length)
	node := int(req.Index >> bits.TrailingZeros32(req.Length))
	for lv := top; lv < len(levels)-1 && uint32(lv-top) < req.ProofLayers; lv++ {
		hashes = append(hashes, levels[lv][node^1])
		node >>= 1
	}
	return hashes, true
}

// serveHashRequest answers a BEP 52 hash request from our piece layers,
// or rejects it.
func (l *loop) serveHashRequest(c *conn, payload []byte) error {
	req, err := wire.ParseHashMsg(wire.HashRequest, payload)
	if err != nil {
		return err
	}
	if c.out.ctrlLen() > maxHashBacklog {
		return violation("hash requests flood: %d bytes unsent", c.out.ctrlLen())
	}
	id := wire.HashReject
	if tr := l.t.v2trees; tr != nil {
		if hs, ok := tr.answer(&req, l.layout.PieceLength); ok {
			id, req.Hashes = wire.Hashes, hs
		}
	}
	c.out.push(func(b []byte) []byte { return wire.AppendHashMsg(b, id, &req) })
	return nil
}
