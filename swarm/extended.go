package swarm

import "github.com/shoal-torrent/shoal/swarm/wire"

// serveMetadata answers a ut_metadata request with a piece of our info
// dictionary (BEP 9), so peers holding only a magnet link can start.
func (l *loop) serveMetadata(c *conn, payload []byte) error {
	msg, err := wire.ParseMetadataMsg(payload)
	if err != nil {
		return err
	}
	id := c.peerExt["ut_metadata"]
	if msg.Type != wire.MetadataRequest || id <= 0 || id > 255 {
		return nil
	}
	info := l.t.m.Meta.InfoBytes
	reply := wire.MetadataMsg{Type: wire.MetadataReject, Piece: msg.Piece}
	// The index is checked before any arithmetic: piece × 16 KiB of a
	// hostile index wraps negative.
	if pieces := (len(info) + wire.MetadataPieceSize - 1) / wire.MetadataPieceSize; msg.Piece < pieces {
		off := msg.Piece * wire.MetadataPieceSize
		reply = wire.MetadataMsg{Type: wire.MetadataData, Piece: msg.Piece, TotalSize: int64(len(info)),
			Data: info[off:min(off+wire.MetadataPieceSize, len(info))]}
	}
	payloadOut := wire.EncodeMetadataMsg(reply)
	c.out.push(func(b []byte) []byte { return wire.AppendPayload(b, wire.Extended, byte(id), payloadOut) })
	return nil
}
