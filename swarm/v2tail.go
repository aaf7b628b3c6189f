package swarm

import "github.com/shoal-torrent/shoal/piece"

// requestLimit is how far into piece i a peer may ask. BEP 3 ends every
// piece with the data, and so does a v1 torrent here. A torrent with v2
// metadata (v2-only or hybrid) may be asked for its last piece up to the
// piece length: libtorrent pads a v2 torrent's last file to a whole
// piece in memory and requests that piece in full, and dropping it for
// that stalls its download for good. The bytes past the data are zeros
// (readBlock).
func (l *loop) requestLimit(i int) int64 {
	if i == l.layout.NumPieces-1 && l.t.m.V2 != nil {
		return l.layout.PieceLength
	}
	return l.layout.PieceSize(i)
}

// readBlock reads the block of an upload at off into p. The part past
// the torrent's end, which only requestLimit's padded last piece has,
// reads as zeros.
func readBlock(st piece.Storage, l *piece.Layout, p []byte, off int64) error {
	n := int(max(0, min(int64(len(p)), l.Total-off)))
	clear(p[n:])
	if n == 0 {
		return nil
	}
	_, err := st.ReadAt(p[:n], off)
	return err
}

// pastEnd says an upload reaches past the torrent's end, so it cannot
// go from a file by sendfile and is read (and zero-filled) instead.
func pastEnd(l *piece.Layout, u upload) bool {
	return l.PieceOffset(int(u.index))+int64(u.begin)+int64(u.length) > l.Total
}
