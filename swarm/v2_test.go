package swarm

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
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
