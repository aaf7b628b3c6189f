package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/anacrolix/torrent/bencode"

	"github.com/shoal-torrent/shoal/piece/meta"
)

// The extension message IDs shoal asks peers to use when they send to
// it (BEP 10 lets each side choose its own).
const (
	ExtPex      byte = 1
	ExtMetadata byte = 3
)

// MetadataPieceSize is the BEP 9 unit of metadata transfer.
const MetadataPieceSize = 16 * 1024

// BEP 9 message types.
const (
	MetadataRequest = 0
	MetadataData    = 1
	MetadataReject  = 2
)

// MetadataMsg is a ut_metadata message; data messages carry Data after
// the dictionary.
type MetadataMsg struct {
	Type      int    `bencode:"msg_type"`
	Piece     int    `bencode:"piece"`
	TotalSize int64  `bencode:"total_size,omitempty"`
	Data      []byte `bencode:"-"`
}

// ParseMetadataMsg decodes a ut_metadata payload: a bounded dictionary,
// then (for data) at most one 16 KiB piece.
func ParseMetadataMsg(payload []byte) (MetadataMsg, error) {
	var m MetadataMsg
	n, err := meta.ValueLen(payload, 4)
	if err != nil {
		return m, fmt.Errorf("%w: ut_metadata: %v", ErrProtocol, err)
	}
	if err := bencode.Unmarshal(payload[:n], &m); err != nil {
		return m, fmt.Errorf("%w: ut_metadata: %v", ErrProtocol, err)
	}
	m.Data = payload[n:]
	switch {
	case m.Type < MetadataRequest || m.Type > MetadataReject, m.Piece < 0:
		return m, fmt.Errorf("%w: ut_metadata type %d piece %d", ErrProtocol, m.Type, m.Piece)
	case m.Type != MetadataData && len(m.Data) > 0, len(m.Data) > MetadataPieceSize:
		return m, fmt.Errorf("%w: ut_metadata carries %d stray bytes", ErrProtocol, len(m.Data))
	case m.TotalSize < 0:
		return m, fmt.Errorf("%w: ut_metadata total size %d", ErrProtocol, m.TotalSize)
	}
	return m, nil
}

// EncodeMetadataMsg encodes m (with its Data after the dictionary).
func EncodeMetadataMsg(m MetadataMsg) []byte {
	b, err := bencode.Marshal(m)
	if err != nil {
		panic(err) // plain fields: cannot fail
	}
	return append(b, m.Data...)
}

// maxPexPeers is how many peers shoal takes from one PEX message, per
// family and direction: BEP 11 caps a message at 50 added, and a peer
// that sends more is not believed past that.
const maxPexPeers = 50

// Pex is a decoded ut_pex message.
type Pex struct {
	Added   []netip.AddrPort
	Flags   []byte // one per Added entry (IPv4 ones first, then IPv6)
	Dropped []netip.AddrPort
}

// PEX flags (BEP 11).
const (
	PexEncryption = 0x01
	PexSeed       = 0x02
	PexReachable  = 0x10
)

type pexWire struct {
	Added    []byte `bencode:"added"`
	AddedF   []byte `bencode:"added.f"`
	Dropped  []byte `bencode:"dropped"`
	Added6   []byte `bencode:"added6,omitempty"`
	Added6F  []byte `bencode:"added6.f,omitempty"`
	Dropped6 []byte `bencode:"dropped6,omitempty"`
}

// ParsePex decodes a ut_pex payload, keeping at most 50 peers of each
// kind; malformed compact lists are refused.
func ParsePex(payload []byte) (Pex, error) {
	var w pexWire
	var p Pex
	if err := meta.CheckBencode(payload, 4); err != nil {
		return p, fmt.Errorf("%w: ut_pex: %v", ErrProtocol, err)
	}
	if err := bencode.Unmarshal(payload, &w); err != nil {
		return p, fmt.Errorf("%w: ut_pex: %v", ErrProtocol, err)
	}
	for _, l := range []struct {
		b    []byte
		size int
		dst  *[]netip.AddrPort
	}{{w.Added, 6, &p.Added}, {w.Added6, 18, &p.Added}, {w.Dropped, 6, &p.Dropped}, {w.Dropped6, 18, &p.Dropped}} {
		if len(l.b)%l.size != 0 {
			return p, fmt.Errorf("%w: ut_pex list of %d bytes", ErrProtocol, len(l.b))
		}
		for i := 0; i+l.size <= len(l.b) && i/l.size < maxPexPeers; i += l.size {
			*l.dst = append(*l.dst, decodeCompact(l.b[i:i+l.size]))
		}
	}
	p.Flags = append(append(p.Flags, w.AddedF...), w.Added6F...)
	return p, nil
}

// EncodePex encodes added (with flags) and dropped peers, at most 50 of
// each.
func EncodePex(added []netip.AddrPort, flags []byte, dropped []netip.AddrPort) []byte {
	var w pexWire
	for i, a := range added[:min(len(added), maxPexPeers)] {
		f := byte(0)
		if i < len(flags) {
			f = flags[i]
		}
		if a.Addr().Unmap().Is4() {
			w.Added = appendCompact(w.Added, a)
			w.AddedF = append(w.AddedF, f)
		} else {
			w.Added6 = appendCompact(w.Added6, a)
			w.Added6F = append(w.Added6F, f)
		}
	}
	for _, a := range dropped[:min(len(dropped), maxPexPeers)] {
		if a.Addr().Unmap().Is4() {
			w.Dropped = appendCompact(w.Dropped, a)
		} else {
			w.Dropped6 = appendCompact(w.Dropped6, a)
		}
	}
	if w.Added == nil {
		w.Added = []byte{}
	}
	if w.AddedF == nil {
		w.AddedF = []byte{}
	}
	if w.Dropped == nil {
		w.Dropped = []byte{}
	}
	b, err := bencode.Marshal(w)
	if err != nil {
		panic(err)
	}
	return b
}

func appendCompact(b []byte, a netip.AddrPort) []byte {
	ip := a.Addr().Unmap()
	if ip.Is4() {
		v := ip.As4()
		b = append(b, v[:]...)
	} else {
		v := ip.As16()
		b = append(b, v[:]...)
	}
	return binary.BigEndian.AppendUint16(b, a.Port())
}

func decodeCompact(b []byte) netip.AddrPort {
	port := binary.BigEndian.Uint16(b[len(b)-2:])
	if len(b) == 6 {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[:16])), port)
}
