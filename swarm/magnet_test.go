package swarm

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent"

	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

func fetch(t *testing.T, s *Session, f *fixture, within time.Duration, peers ...netip.AddrPort) (*Torrent, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	m, found, err := s.FetchMetadata(ctx, MetadataRequest{InfoHash: f.m.InfoHash, Peers: peers})
	if err != nil {
		return nil, err
	}
	if m.InfoHash != f.m.InfoHash || m.Name != f.m.Name || len(found) == 0 {
		t.Fatalf("fetched %s %q from %v", m.InfoHash.HexString(), m.Name, found)
	}
	dl := t.TempDir()
	tor := addTorrent(t, s, m, dl, found...)
	waitComplete(t, tor, 30*time.Second)
	sameContent(t, f, dl)
	return tor, nil
}

func TestMagnetFromShoal(t *testing.T) {
	// Over 16 KiB of metadata, so it takes several ut_metadata pieces.
	f := newFixture(t, 16<<10, piecetest.FileSpec{Path: "mag/a.bin", Size: 20 << 20}, piecetest.FileSpec{Path: "mag/b.bin", Size: 100})
	if len(f.m.Meta.InfoBytes) <= 16<<10 {
		t.Fatalf("metadata of %d bytes fits one piece; the test would prove less", len(f.m.Meta.InfoBytes))
	}
	seedS, _ := startSeeder(t, f)
	if _, err := fetch(t, newTestSession(t), f, 20*time.Second, seedS.Addr()); err != nil {
		t.Fatal(err)
	}
}

func TestMagnetFromAnacrolix(t *testing.T) {
	f := newFixture(t, 64<<10, interopFiles...)
	cl := anacrolixClient(t, f.dir, true)
	at := anacrolixTorrent(t, cl, f)
	at.VerifyDataContext(context.Background())
	<-at.Complete().On()
	if _, err := fetch(t, newTestSession(t), f, 20*time.Second, anacrolixAddr(t, cl)); err != nil {
		t.Fatal(err)
	}
}

func TestAnacrolixMagnetFromShoal(t *testing.T) {
	f := newFixture(t, 64<<10, interopFiles...)
	s, _ := startSeeder(t, f)
	dl := t.TempDir()
	cl := anacrolixClient(t, dl, false)
	at, err := cl.AddMagnet(f.m.Magnet())
	if err != nil {
		t.Fatal(err)
	}
	at.AddPeers([]torrent.PeerInfo{{Addr: torrent.StringAddr(s.Addr().String()), Trusted: true}})
	select {
	case <-at.GotInfo():
	case <-time.After(20 * time.Second):
		t.Fatal("anacrolix did not get the metadata from shoal")
	}
	at.DownloadAll()
	select {
	case <-at.Complete().On():
	case <-time.After(30 * time.Second):
		t.Fatal("anacrolix did not complete")
	}
	cl.Close()
	sameContent(t, f, dl)
}

// metadataLiar answers the extension handshake and then serves metadata
// that lies in the way lie says.
func metadataLiar(t *testing.T, host string, ih [20]byte, info []byte, lie string) netip.AddrPort {
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
			go func() {
				defer c.Close()
				size := int64(len(info))
				if lie == "huge" {
					size = 1 << 40
				}
				ext := wire.ExtHandshake{M: map[string]int{"ut_metadata": 7}, MetadataSize: size}
				if !fakeHandshake(c, ih, wire.AppendPayload(nil, wire.Extended, 0, ext.Encode())) {
					return
				}
				r := wire.NewReader(c, 0)
				for {
					var m wire.Message
					if r.Read(&m, func(n int) []byte { return make([]byte, n) }) != nil {
						return
					}
					if m.ID != wire.Extended || m.ExtID != 7 {
						continue
					}
					req, err := wire.ParseMetadataMsg(m.Payload)
					if err != nil {
						return
					}
					off := req.Piece * wire.MetadataPieceSize
					data := append([]byte(nil), info[off:min(off+wire.MetadataPieceSize, len(info))]...)
					total := int64(len(info))
					switch lie {
					case "corrupt":
						data[0] ^= 0xff
					case "short":
						data = data[:len(data)/2]
					case "total":
						total++
					}
					c.Write(wire.AppendPayload(nil, wire.Extended, wire.ExtMetadata,
						wire.EncodeMetadataMsg(wire.MetadataMsg{Type: wire.MetadataData, Piece: req.Piece, TotalSize: total, Data: data})))
				}
			}()
		}
	}()
	return addrOf(ln.Addr())
}

func TestMagnetRefusesLyingPeers(t *testing.T) {
	f := newFixture(t, 16<<10, piecetest.FileSpec{Path: "lie.bin", Size: 8 << 20})
	info := f.m.Meta.InfoBytes
	var liars []netip.AddrPort
	for i, lie := range []string{"corrupt", "short", "total", "huge"} {
		liars = append(liars, metadataLiar(t, "127.0.0."+string(rune('2'+i)), f.m.InfoHash, info, lie))
	}
	// Only liars: the fetch fails, with a reason.
	s := newTestSession(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	_, _, err := s.FetchMetadata(ctx, MetadataRequest{InfoHash: f.m.InfoHash, Peers: liars})
	cancel()
	if err == nil || !strings.Contains(err.Error(), "last peer") {
		t.Fatalf("fetch from liars only: %v", err)
	}
	// Liars and one honest seeder: the honest metadata wins.
	seedS, _ := startSeeder(t, f)
	if _, err := fetch(t, newTestSession(t), f, 20*time.Second, append(liars, seedS.Addr())...); err != nil {
		t.Fatal(err)
	}
}
