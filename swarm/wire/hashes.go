package wire

import (
	"encoding/binary"
	"fmt"
)

// BEP 52 message types: a v2 peer asks for and sends merkle tree hashes.
const (
	HashRequest ID = 21
	Hashes      ID = 22
	HashReject  ID = 23
)

// hashHeaderLen is the fixed part of the three BEP 52 messages: a pieces
// root and four integers.
const hashHeaderLen = 32 + 4*4

// MaxHashesPayload caps a hashes message: 512 hashes (the most BEP 52
// asks a request to take) with a full proof fit well inside.
const MaxHashesPayload = hashHeaderLen + 2048*32

// HashMsg is a hash request, hashes or hash reject message: which hashes
// of which file's tree (BaseLayer 0 is the 16 KiB block layer; Index and
// Length count hashes in it), with ProofLayers uncle hashes asked for
// towards the root. Hashes holds a hashes message's hashes, the Length
// base hashes followed by the proof.
type HashMsg struct {
	Root                                  [32]byte
	BaseLayer, Index, Length, ProofLayers uint32
	Hashes                                [][32]byte
}

// ParseHashMsg decodes the payload of a message of type id (one of the
// three above) as Reader.Read returned it.
func ParseHashMsg(id ID, p []byte) (HashMsg, error) {
	var h HashMsg
	if len(p) < hashHeaderLen {
		return h, fmt.Errorf("%w: hash message of %d bytes", ErrProtocol, len(p))
	}
	copy(h.Root[:], p)
	h.BaseLayer = binary.BigEndian.Uint32(p[32:])
	h.Index = binary.BigEndian.Uint32(p[36:])
	h.Length = binary.BigEndian.Uint32(p[40:])
	h.ProofLayers = binary.BigEndian.Uint32(p[44:])
	rest := p[hashHeaderLen:]
	switch {
	case id != Hashes && len(rest) != 0:
		return h, fmt.Errorf("%w: hash request or reject of %d bytes", ErrProtocol, len(p))
	case len(rest)%32 != 0:
		return h, fmt.Errorf("%w: hashes message with %d hash bytes, not a multiple of 32", ErrProtocol, len(rest))
	}
	for ; len(rest) > 0; rest = rest[32:] {
		h.Hashes = append(h.Hashes, [32]byte(rest[:32]))
	}
	return h, nil
}

// AppendHashMsg encodes h as a message of type id; only Hashes carries
// h.Hashes.
func AppendHashMsg(b []byte, id ID, h *HashMsg) []byte {
	n := 1 + hashHeaderLen
	if id == Hashes {
		n += 32 * len(h.Hashes)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = append(b, byte(id))
	b = append(b, h.Root[:]...)
	for _, v := range [...]uint32{h.BaseLayer, h.Index, h.Length, h.ProofLayers} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	if id == Hashes {
		for i := range h.Hashes {
			b = append(b, h.Hashes[i][:]...)
		}
	}
	return b
}
