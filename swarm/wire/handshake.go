package wire

import (
	"bytes"
	"fmt"
	"io"
)

// Protocol opens every plain handshake; an accepting side compares a
// connection's first bytes with it to tell plain peers from encrypted ones.
const Protocol = "\x13BitTorrent protocol"

// HandshakeLen is the size of a BEP 3 handshake.
const HandshakeLen = 68

// Reserved holds the handshake's feature bits.
type Reserved [8]byte

// Feature bits shoal sets and reads.
const (
	extensionByte, extensionBit = 5, 0x10 // BEP 10
	fastByte, fastBit           = 7, 0x04 // BEP 6
	dhtByte, dhtBit             = 7, 0x01 // BEP 5
	v2Byte, v2Bit               = 7, 0x10 // BEP 52: "upgrade to v2"
)

// OurReserved is what shoal announces: the extension protocol, the fast
// extension and the DHT.
func OurReserved() Reserved {
	var r Reserved
	r[extensionByte] |= extensionBit
	r[fastByte] |= fastBit
	r[dhtByte] |= dhtBit
	return r
}

// WithV2 adds the BEP 52 bit: we run the torrent as v2 (or hybrid) and
// speak the hash messages. Only torrents with v2 metadata set it.
func (r Reserved) WithV2() Reserved { r[v2Byte] |= v2Bit; return r }

// V2 reports BEP 52 support.
func (r Reserved) V2() bool { return r[v2Byte]&v2Bit != 0 }

// Extended reports BEP 10 support.
func (r Reserved) Extended() bool { return r[extensionByte]&extensionBit != 0 }

// Fast reports BEP 6 support.
func (r Reserved) Fast() bool { return r[fastByte]&fastBit != 0 }

// DHT reports BEP 5 support.
func (r Reserved) DHT() bool { return r[dhtByte]&dhtBit != 0 }

// Handshake is the opening exchange of a connection.
type Handshake struct {
	Reserved Reserved
	InfoHash [20]byte
	PeerID   [20]byte
}

// Append encodes h.
func (h *Handshake) Append(b []byte) []byte {
	b = append(b, Protocol...)
	b = append(b, h.Reserved[:]...)
	b = append(b, h.InfoHash[:]...)
	return append(b, h.PeerID[:]...)
}

// ReadHandshakeStart reads the protocol header, reserved bytes and
// infohash: an accepting side needs the infohash to pick the torrent (and
// to refuse unknown ones) before it answers.
func ReadHandshakeStart(r io.Reader, h *Handshake) error {
	var b [48]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return fmt.Errorf("read handshake: %w", unexpected(err))
	}
	if !bytes.Equal(b[:20], []byte(Protocol)) {
		return fmt.Errorf("%w: not a BitTorrent handshake", ErrProtocol)
	}
	copy(h.Reserved[:], b[20:28])
	copy(h.InfoHash[:], b[28:48])
	return nil
}

// ReadPeerID reads the last 20 bytes of a handshake.
func ReadPeerID(r io.Reader, h *Handshake) error {
	if _, err := io.ReadFull(r, h.PeerID[:]); err != nil {
		return fmt.Errorf("read peer id: %w", unexpected(err))
	}
	return nil
}
