package swarm

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

// FuzzIncomingHandshake feeds the accepting side arbitrary opening bytes,
// plain or meant as MSE: it must neither panic nor outlive its deadline.
func FuzzIncomingHandshake(f *testing.F) {
	fx := newFixture(f, 64<<10, interopFiles...)
	s := newTestSession(f)
	addTorrent(f, s, fx.m, fx.dir)
	hs := wire.Handshake{Reserved: wire.OurReserved(), InfoHash: fx.m.InfoHash}
	f.Add(hs.Append(nil))
	f.Add(append(hs.Append(nil), wire.AppendSimple(nil, wire.Interested)...))
	f.Add([]byte(wire.Protocol))
	f.Add([]byte{0x13})
	f.Add(bytes.Repeat([]byte{0xff}, 96+512+20+20))
	f.Add(append(bytes.Repeat([]byte{1}, 96), make([]byte, 2000)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() { defer close(done); s.incoming(server) }()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(handshakeTimeout))
		client.Write(data)
		client.Close()
		select {
		case <-done:
		case <-time.After(handshakeTimeout + 2*time.Second):
			t.Fatalf("incoming handshake still running past its deadline on %q", data)
		}
	})
}
