package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

// The attacker speaks the wire protocol with its own few lines of framing
// rather than shoal's swarm/wire: a bug there must not be mirrored on both
// ends of the test.

const pstr = "\x13BitTorrent protocol"

// Message IDs of BEP 3, BEP 6 and BEP 10 that the attacks send or read.
const (
	msgChoke       = 0
	msgUnchoke     = 1
	msgInterested  = 2
	msgHave        = 4
	msgBitfield    = 5
	msgRequest     = 6
	msgPiece       = 7
	msgHaveAll     = 0x0E
	msgHaveNone    = 0x0F
	msgExtended    = 20
	blockSize      = 16 << 10
	maxReadMessage = 1 << 20 // what an attacker buffers from its target
)

// Our extension IDs: what the target must use when it sends to us.
const (
	ourPex      = 1
	ourMetadata = 2
)

// reserved builds handshake feature bits: BEP 10 extensions, BEP 6 fast.
func reserved(ext, fast bool) [8]byte {
	var r [8]byte
	if ext {
		r[5] |= 0x10
	}
	if fast {
		r[7] |= 0x04
	}
	return r
}

// newPeerID gives every attacking connection its own ID, so the target
// cannot refuse them as duplicates of one another.
func newPeerID() [20]byte {
	var id [20]byte
	copy(id[:], "-SA0001-")
	rand.Read(id[8:])
	return id
}

func handshake(infoHash [20]byte, res [8]byte) []byte {
	b := append([]byte(pstr), res[:]...)
	b = append(b, infoHash[:]...)
	id := newPeerID()
	return append(b, id[:]...)
}

// peer is one connection an attack speaks the protocol on.
type peer struct {
	nc net.Conn
	r  *bufio.Reader
	// theirs is the target's handshake: reserved bits, infohash, peer ID.
	theirs [68]byte
}

// dialer connects from src when it is valid, so each attacker can come
// from its own loopback address.
func dialer(src netip.Addr, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	return d
}

// dialPeer connects to addr and completes a handshake for infoHash.
func dialPeer(ctx context.Context, addr string, src netip.Addr, infoHash [20]byte, res [8]byte, timeout time.Duration) (*peer, error) {
	nc, err := dialer(src, timeout).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &peer{nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}
	nc.SetDeadline(time.Now().Add(timeout))
	if _, err := nc.Write(handshake(infoHash, res)); err != nil {
		nc.Close()
		return nil, fmt.Errorf("send handshake: %w", err)
	}
	if _, err := io.ReadFull(p.r, p.theirs[:]); err != nil {
		nc.Close()
		return nil, fmt.Errorf("read handshake: %w", err)
	}
	if err := p.checkHandshake(infoHash); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return p, nil
}

// acceptPeer answers a connection the target made to us.
func acceptPeer(nc net.Conn, infoHash [20]byte, res [8]byte, timeout time.Duration) (*peer, error) {
	p := &peer{nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}
	nc.SetDeadline(time.Now().Add(timeout))
	if _, err := io.ReadFull(p.r, p.theirs[:]); err != nil {
		return nil, fmt.Errorf("read handshake: %w", err)
	}
	if err := p.checkHandshake(infoHash); err != nil {
		return nil, err
	}
	if _, err := nc.Write(handshake(infoHash, res)); err != nil {
		return nil, fmt.Errorf("send handshake: %w", err)
	}
	nc.SetDeadline(time.Time{})
	return p, nil
}

func (p *peer) checkHandshake(infoHash [20]byte) error {
	if string(p.theirs[:20]) != pstr {
		return errors.New("target sent something that is not a BitTorrent handshake")
	}
	if !bytes.Equal(p.theirs[28:48], infoHash[:]) {
		return errors.New("target answered for another torrent")
	}
	return nil
}

// extended reports whether the target announced BEP 10.
func (p *peer) extended() bool { return p.theirs[25]&0x10 != 0 }

func (p *peer) close() { p.nc.Close() }

// send writes b within timeout.
func (p *peer) send(b []byte, timeout time.Duration) error {
	p.nc.SetWriteDeadline(time.Now().Add(timeout))
	_, err := p.nc.Write(b)
	return err
}

// message is one message read from the target; keep-alives have id -1.
type message struct {
	id      int
	payload []byte
}

// read returns the next message within timeout. A target that sends more
// than maxReadMessage in one message is treated as broken.
func (p *peer) read(timeout time.Duration) (message, error) {
	p.nc.SetReadDeadline(time.Now().Add(timeout))
	var hdr [4]byte
	if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
		return message{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return message{id: -1}, nil
	}
	if n > maxReadMessage {
		return message{}, fmt.Errorf("target sent a message of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(p.r, b); err != nil {
		return message{}, err
	}
	return message{id: int(b[0]), payload: b[1:]}, nil
}

// theirExtensions reads until the target's extension handshake and
// returns the IDs it wants extension messages sent with.
func (p *peer) theirExtensions(timeout time.Duration) (map[string]int, error) {
	if !p.extended() {
		return nil, errors.New("target does not speak the extension protocol")
	}
	deadline := time.Now().Add(timeout)
	for {
		m, err := p.read(time.Until(deadline))
		if err != nil {
			return nil, fmt.Errorf("waiting for the extension handshake: %w", err)
		}
		if m.id != msgExtended || len(m.payload) == 0 || m.payload[0] != 0 {
			continue
		}
		var h struct {
			M map[string]int `bencode:"m"`
		}
		if err := bencode.Unmarshal(m.payload[1:], &h); err != nil {
			return nil, fmt.Errorf("target's extension handshake: %w", err)
		}
		return h.M, nil
	}
}

// awaitDrop reads and discards until the target closes the connection
// (true) or within passes (false).
func (p *peer) awaitDrop(within time.Duration) bool {
	p.nc.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, p.r)
	return !isTimeout(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// Message encoders.

func frame(id byte, parts ...[]byte) []byte {
	n := 1
	for _, p := range parts {
		n += len(p)
	}
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 4+n), uint32(n))
	b = append(b, id)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func keepAlive() []byte { return []byte{0, 0, 0, 0} }

func u32s(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

// extMsg is a BEP 10 message; id 0 is the extension handshake.
func extMsg(id int, v any, tail []byte) []byte {
	body, err := bencode.Marshal(v)
	if err != nil {
		panic(err) // only maps of plain values are passed
	}
	return frame(msgExtended, []byte{byte(id)}, body, tail)
}

func extHandshake(m map[string]int) []byte {
	return extMsg(0, map[string]any{"m": m, "v": "shoal-attack"}, nil)
}
