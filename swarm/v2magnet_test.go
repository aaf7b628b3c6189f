package swarm

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// magnetRequest is what get and seed ask FetchMetadata for a link.
func magnetRequest(t testing.TB, link string, peers ...netip.AddrPort) MetadataRequest {
	t.Helper()
	mag, err := meta.ParseMagnet(link)
	if err != nil {
		t.Fatal(err)
	}
	return MetadataRequest{InfoHash: mag.InfoHash, V2InfoHash: mag.V2InfoHash, HasV2: mag.HasV2, Name: mag.Name,
		WebSeeds: mag.WebSeeds, Peers: peers}
}

// A v2-only (btmh) or hybrid magnet link gives only the info dictionary:
// the piece layers come from the seeder in hash messages, proven against
// the pieces roots, and the download checks every piece against them.
func TestV2MagnetFromShoal(t *testing.T) {
	for _, v := range []meta.Version{meta.VersionV2, meta.VersionHybrid} {
		t.Run(v.String(), func(t *testing.T) {
			f := newFixtureV(t, v, 64<<10, v2Files...)
			seedS, _ := startSeeder(t, f)
			leechS := newTestSession(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			m, found, err := leechS.FetchMetadata(ctx, magnetRequest(t, f.m.Magnet(), seedS.Addr()))
			if err != nil {
				t.Fatal(err)
			}
			if m.InfoHash != f.m.InfoHash || m.V2 == nil || len(m.V2.PieceHashes) != len(f.m.V2.PieceHashes) || len(found) != 1 {
				t.Fatalf("fetched %s with v2 %v from %v", m.InfoHash.HexString(), m.V2 != nil, found)
			}
			for i := range m.V2.PieceHashes {
				if m.V2.PieceHashes[i] != f.m.V2.PieceHashes[i] {
					t.Fatalf("piece %d hash differs", i)
				}
			}
			if len(m.Meta.PieceLayers) != len(f.m.Meta.PieceLayers) {
				t.Fatalf("%d piece layers kept to save, want %d", len(m.Meta.PieceLayers), len(f.m.Meta.PieceLayers))
			}
			dl := t.TempDir()
			leecher := addTorrent(t, leechS, m, dl, found...)
			waitComplete(t, leecher, 30*time.Second)
			sameContent(t, f, dl)
			if s := leecher.Snapshot(); s.Violations != 0 || s.HashFails != 0 {
				t.Fatalf("violations %d hash failures %d", s.Violations, s.HashFails)
			}
		})
	}
}

// v2Liar is a peer with the right metadata that answers hash requests in
// the way lie says; its true answers come from the torrent's own trees.
func v2Liar(t *testing.T, host string, f *fixture, lie string) netip.AddrPort {
	info := f.m.Meta.InfoBytes
	return listenLoopback(t, host, func(c net.Conn) {
		defer c.Close()
		trees := newV2Trees(f.m.V2) // its cache is one goroutine's
		var hs wire.Handshake
		if wire.ReadHandshakeStart(c, &hs) != nil || wire.ReadPeerID(c, &hs) != nil {
			return
		}
		ours := wire.Handshake{Reserved: wire.OurReserved().WithV2(), InfoHash: hs.InfoHash}
		rand.Read(ours.PeerID[:])
		ext := wire.ExtHandshake{M: map[string]int{"ut_metadata": 7}, MetadataSize: int64(len(info))}
		out := wire.AppendPayload(ours.Append(nil), wire.Extended, 0, ext.Encode())
		// No pieces claimed: in the download that follows it is idle.
		if _, err := c.Write(out); err != nil {
			return
		}
		r := wire.NewReader(c, 0)
		for {
			var m wire.Message
			if r.Read(&m, func(n int) []byte { return make([]byte, n) }) != nil {
				return
			}
			switch {
			case m.ID == wire.Extended && m.ExtID == 7:
				req, err := wire.ParseMetadataMsg(m.Payload)
				if err != nil {
					return
				}
				off := req.Piece * wire.MetadataPieceSize
				c.Write(wire.AppendPayload(nil, wire.Extended, wire.ExtMetadata, wire.EncodeMetadataMsg(wire.MetadataMsg{
					Type: wire.MetadataData, Piece: req.Piece, TotalSize: int64(len(info)), Data: info[off:min(off+wire.MetadataPieceSize, len(info))]})))
			case m.ID == wire.HashRequest:
				req, err := wire.ParseHashMsg(m.ID, m.Payload)
				if err != nil {
					return
				}
				hs, ok := trees.answer(&req, f.m.Layout.PieceLength)
				if !ok {
					t.Errorf("the leecher asked for hashes a seeder rejects: %+v", req)
					return
				}
				id := wire.Hashes
				switch lie {
				case "wrong":
					hs[len(hs)/2][7] ^= 1
				case "short":
					hs = hs[:len(hs)-1]
				case "unasked":
					req.Root[0] ^= 1
				case "oversized":
					hs = make([][32]byte, (wire.MaxHashesPayload)/32+1)
				case "reject":
					id = wire.HashReject
				case "silent":
					continue
				}
				req.Hashes = hs
				c.Write(wire.AppendHashMsg(nil, id, &req))
			}
		}
	})
}

// Peers that lie in hash messages, reject them, or never answer do not
// get a torrent made: alone they fail the fetch with the reason (nothing
// is written, for there is no torrent to write), and beside an honest
// seeder the download completes from the proven layers.
func TestV2MagnetRefusesLyingHashes(t *testing.T) {
	f := newFixtureV(t, meta.VersionV2, 16<<10, v2Files...)
	lies := map[string]string{
		"wrong":     "do not hash to the file's pieces root",
		"short":     "hashes for a request of",
		"unasked":   "an answer to no request of ours",
		"oversized": "hashes message of",
		"reject":    "rejected the hash request",
		"silent":    "silent for",
	}
	var liars []netip.AddrPort
	i := 0
	for lie, why := range lies {
		i++
		a := v2Liar(t, "127.0.0."+string(rune('1'+i)), f, lie)
		liars = append(liars, a)
		t.Run(lie, func(t *testing.T) {
			t.Parallel()
			s := newTestSession(t)
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			req := magnetRequest(t, f.m.Magnet(), a)
			req.Patience = 300 * time.Millisecond
			m, _, err := s.FetchMetadata(ctx, req)
			if err == nil || !strings.Contains(err.Error(), why) {
				t.Fatalf("fetched %v, error %v; want %q", m != nil, err, why)
			}
		})
	}
	t.Run("beside an honest seeder", func(t *testing.T) {
		t.Parallel()
		seedS, _ := startSeeder(t, f)
		s := newTestSession(t)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req := magnetRequest(t, f.m.Magnet(), append(liars, seedS.Addr())...)
		req.Patience = 300 * time.Millisecond
		m, found, err := s.FetchMetadata(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		dl := t.TempDir()
		tor := addTorrent(t, s, m, dl, found...)
		waitComplete(t, tor, 30*time.Second)
		sameContent(t, f, dl)
	})
}

// layerFiles make a v2 torrent whose piece layers take several hash
// messages at 16 KiB pieces: one file of 600 pieces (two requests of 512
// with a proof layer each), and a small one.
var layerFiles = []piecetest.FileSpec{{Path: "lay/big.bin", Size: 600*16<<10 - 77}, {Path: "lay/small.bin", Size: 40 << 10}}

// The layer requests of a file wider than one request are answered from
// a seeder's trees with the uncles that prove them, and every run proves
// against the root; a changed hash anywhere fails it.
func TestLayerChunksProve(t *testing.T) {
	f := newFixtureV(t, meta.VersionV2, 16<<10, layerFiles...)
	pl := f.m.Layout.PieceLength
	trees := newV2Trees(f.m.V2)
	var files []meta.V2File
	for _, vf := range f.m.V2.Files {
		if vf.Length > pl {
			files = append(files, vf)
		}
	}
	chunks := layerChunks(files, pl)
	// big.bin: 600 pieces in a layer 1,024 wide, asked as 512 at 0 and
	// 512 with one proof layer each; small.bin: 3 pieces, 4 wide.
	if len(chunks) != 3 || chunks[1].req.Index != 512 || chunks[1].req.ProofLayers != 1 || chunks[2].req.Length != 4 || chunks[2].req.ProofLayers != 0 {
		t.Fatalf("chunks %+v", chunks)
	}
	for _, c := range chunks {
		hs, ok := trees.answer(&c.req, pl)
		if !ok {
			t.Fatalf("seeder rejects %+v", c.req)
		}
		got := c.req
		got.Hashes = hs
		if err := proveChunk(&c, &got); err != nil {
			t.Fatalf("%+v: %v", c.req, err)
		}
		for _, at := range []int{0, int(c.req.Length) - 1, len(hs) - 1} {
			bad := c.req
			bad.Hashes = slices.Clone(hs)
			bad.Hashes[at][31] ^= 0x80
			if err := proveChunk(&c, &bad); !errors.Is(err, errBadHashes) {
				t.Fatalf("hash %d of %+v changed: %v", at, c.req, err)
			}
		}
	}
}

// A hybrid's v1 swarm may hold only v1 clients, which cannot send piece
// layers: once every peer was asked, the fetch goes on without them (the
// pieces are checked by their v1 hashes) instead of waiting for ever.
func TestHybridMagnetWithoutV2Peers(t *testing.T) {
	f := newFixtureV(t, meta.VersionHybrid, 16<<10, v2Files...)
	v1Only := metadataLiar(t, "127.0.0.2", f.m.InfoHash, f.m.Meta.InfoBytes, "none")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, found, err := newTestSession(t).FetchMetadata(ctx, magnetRequest(t, f.m.Magnet(), v1Only))
	if err != nil {
		t.Fatal(err)
	}
	if m.InfoHash != f.m.InfoHash || !m.HasV1 || m.V2 == nil || m.V2.PieceHashes != nil || len(found) != 1 {
		t.Fatalf("fetched %s, v2 piece hashes %v, peers %v", m.InfoHash.HexString(), m.V2 != nil && m.V2.PieceHashes != nil, found)
	}
}
