// Package wire encodes and decodes the BitTorrent peer wire protocol (BEP 3)
// with the fast extension (BEP 6) and the extension protocol (BEP 10). Every
// message's length is checked against a cap for its type before a byte of
// its payload is read, so a peer can never make us allocate more than one
// block; piece payloads land in caller-supplied buffers.
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ID is a message type.
type ID byte

// Message types of BEP 3, BEP 5 (port), BEP 6 and BEP 10.
const (
	Choke         ID = 0
	Unchoke       ID = 1
	Interested    ID = 2
	NotInterested ID = 3
	Have          ID = 4
	Bitfield      ID = 5
	Request       ID = 6
	Piece         ID = 7
	Cancel        ID = 8
	Port          ID = 9
	Suggest       ID = 0x0D
	HaveAll       ID = 0x0E
	HaveNone      ID = 0x0F
	Reject        ID = 0x10
	AllowedFast   ID = 0x11
	Extended      ID = 20
	// KeepAlive is not on the wire (it is a zero-length message); the
	// reader reports it with this ID.
	KeepAlive ID = 0xFF
)

// MaxBlock is the largest block shoal sends or accepts in a request.
const MaxBlock = 16 * 1024

// MaxExtended caps an extension message: a 16 KiB metadata piece and its
// dictionary, or a PEX list, fit well inside.
const MaxExtended = 64 * 1024

// ErrProtocol is wrapped by every decoding refusal; the caller drops the
// peer and counts it, it is not an error of ours.
var ErrProtocol = errors.New("protocol violation")

// Message is one decoded message. Fields are set by type: Index for have,
// suggest and allowed_fast; Index/Begin/Length for request, cancel and
// reject; Index/Begin and Data for piece; Payload for bitfield,
// extended (with ExtID) and the BEP 52 hash messages (see ParseHashMsg); Port for port.
type Message struct {
	ID      ID
	Index   uint32
	Begin   uint32
	Length  uint32
	Port    uint16
	ExtID   byte
	Data    []byte // piece payload, in the buffer from BlockBuffer
	Payload []byte // bitfield or extended payload; valid until the next read
}

// Reader decodes messages from a peer.
type Reader struct {
	r *bufio.Reader
	// maxBitfield is the exact bitfield length for this torrent; 0 before
	// the torrent (and its size) is known.
	maxBitfield int
	buf         []byte
	hdr         [13]byte
}

// NewReader reads messages for a torrent of numPieces pieces from r, which
// should be buffered by the caller or will be here.
func NewReader(r io.Reader, numPieces int) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &Reader{r: br, maxBitfield: (numPieces + 7) / 8}
}

// SetNumPieces updates the bitfield cap once metadata is known.
func (d *Reader) SetNumPieces(n int) { d.maxBitfield = (n + 7) / 8 }

// Read decodes the next message into m. blockBuffer supplies the buffer a
// piece payload of n bytes is read into (from a pool). A violation returns
// an error wrapping ErrProtocol.
func (d *Reader) Read(m *Message, blockBuffer func(n int) []byte) error {
	*m = Message{}
	if _, err := io.ReadFull(d.r, d.hdr[:4]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(d.hdr[:4])
	if n == 0 {
		m.ID = KeepAlive
		return nil
	}
	id, err := d.r.ReadByte()
	if err != nil {
		return unexpected(err)
	}
	m.ID = ID(id)
	body := n - 1
	fixed := func(want uint32) error {
		if body != want {
			return fmt.Errorf("%w: message %d with %d payload bytes, want %d", ErrProtocol, id, body, want)
		}
		if _, err := io.ReadFull(d.r, d.hdr[:want]); err != nil {
			return unexpected(err)
		}
		return nil
	}
	switch m.ID {
	case Choke, Unchoke, Interested, NotInterested, HaveAll, HaveNone:
		return fixed(0)
	case Have, Suggest, AllowedFast:
		if err := fixed(4); err != nil {
			return err
		}
		m.Index = binary.BigEndian.Uint32(d.hdr[:4])
	case Request, Cancel, Reject:
		if err := fixed(12); err != nil {
			return err
		}
		m.Index = binary.BigEndian.Uint32(d.hdr[0:4])
		m.Begin = binary.BigEndian.Uint32(d.hdr[4:8])
		m.Length = binary.BigEndian.Uint32(d.hdr[8:12])
	case Port:
		if err := fixed(2); err != nil {
			return err
		}
		m.Port = binary.BigEndian.Uint16(d.hdr[:2])
	case Piece:
		if body < 8 || body-8 > MaxBlock {
			return fmt.Errorf("%w: piece message of %d bytes", ErrProtocol, body)
		}
		if _, err := io.ReadFull(d.r, d.hdr[:8]); err != nil {
			return unexpected(err)
		}
		m.Index = binary.BigEndian.Uint32(d.hdr[0:4])
		m.Begin = binary.BigEndian.Uint32(d.hdr[4:8])
		m.Data = blockBuffer(int(body - 8))[:body-8]
		if _, err := io.ReadFull(d.r, m.Data); err != nil {
			return unexpected(err)
		}
	case Bitfield:
		if d.maxBitfield > 0 && body != uint32(d.maxBitfield) || body > 1<<21 {
			return fmt.Errorf("%w: bitfield of %d bytes, want %d", ErrProtocol, body, d.maxBitfield)
		}
		return d.payload(m, body)
	case Extended:
		if body < 1 || body > MaxExtended {
			return fmt.Errorf("%w: extended message of %d bytes", ErrProtocol, body)
		}
		ext, err := d.r.ReadByte()
		if err != nil {
			return unexpected(err)
		}
		m.ExtID = ext
		return d.payload(m, body-1)
	case HashRequest, HashReject:
		if body != hashHeaderLen {
			return fmt.Errorf("%w: hash request or reject of %d bytes", ErrProtocol, body)
		}
		return d.payload(m, body)
	case Hashes:
		if body < hashHeaderLen || body > MaxHashesPayload || (body-hashHeaderLen)%32 != 0 {
			return fmt.Errorf("%w: hashes message of %d bytes", ErrProtocol, body)
		}
		return d.payload(m, body)
	default:
		// Unknown messages are allowed by BEP 10's spirit, but only
		// small ones: skip without buffering.
		if body > MaxExtended {
			return fmt.Errorf("%w: unknown message %d of %d bytes", ErrProtocol, id, body)
		}
		if _, err := d.r.Discard(int(body)); err != nil {
			return unexpected(err)
		}
	}
	return nil
}

func (d *Reader) payload(m *Message, n uint32) error {
	if cap(d.buf) < int(n) {
		d.buf = make([]byte, n)
	}
	m.Payload = d.buf[:n]
	if _, err := io.ReadFull(d.r, m.Payload); err != nil {
		return unexpected(err)
	}
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// The Append functions encode one message onto b, so a writer batches many
// into one buffer and one syscall.

// AppendSimple encodes a message with no payload (choke, unchoke,
// interested, not interested, have_all, have_none).
func AppendSimple(b []byte, id ID) []byte {
	return append(b, 0, 0, 0, 1, byte(id))
}

// AppendKeepAlive encodes a keep-alive.
func AppendKeepAlive(b []byte) []byte { return append(b, 0, 0, 0, 0) }

// AppendIndex encodes have, suggest or allowed_fast.
func AppendIndex(b []byte, id ID, index uint32) []byte {
	b = append(b, 0, 0, 0, 5, byte(id))
	return binary.BigEndian.AppendUint32(b, index)
}

// AppendRequest encodes request, cancel or reject.
func AppendRequest(b []byte, id ID, index, begin, length uint32) []byte {
	b = append(b, 0, 0, 0, 13, byte(id))
	b = binary.BigEndian.AppendUint32(b, index)
	b = binary.BigEndian.AppendUint32(b, begin)
	return binary.BigEndian.AppendUint32(b, length)
}

// AppendPieceHeader encodes a piece message's header; the n data bytes
// follow it on the wire.
func AppendPieceHeader(b []byte, index, begin uint32, n int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(9+n))
	b = append(b, byte(Piece))
	b = binary.BigEndian.AppendUint32(b, index)
	return binary.BigEndian.AppendUint32(b, begin)
}

// AppendPayload encodes a bitfield (ext ignored) or, with id Extended, an
// extension message with extended ID ext.
func AppendPayload(b []byte, id ID, ext byte, payload []byte) []byte {
	n := 1 + len(payload)
	if id == Extended {
		n++
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = append(b, byte(id))
	if id == Extended {
		b = append(b, ext)
	}
	return append(b, payload...)
}

// AppendPort encodes a DHT port message.
func AppendPort(b []byte, port uint16) []byte {
	b = append(b, 0, 0, 0, 3, byte(Port))
	return binary.BigEndian.AppendUint16(b, port)
}
