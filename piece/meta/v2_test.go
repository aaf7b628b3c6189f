package meta_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// v2Content has what v2 layouts must get right: a file longer than a
// piece (a piece layer), one of exactly a piece, a one-byte file, an
// empty file between others and one at the end, an executable, and a
// folder whose last file ends mid-piece.
var v2Content = []piecetest.FileSpec{
	{Path: "album/a.bin", Size: 70000},
	{Path: "album/exact.bin", Size: 32768},
	{Path: "album/m-empty", Size: 0},
	{Path: "album/sub/b.bin", Size: 1},
	{Path: "album/sub/c.bin", Size: 40000},
	{Path: "album/x.sh", Size: 100},
	{Path: "album/z-empty", Size: 0},
	{Path: "single.bin", Size: 50000},
	// A folder whose last file ends mid-piece: libtorrent 2.0.8 pads
	// after it in a hybrid (album hides that: it ends in an empty file).
	{Path: "tail/a.bin", Size: 1000},
	{Path: "tail/b.txt", Size: 6},
}

func writeV2Content(t *testing.T) string {
	dir := t.TempDir()
	piecetest.WriteFiles(t, dir, v2Content)
	if err := os.Chmod(filepath.Join(dir, "album", "x.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// libtorrentScript makes a torrent with libtorrent 2.0's create_torrent.
const libtorrentScript = `
import libtorrent as lt, os, sys
path, mode, pl = sys.argv[1], sys.argv[2], int(sys.argv[3])
fs = lt.file_storage()
lt.add_files(fs, path)
flags = {"v2": lt.create_torrent.v2_only, "hybrid": 0}[mode]
ct = lt.create_torrent(fs, pl, flags=flags)
lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(path)))
sys.stdout.buffer.write(lt.bencode(ct.generate()))
`

// libtorrentPython finds a python3 that imports libtorrent (Debian's
// python3-libtorrent), or skips the test; CI sets
// SHOAL_REQUIRE_LIBTORRENT so that there it fails instead.
func libtorrentPython(t *testing.T) string {
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import libtorrent").Run() == nil {
			return py
		}
	}
	if os.Getenv("SHOAL_REQUIRE_LIBTORRENT") != "" {
		t.Fatal("SHOAL_REQUIRE_LIBTORRENT is set but no python3 imports libtorrent")
	}
	t.Skip("no python3 with libtorrent (apt-get install python3-libtorrent)")
	return ""
}

// TestCreateV2MatchesLibtorrent: on the same files and piece size, shoal's
// v2 and hybrid info dictionaries and piece layers are byte-identical to
// libtorrent 2.0's, so both give the same infohashes.
func TestCreateV2MatchesLibtorrent(t *testing.T) {
	py := libtorrentPython(t)
	dir := writeV2Content(t)
	for _, c := range []struct {
		path string
		ver  meta.Version
		pl   int64
	}{
		{"album", meta.VersionHybrid, 32 << 10},
		{"album", meta.VersionV2, 32 << 10},
		{"album", meta.VersionHybrid, 16 << 10},
		{"single.bin", meta.VersionHybrid, 16 << 10},
		{"single.bin", meta.VersionV2, 64 << 10},
		{"tail", meta.VersionHybrid, 32 << 10},
		{"tail", meta.VersionV2, 32 << 10},
	} {
		name := c.path + "/" + c.ver.String() + "/" + strconv.FormatInt(c.pl, 10)
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(py, "-c", libtorrentScript, filepath.Join(dir, c.path), c.ver.String(), strconv.FormatInt(c.pl, 10))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("libtorrent: %v: %s", err, stderr.String())
			}
			want, err := meta.ParseWith(out, meta.ParseOptions{AllowV2Only: true})
			if err != nil {
				t.Fatalf("libtorrent's torrent: %v", err)
			}
			got, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, c.path), PieceLength: c.pl, Version: c.ver})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Meta.InfoBytes, want.Meta.InfoBytes) {
				t.Fatalf("info differs:\nshoal      %q\nlibtorrent %q", got.Meta.InfoBytes, want.Meta.InfoBytes)
			}
			gl, _ := bencode.Marshal(got.Meta.PieceLayers)
			wl, _ := bencode.Marshal(want.Meta.PieceLayers)
			if !bytes.Equal(gl, wl) {
				t.Fatalf("piece layers differ")
			}
			if got.V2.InfoHash != want.V2.InfoHash || got.InfoHash != want.InfoHash {
				t.Fatal("infohashes differ")
			}
		})
	}
}

// Created v2 and hybrid torrents load in anacrolix's parser, which checks
// the piece layers against the roots, and verify by merkle roots.
func TestCreateV2VerifiesAndLoadsInAnacrolix(t *testing.T) {
	dir := writeV2Content(t)
	for _, ver := range []meta.Version{meta.VersionV2, meta.VersionHybrid} {
		tor, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, "album"), PieceLength: 16 << 10, Version: ver})
		if err != nil {
			t.Fatal(err)
		}
		if tor.HasV1 != (ver == meta.VersionHybrid) || tor.V2 == nil || tor.V2.InfoHash != sha256.Sum256(tor.Meta.InfoBytes) {
			t.Fatalf("%v: HasV1 %v V2 %v", ver, tor.HasV1, tor.V2 != nil)
		}
		var buf bytes.Buffer
		if err := tor.Write(&buf); err != nil {
			t.Fatal(err)
		}
		mi, err := metainfo.Load(&buf)
		if err != nil {
			t.Fatal(err)
		}
		info, err := mi.UnmarshalInfo()
		if err != nil {
			t.Fatal(err)
		}
		if err := metainfo.ValidatePieceLayers(mi.PieceLayers, &info.FileTree, info.PieceLength); err != nil {
			t.Fatalf("%v: anacrolix: %v", ver, err)
		}
		st, err := piece.OpenFileStorage(tor.Layout, piece.FileStorageConfig{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		v, err := piece.VerifyV2(context.Background(), st, tor.Layout, tor.V2.PieceHashes, piece.HashOptions{})
		st.Close()
		if err != nil || !v.Have.Full() {
			t.Fatalf("%v: verify %v %v", ver, v, err)
		}
	}
}

// Plain Parse, which every downloading command uses, refuses v2-only
// torrents with a message saying what does work; hybrids load.
func TestParseV2OnlyNeedsOptIn(t *testing.T) {
	dir := writeV2Content(t)
	tor, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, "album"), Version: meta.VersionV2})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tor.Write(&buf)
	if _, err := meta.Parse(buf.Bytes()); !errors.Is(err, meta.ErrInvalidTorrent) || !strings.Contains(err.Error(), "v2-only") {
		t.Fatalf("Parse of a v2-only torrent: %v", err)
	}
	if tor.InfoHash != tor.V2.Truncated() {
		t.Fatal("a v2-only torrent's swarm hash is not the truncated v2 infohash")
	}
	hyb, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, "album"), Version: meta.VersionHybrid})
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	hyb.Write(&buf)
	if _, err := meta.Parse(buf.Bytes()); err != nil {
		t.Fatalf("Parse of a hybrid: %v", err)
	}
}

// verify by merkle roots finds the one corrupt piece and the missing
// file's pieces, and nothing else.
func TestVerifyV2FindsCorruptAndMissing(t *testing.T) {
	dir := writeV2Content(t)
	tor, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, "album"), PieceLength: 16 << 10, Version: meta.VersionV2})
	if err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(dir, "album", "a.bin")
	data, _ := os.ReadFile(a)
	data[20000] ^= 1 // piece 1
	os.WriteFile(a, data, 0o644)
	os.Remove(filepath.Join(dir, "album", "x.sh")) // piece 11
	st, err := piece.OpenFileStorage(tor.Layout, piece.FileStorageConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := piece.VerifyV2(context.Background(), st, tor.Layout, tor.V2.PieceHashes, piece.HashOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if v.Corrupt.Count() != 1 || !v.Corrupt.Has(1) || v.Missing.Count() != 1 || !v.Missing.Has(11) || v.Have.Count() != tor.Layout.NumPieces-2 {
		t.Fatalf("have %d corrupt %v missing %v", v.Have.Count(), v.Corrupt.Has(1), v.Missing.Has(11))
	}
}

func FuzzParseV2(f *testing.F) {
	dir := f.TempDir()
	piecetest.WriteFiles(f, dir, v2Content[:5])
	for _, ver := range []meta.Version{meta.VersionV2, meta.VersionHybrid} {
		tor, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, "album"), Version: ver})
		if err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		tor.Write(&buf)
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tor, err := meta.ParseWith(data, meta.ParseOptions{AllowV2Only: true})
		if err != nil {
			if !printableLine(err.Error()) {
				t.Fatalf("error is not one printable line: %q", err)
			}
			return
		}
		if tor.V2 == nil {
			return
		}
		if err := piece.CheckV2Layout(tor.Layout); err != nil {
			t.Fatalf("accepted a layout v2 cannot verify: %v", err)
		}
		if h := tor.V2.PieceHashes; h != nil && len(h) != tor.Layout.NumPieces {
			t.Fatalf("%d v2 hashes for %d pieces", len(h), tor.Layout.NumPieces)
		}
		for _, fl := range tor.Layout.Files {
			if _, err := piece.CheckPath(fl.Path); err != nil && !fl.Pad {
				t.Fatalf("accepted unsafe path %q", fl.Path)
			}
		}
	})
}

// Magnet links of created torrents parse back to the same hashes: btih
// for v1, btmh for v2-only, both for a hybrid.
func TestV2Magnets(t *testing.T) {
	dir := writeV2Content(t)
	for _, ver := range []meta.Version{meta.VersionV1, meta.VersionV2, meta.VersionHybrid} {
		tor, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, "album"), Version: ver,
			Trackers: []string{"http://127.0.0.1:1/announce"}})
		if err != nil {
			t.Fatal(err)
		}
		link := tor.Magnet()
		if strings.Contains(link, "urn:btih:") != (ver != meta.VersionV2) || strings.Contains(link, "urn:btmh:1220") != (ver != meta.VersionV1) {
			t.Fatalf("%v: magnet %s", ver, link)
		}
		m, err := meta.ParseMagnet(link)
		if err != nil {
			t.Fatalf("%v: %v", ver, err)
		}
		if m.InfoHash != tor.InfoHash || m.HasV1 != tor.HasV1 || m.HasV2 != (tor.V2 != nil) || (tor.V2 != nil && m.V2InfoHash != tor.V2.InfoHash) ||
			m.Name != "album" || len(m.Trackers) != 1 {
			t.Fatalf("%v: %+v", ver, m)
		}
	}
	for _, bad := range []string{
		"magnet:?xt=urn:btmh:1220zz",
		"magnet:?xt=urn:btmh:1114" + strings.Repeat("ab", 20), // SHA-1 multihash, not SHA-256
		"magnet:?xt=urn:btmh:1220" + strings.Repeat("ab", 31),
	} {
		if _, err := meta.ParseMagnet(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// A hybrid whose v1 hashes describe other bytes than its v2 trees (its
// structure checks out, its content does not) fails hybrid verification
// on the pieces where the halves disagree.
func TestVerifyHybridNeedsBothHalves(t *testing.T) {
	dir := writeV2Content(t)
	tor, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, "album"), PieceLength: 16 << 10, Version: meta.VersionHybrid})
	if err != nil {
		t.Fatal(err)
	}
	st, err := piece.OpenFileStorage(tor.Layout, piece.FileStorageConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := piece.VerifyHybrid(context.Background(), st, tor.Layout, tor.Hashes, tor.V2.PieceHashes, piece.HashOptions{})
	if err != nil || !v.Have.Full() {
		t.Fatalf("honest hybrid: %v", err)
	}
	v1 := bytes.Clone(tor.Hashes)
	v1[3*20] ^= 1
	v, err = piece.VerifyHybrid(context.Background(), st, tor.Layout, v1, tor.V2.PieceHashes, piece.HashOptions{})
	if err != nil || v.Corrupt.Count() != 1 || !v.Corrupt.Has(3) {
		t.Fatalf("v1 half lies about piece 3: corrupt %d, %v", v.Corrupt.Count(), err)
	}
}
