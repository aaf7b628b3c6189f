package meta

import (
	"bytes"
	"fmt"
)

// MissingLayers lists the files whose piece layers the torrent lacks: a
// v2 or hybrid torrent made from a magnet link's info dictionary holds
// only each file's pieces root, and peers must send the layers of the
// files longer than one piece before those pieces can be checked by v2.
func (t *Torrent) MissingLayers() []V2File {
	if t.V2 == nil || t.V2.PieceHashes != nil {
		return nil
	}
	var out []V2File
	for _, f := range t.V2.Files {
		if f.Length > t.Layout.PieceLength {
			out = append(out, f)
		}
	}
	return out
}

// WithPieceLayers returns the torrent with the given piece layers (pieces
// root to concatenated 32-byte piece hashes) added, as a .torrent with
// "piece layers" would read: every layer is checked against its root
// again, and every file longer than a piece must have one. It writes as a
// complete .torrent, so a saved copy needs no peer for them again.
func (t *Torrent) WithPieceLayers(layers map[[32]byte][]byte) (*Torrent, error) {
	if t.V2 == nil {
		return nil, fmt.Errorf("%w: piece layers for a torrent without v2 metadata", ErrInvalidTorrent)
	}
	mi := *t.Meta
	mi.PieceLayers = make(map[string]string, len(layers))
	for root, layer := range layers {
		mi.PieceLayers[string(root[:])] = string(layer)
	}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		return nil, err
	}
	out, err := ParseWith(buf.Bytes(), ParseOptions{AllowV2Only: true})
	if err != nil {
		return nil, err
	}
	if out.V2 == nil || out.V2.PieceHashes == nil {
		return nil, fmt.Errorf("%w: piece layers did not give every piece a hash", ErrInvalidTorrent)
	}
	return out, nil
}
