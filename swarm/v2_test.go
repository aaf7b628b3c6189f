package swarm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"path/filepath"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// newFixtureV is newFixture for v2-only and hybrid torrents; the torrent
// goes through its file's bytes, as get and seed load it.
func newFixtureV(t testing.TB, v meta.Version, pieceLen int64, files ...piecetest.FileSpec) *fixture {
	t.Helper()
	dir := t.TempDir()
	piecetest.WriteFiles(t, dir, files)
	root := filepath.Join(dir, filepath.FromSlash(files[0].Path))
	if len(files) > 1 {
		root = filepath.Join(dir, firstComponent(files[0].Path))
	}
	m, err := meta.Create(context.Background(), meta.CreateOptions{Path: root, PieceLength: pieceLen, Version: v})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	m, err = meta.ParseWith(buf.Bytes(), meta.ParseOptions{AllowV2Only: true})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{dir: dir, m: m}
}

var v2Files = []piecetest.FileSpec{
	{Path: "v2/a.bin", Size: 1<<20 + 4321}, {Path: "v2/b/small.txt", Size: 5000}, {Path: "v2/c.bin", Size: 256 << 10}, {Path: "v2/empty", Size: 0},
}

func TestShoalToShoalV2(t *testing.T) {
	for _, v := range []meta.Version{meta.VersionV2, meta.VersionHybrid} {
		t.Run(v.String(), func(t *testing.T) {
			f := newFixtureV(t, v, 64<<10, v2Files...)
			if v == meta.VersionV2 && (f.m.HasV1 || f.m.InfoHash != f.m.V2.Truncated()) {
				t.Fatal("not a v2-only torrent known by its truncated v2 hash")
			}
			seedS, _ := startSeeder(t, f)
			leechS := newTestSession(t)
			dl := t.TempDir()
			leecher := addTorrent(t, leechS, f.m, dl, seedS.Addr())
			waitComplete(t, leecher, 30*time.Second)
			sameContent(t, f, dl)
			if s := leecher.Snapshot(); s.Violations != 0 || s.HashFails != 0 {
				t.Fatalf("violations %d hash failures %d", s.Violations, s.HashFails)
			}
		})
	}
}

// A hybrid is one torrent in two swarms: a peer that knows it by its
// truncated v2 hash reaches the same torrent as one using the v1 hash,
// and both see the v2 bit.
func TestHybridAnswersBothHashes(t *testing.T) {
	f := newFixtureV(t, meta.VersionHybrid, 64<<10, v2Files...)
	seedS, _ := startSeeder(t, f)
	leechS := newTestSession(t)
	for _, ih := range [][20]byte{f.m.InfoHash, f.m.V2.Truncated()} {
		c, err := leechS.dialHandshake(context.Background(), ih, seedS.Addr())
		if err != nil {
			t.Fatalf("dial with %x: %v", ih, err)
		}
		if c.hs.InfoHash != ih || !c.hs.Reserved.V2() {
			t.Fatalf("answered %x with reserved %x", c.hs.InfoHash, c.hs.Reserved)
		}
		c.nc.Close()
		leechS.connClosed()
	}
	if n := len(seedS.Torrents()); n != 1 {
		t.Fatalf("session lists %d torrents, want the hybrid once", n)
	}
}

// A v2-only torrent from a magnet link has no piece layers; until they
// are fetched from peers, Add refuses it instead of accepting any data.
func TestV2OnlyWithoutPieceLayersRefused(t *testing.T) {
	f := newFixtureV(t, meta.VersionV2, 64<<10, v2Files...)
	m := *f.m
	v := *m.V2
	v.PieceHashes = nil
	m.V2 = &v
	s := newTestSession(t)
	cfg := DefaultTorrentConfig(t.TempDir())
	cfg.DisableTrackers = true
	if _, err := s.Add(&m, cfg); err == nil {
		t.Fatal("v2-only torrent without piece layers accepted")
	}
}

// v2TreeFixture is a v2-only torrent with one file of 37 pieces (a
// piece layer padded to 64) and its hash trees.
func v2TreeFixture(t *testing.T) (*fixture, *v2Trees, meta.V2File) {
	t.Helper()
	f := newFixtureV(t, meta.VersionV2, 16<<10, piecetest.FileSpec{Path: "t/big.bin", Size: 37*16<<10 - 5}, piecetest.FileSpec{Path: "t/small", Size: 10})
	file := f.m.V2.Files[0]
	if len(file.Layer) != 37*32 {
		t.Fatalf("layer of %d bytes", len(file.Layer))
	}
	return f, newV2Trees(f.m.V2), file
}

func TestHashAnswersProveToTheRoot(t *testing.T) {
	f, tr, file := v2TreeFixture(t)
	pl := f.m.Layout.PieceLength // 16 KiB: the piece layer is layer 0
	layer := func(i int) [32]byte { return [32]byte(file.Layer[i*32:]) }
	pad := metainfo.HashForPiecePad(pl)
	// Every 8-hash run with a full proof hashes up to the pieces root.
	for idx := uint32(0); idx < 64; idx += 8 {
		req := wire.HashMsg{Root: file.Root, Index: idx, Length: 8, ProofLayers: 10}
		hs, ok := tr.answer(&req, pl)
		if !ok {
			t.Fatalf("index %d rejected", idx)
		}
		if len(hs) != 8+3 { // 64 leaves: 8-runs sit 3 levels below the root
			t.Fatalf("index %d: %d hashes, want 11", idx, len(hs))
		}
		for i := range 8 {
			want := pad
			if int(idx)+i < 37 {
				want = layer(int(idx) + i)
			}
			if hs[i] != want {
				t.Fatalf("index %d: hash %d differs from the piece layer", idx, i)
			}
		}
		node := merkleRoot(hs[:8])
		n := idx / 8
		for _, uncle := range hs[8:] {
			if n%2 == 0 {
				node = pair(node, uncle)
			} else {
				node = pair(uncle, node)
			}
			n /= 2
		}
		if node != file.Root {
			t.Fatalf("index %d: proof does not reach the pieces root", idx)
		}
	}
	// Fewer proof layers than the tree has: exactly as many uncles.
	req := wire.HashMsg{Root: file.Root, Index: 0, Length: 2, ProofLayers: 2}
	if hs, ok := tr.answer(&req, pl); !ok || len(hs) != 4 {
		t.Fatalf("2 hashes with 2 proof layers: %d hashes, ok %v", len(hs), ok)
	}
}

func TestHashRequestsRejected(t *testing.T) {
	f, tr, file := v2TreeFixture(t)
	pl := f.m.Layout.PieceLength
	for name, req := range map[string]wire.HashMsg{
		"oversized":         {Root: file.Root, Length: 1024},
		"huge":              {Root: file.Root, Length: 1 << 31},
		"not a power of 2":  {Root: file.Root, Length: 3},
		"zero length":       {Root: file.Root},
		"unaligned index":   {Root: file.Root, Index: 4, Length: 8},
		"past the end":      {Root: file.Root, Index: 64, Length: 8},
		"index wraps":       {Root: file.Root, Index: 1<<32 - 8, Length: 8},
		"above the root":    {Root: file.Root, BaseLayer: 7, Length: 1},
		"small file root":   {Root: f.m.V2.Files[1].Root, Length: 1},
		"unknown root":      {Root: [32]byte{1}, Length: 2},
		"block layer below": {Root: file.Root, Length: 2, BaseLayer: 0},
	} {
		if name == "block layer below" {
			// With 16 KiB pieces the block layer is the piece layer; ask a
			// 64 KiB-piece view of the same tree for blocks instead.
			if _, ok := tr.answer(&req, 4*pl); ok {
				t.Errorf("%s answered", name)
			}
			continue
		}
		if _, ok := tr.answer(&req, pl); ok {
			t.Errorf("%s answered", name)
		}
	}
}

func pair(a, b [32]byte) [32]byte { return sha256.Sum256(append(a[:], b[:]...)) }

func merkleRoot(hs [][32]byte) [32]byte {
	for len(hs) > 1 {
		up := make([][32]byte, len(hs)/2)
		for i := range up {
			up[i] = pair(hs[2*i], hs[2*i+1])
		}
		hs = up
	}
	return hs[0]
}

// Over the wire: a v2 seeder answers hash requests from its piece layers
// and rejects oversized ones without dropping the peer.
func TestLoopAnswersHashRequests(t *testing.T) {
	h := newHarness(t, harnessOpts{seed: true, version: meta.VersionV2, pieceLen: 16 << 10,
		files: []piecetest.FileSpec{{Path: "w/big.bin", Size: 37*16<<10 - 5}, {Path: "w/small", Size: 10}}})
	file := h.f.m.V2.Files[0]
	v2 := wire.OurReserved().WithV2()
	p := h.connect(peerOpts{reserved: &v2})
	req := wire.HashMsg{Root: file.Root, Index: 32, Length: 32, ProofLayers: 1}
	p.send(wire.AppendHashMsg(nil, wire.HashRequest, &req))
	m := p.expectID(wire.Hashes)
	got, err := wire.ParseHashMsg(m.ID, m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if got.Index != 32 || got.Length != 32 || len(got.Hashes) != 33 || got.Hashes[0] != [32]byte(file.Layer[32*32:]) {
		t.Fatalf("answer %+v with %d hashes", got, len(got.Hashes))
	}
	if pair(got.Hashes[32], merkleRoot(got.Hashes[:32])) != file.Root {
		t.Fatal("the answer does not prove to the pieces root")
	}
	big := wire.HashMsg{Root: file.Root, Length: 4096}
	p.send(wire.AppendHashMsg(nil, wire.HashRequest, &big))
	if m := p.expectID(wire.HashReject); !bytes.Equal(m.Payload, wire.AppendHashMsg(nil, wire.HashReject, &big)[5:]) {
		t.Fatal("reject does not echo the request")
	}
	if !p.connected() {
		t.Fatal("peer dropped for an oversized request")
	}
}
