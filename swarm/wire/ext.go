package wire

import (
	"fmt"

	"github.com/anacrolix/torrent/bencode"

	"github.com/shoal-torrent/shoal/piece/meta"
)

// ExtHandshake is the BEP 10 extension handshake (extended message 0).
type ExtHandshake struct {
	// M maps extension names (ut_metadata, ut_pex) to the IDs the sender
	// wants them sent with.
	M map[string]int `bencode:"m"`
	// V is the client's name and version, shown to people.
	V string `bencode:"v,omitempty"`
	// Reqq is how many outstanding requests the sender accepts.
	Reqq int `bencode:"reqq,omitempty"`
	// P is the sender's listen port.
	P int `bencode:"p,omitempty"`
	// E is 1 when the sender prefers encrypted connections (MSE), so
	// peers and PEX can dial it encrypted first.
	E            int   `bencode:"e,omitempty"`
	MetadataSize int64 `bencode:"metadata_size,omitempty"`
}

// Encode bencodes h.
func (h *ExtHandshake) Encode() []byte {
	if h.M == nil {
		h.M = map[string]int{}
	}
	b, err := bencode.Marshal(h)
	if err != nil {
		panic(err) // only plain fields: cannot fail
	}
	return b
}

// ParseExtHandshake decodes a peer's extension handshake after bounding it.
func ParseExtHandshake(payload []byte) (ExtHandshake, error) {
	var h ExtHandshake
	if err := meta.CheckBencode(payload, 8); err != nil {
		return h, fmt.Errorf("%w: extension handshake: %v", ErrProtocol, err)
	}
	if err := bencode.Unmarshal(payload, &h); err != nil {
		return h, fmt.Errorf("%w: extension handshake: %v", ErrProtocol, err)
	}
	if h.Reqq < 0 || h.P < 0 || h.P > 65535 || h.MetadataSize < 0 {
		return h, fmt.Errorf("%w: extension handshake out of range", ErrProtocol)
	}
	return h, nil
}
