package swarm

import (
	"bufio"
	"crypto/rand"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

// fakePeer is a hand-written peer for misbehaviour no real client shows:
// it claims every piece and answers requests through serve, and counts
// what it was sent.
type fakePeer struct {
	ln       net.Listener
	infoHash [20]byte
	requests atomic.Int64
	serve    func(c net.Conn, m *wire.Message) // answers one request
	// opening is written right after the handshake.
	opening []byte
}

// newFakePeer listens on host (a loopback address: 127.0.0.2 is another
// host as far as per-IP bans go).
func newFakePeer(t testing.TB, host string, infoHash [20]byte, numPieces int, serve func(net.Conn, *wire.Message)) *fakePeer {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	p := &fakePeer{ln: ln, infoHash: infoHash, serve: serve}
	p.opening = wire.AppendSimple(nil, wire.HaveAll)
	p.opening = wire.AppendSimple(p.opening, wire.Unchoke)
	t.Cleanup(func() { ln.Close() })
	go p.accept(numPieces)
	return p
}

// listenLoopback accepts connections on host (a loopback address) until
// the test ends, handing each to handle on a goroutine of its own: the
// opening of every hand-written peer in these tests.
func listenLoopback(t testing.TB, host string, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return addrOf(ln.Addr())
}

func (p *fakePeer) addr() netip.AddrPort { return addrOf(p.ln.Addr()) }

func (p *fakePeer) accept(numPieces int) {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			if !fakeHandshake(c, p.infoHash, p.opening) {
				return
			}
			r := wire.NewReader(c, numPieces)
			for {
				var m wire.Message
				if r.Read(&m, func(n int) []byte { return make([]byte, n) }) != nil {
					return
				}
				if m.ID == wire.Request {
					p.requests.Add(1)
					if p.serve != nil {
						p.serve(c, &m)
					}
				}
			}
		}()
	}
}

// fakeHandshake answers a connecting peer's handshake for infoHash, with
// a random peer ID, followed by opening.
func fakeHandshake(c net.Conn, infoHash [20]byte, opening []byte) bool {
	var hs wire.Handshake
	if wire.ReadHandshakeStart(c, &hs) != nil || wire.ReadPeerID(c, &hs) != nil {
		return false
	}
	ours := wire.Handshake{Reserved: wire.OurReserved(), InfoHash: infoHash}
	rand.Read(ours.PeerID[:])
	_, err := c.Write(append(ours.Append(nil), opening...))
	return err == nil
}

// garbageBlock answers a request with random bytes of the right size.
func garbageBlock(c net.Conn, m *wire.Message) {
	data := make([]byte, m.Length)
	rand.Read(data)
	c.Write(append(wire.AppendPieceHeader(nil, m.Index, m.Begin, len(data)), data...))
}

// dialPlain connects to addr as a peer of f without encryption, says it
// is interested and reads until the unchoke.
func dialPlain(t *testing.T, addr string, f *fixture) (net.Conn, *wire.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	hs := wire.Handshake{Reserved: wire.OurReserved(), InfoHash: f.m.InfoHash}
	copy(hs.PeerID[:], "-XX0001-tailtailtail")
	c.Write(append(hs.Append(nil), wire.AppendSimple(nil, wire.Interested)...))
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	var got wire.Handshake
	if err := wire.ReadHandshakeStart(br, &got); err != nil {
		t.Fatal(err)
	}
	if err := wire.ReadPeerID(br, &got); err != nil {
		t.Fatal(err)
	}
	r := wire.NewReader(br, f.m.Layout.NumPieces)
	for {
		var m wire.Message
		if err := r.Read(&m, func(n int) []byte { return make([]byte, n) }); err != nil {
			t.Fatalf("before the unchoke: %v", err)
		}
		if m.ID == wire.Unchoke {
			return c, r
		}
	}
}
