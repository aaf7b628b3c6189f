package meta_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// fixtureFiles is the content behind the mktorrent .torrent files in
// testdata/, regenerated here instead of being checked in.
var fixtureFiles = []piecetest.FileSpec{
	{Path: "single.bin", Size: 100000},
	{Path: "multi/a.bin", Size: 70000},
	{Path: "multi/sub/b.bin", Size: 1},
	{Path: "multi/sub/c.bin", Size: 33000},
	{Path: "multi/z-empty", Size: 0},
}

func writeFixtureContent(t *testing.T) string {
	dir := t.TempDir()
	piecetest.WriteFiles(t, dir, fixtureFiles)
	return dir
}

func TestMktorrentFixturesParseAndVerify(t *testing.T) {
	dir := writeFixtureContent(t)
	tests := []struct {
		file     string
		name     string
		pieces   int
		files    int
		private  bool
		trackers int
		webSeeds int
	}{
		{"mktorrent-single.torrent", "single.bin", 4, 1, false, 0, 0},
		{"mktorrent-multi.torrent", "multi", 4, 4, false, 2, 0},
		{"mktorrent-private.torrent", "multi", 2, 4, true, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			tor, err := meta.Load(filepath.Join("..", "..", "testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if tor.Name != tt.name || tor.Layout.NumPieces != tt.pieces || len(tor.Layout.Files) != tt.files ||
				tor.Private != tt.private || len(tor.Trackers) != tt.trackers || len(tor.WebSeeds) != tt.webSeeds {
				t.Fatalf("got name %q pieces %d files %d private %v tiers %d webseeds %d", tor.Name, tor.Layout.NumPieces,
					len(tor.Layout.Files), tor.Private, len(tor.Trackers), len(tor.WebSeeds))
			}
			s, err := piece.OpenFileStorage(tor.Layout, piece.FileStorageConfig{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			v, err := piece.Verify(context.Background(), s, tor.Layout, tor.Hashes, piece.HashOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !v.Have.Full() {
				t.Fatalf("only %d of %d pieces verify", v.Have.Count(), tor.Layout.NumPieces)
			}
		})
	}
}

// TestCreateMatchesMktorrent is the strongest interop check for create: on
// the same files and piece size, shoal's info dictionary is byte-identical
// to mktorrent's, so both produce the same infohash.
func TestCreateMatchesMktorrent(t *testing.T) {
	dir := writeFixtureContent(t)
	for _, c := range []struct {
		fixture, path string
		pieceLen      int64
		private       bool
	}{
		{"mktorrent-single.torrent", "single.bin", 32 << 10, false},
		{"mktorrent-multi.torrent", "multi", 32 << 10, false},
		{"mktorrent-private.torrent", "multi", 64 << 10, true},
	} {
		want, err := meta.Load(filepath.Join("..", "..", "testdata", c.fixture))
		if err != nil {
			t.Fatal(err)
		}
		got, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, c.path), PieceLength: c.pieceLen, Private: c.private})
		if err != nil {
			t.Fatal(err)
		}
		if got.InfoHash != want.InfoHash {
			t.Errorf("%s: infohash %s, mktorrent %s", c.fixture, got.InfoHash.HexString(), want.InfoHash.HexString())
		}
	}
}

// TestCreateLoadsInAnacrolix checks shoal's output with a parser and a
// hasher no one here wrote.
func TestCreateLoadsInAnacrolix(t *testing.T) {
	dir := writeFixtureContent(t)
	tor, err := meta.Create(context.Background(), meta.CreateOptions{
		Path: filepath.Join(dir, "multi"), PieceLength: 16 << 10, Comment: "hi",
		Trackers: []string{"http://127.0.0.1:1/announce", "udp://127.0.0.1:2"}, WebSeeds: []string{"http://127.0.0.1:3/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tor.Write(&buf); err != nil {
		t.Fatal(err)
	}
	mi, err := metainfo.Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if mi.HashInfoBytes() != tor.InfoHash {
		t.Fatal("anacrolix computes another infohash")
	}
	if got := mi.UpvertedAnnounceList(); len(got) != 2 || got[1][0] != "udp://127.0.0.1:2" {
		t.Fatalf("announce list %v", got)
	}
	var ref metainfo.Info
	ref.PieceLength = 16 << 10
	if err := ref.BuildFromFilePath(filepath.Join(dir, "multi")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ref.Pieces, tor.Hashes) {
		t.Fatal("anacrolix hashes the same files differently")
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "zero"), nil, 0o644)
	for _, o := range []meta.CreateOptions{
		{},
		{Path: filepath.Join(t.TempDir(), "missing")},
		{Path: t.TempDir()},
		{Path: empty},
		{Path: empty, PieceLength: 100000},
		{Path: empty, Trackers: []string{"not a url"}},
	} {
		if _, err := meta.Create(context.Background(), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestAutoPieceLength(t *testing.T) {
	for _, c := range []struct{ total, want int64 }{
		{1, 16 << 10}, {100 << 20, 64 << 10}, {1 << 30, 1 << 20}, {4 << 30, 4 << 20}, {1 << 40, 16 << 20},
	} {
		if got := meta.AutoPieceLength(c.total); got != c.want {
			t.Errorf("AutoPieceLength(%d) = %d, want %d", c.total, got, c.want)
		}
	}
}

// hostile builds a .torrent around an info dictionary given as a map, so
// tests can write what no honest tool would.
func hostile(t testing.TB, info map[string]any) []byte {
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	data, err := bencode.Marshal(map[string]any{"announce": "http://x/", "info": bencode.Bytes(infoBytes)})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func multi(files ...map[string]any) map[string]any {
	var total int64
	for _, f := range files {
		total += f["length"].(int64)
	}
	return map[string]any{"name": "t", "piece length": int64(16), "pieces": strings.Repeat("x", int(20*((total+15)/16))), "files": files}
}

func file(n int64, path ...string) map[string]any { return map[string]any{"length": n, "path": path} }

func TestParseRefusesHostileTorrents(t *testing.T) {
	deep := strings.Repeat("l", 100) + strings.Repeat("e", 100)
	cases := map[string][]byte{
		"garbage":            []byte("this is not a torrent"),
		"empty":              nil,
		"truncated":          hostile(t, multi(file(16, "a")))[:40],
		"deep nesting":       []byte("d4:info" + deep + "e"),
		"huge length claim":  []byte("d4:info99999999999:xe"),
		"dot-dot":            hostile(t, multi(file(16, "..", "..", "etc", "passwd"))),
		"absolute":           hostile(t, multi(file(16, "/etc/passwd"))),
		"nul byte":           hostile(t, multi(file(16, "a\x00b"))),
		"separator":          hostile(t, multi(file(16, "a/../../b"))),
		"name escapes":       hostile(t, map[string]any{"name": "..", "piece length": int64(16), "pieces": strings.Repeat("x", 20), "length": int64(16)}),
		"name absolute":      hostile(t, map[string]any{"name": "/tmp/x", "piece length": int64(16), "pieces": strings.Repeat("x", 20), "length": int64(16)}),
		"file and folder":    hostile(t, multi(file(8, "a"), file(8, "a", "b"))),
		"hash count":         hostile(t, map[string]any{"name": "a", "piece length": int64(16), "pieces": strings.Repeat("x", 20), "length": int64(17)}),
		"hash length":        hostile(t, map[string]any{"name": "a", "piece length": int64(16), "pieces": strings.Repeat("x", 19), "length": int64(16)}),
		"zero piece length":  hostile(t, map[string]any{"name": "a", "piece length": int64(0), "pieces": strings.Repeat("x", 20), "length": int64(16)}),
		"huge piece length":  hostile(t, map[string]any{"name": "a", "piece length": int64(1 << 40), "pieces": strings.Repeat("x", 20), "length": int64(16)}),
		"negative length":    hostile(t, multi(file(-16, "a"), file(32, "b"))),
		"no data":            hostile(t, map[string]any{"name": "a", "piece length": int64(16), "pieces": "x", "length": int64(0)}),
		"v2 only":            hostile(t, map[string]any{"name": "a", "piece length": int64(16), "length": int64(16), "meta version": int64(2)}),
		"no info":            []byte("d8:announce3:urle"),
		"length and files":   hostile(t, map[string]any{"name": "t", "piece length": int64(16), "pieces": strings.Repeat("x", 20), "length": int64(16), "files": []any{file(16, "a")}}),
		"drive letter":       hostile(t, multi(file(16, "C:", "x"))),
		"no path":            hostile(t, multi(map[string]any{"length": int64(16)})),
		"empty path":         hostile(t, multi(file(16))),
		"only dots":          hostile(t, multi(file(16, ".", "//"))),
		"symlink escapes":    hostile(t, multi(file(16, "a"), symlink("l", "..", "..", "etc"))),
		"symlink absolute":   hostile(t, multi(file(16, "a"), symlink("l", "/etc"))),
		"file under symlink": hostile(t, multi(symlink("l", "d"), file(16, "l", "x"))),
		"no pieces":          hostile(t, map[string]any{"name": "a", "piece length": int64(16), "length": int64(16)}),
		"binary in name":     hostile(t, map[string]any{"name": "\x1b[2J\x00\xff", "piece length": int64(16), "pieces": strings.Repeat("x", 20), "length": int64(16)}),
		"binary in path":     hostile(t, multi(file(16, "\x1b]0;pwn\x07", "..", "\x9b"))),
		"name wrong type":    hostile(t, map[string]any{"name": int64(5), "piece length": int64(16), "pieces": strings.Repeat("x", 20), "length": int64(16)}),
		"pieces wrong type":  hostile(t, map[string]any{"name": "a", "piece length": int64(16), "pieces": int64(20), "length": int64(16)}),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if tor, err := meta.Parse(data); err == nil {
				t.Fatalf("accepted: %+v", tor.Layout.Files)
			} else if !printableLine(err.Error()) {
				t.Fatalf("error is not one printable line: %q", err)
			} else if name == "no pieces" && strings.Contains(err.Error(), "v2-only") {
				t.Fatalf("a torrent without hashes blamed on v2: %v", err)
			}
		})
	}
}

func TestParseAcceptsPadFiles(t *testing.T) {
	pad := file(6, ".pad", "6")
	pad["attr"] = "p"
	tor, err := meta.Parse(hostile(t, multi(file(10, "a"), pad, file(16, "b"))))
	if err != nil {
		t.Fatal(err)
	}
	if !tor.Layout.Files[1].Pad || tor.Layout.NumPieces != 2 {
		t.Fatalf("files %+v", tor.Layout.Files)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"mktorrent-single.torrent", "mktorrent-multi.torrent", "mktorrent-private.torrent"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(hostile(f, multi(file(16, "..", "x"))))
	f.Add(append(hostile(f, multi(file(16, "a", "", "b"), file(16, "a", "b"), symlink("l", "a"))), '\n'))
	f.Fuzz(func(t *testing.T, data []byte) {
		tor, err := meta.Parse(data)
		if err != nil {
			if !printableLine(err.Error()) {
				t.Fatalf("error is not one printable line: %q", err)
			}
			return
		}
		for _, w := range tor.Warnings {
			if !printableLine(w) {
				t.Fatalf("warning is not one printable line: %q", w)
			}
		}
		// Whatever is accepted must be safe to lay out on disk.
		for _, fl := range tor.Layout.Files {
			if _, err := piece.CheckPath(fl.Path); err != nil && !fl.Pad {
				t.Fatalf("accepted unsafe path %q", fl.Path)
			}
			if _, err := piece.CheckPath(fl.Symlink); fl.Symlink != nil && err != nil {
				t.Fatalf("accepted symlink to %q", fl.Symlink)
			}
		}
		if len(tor.Hashes) != tor.Layout.NumPieces*piece.HashSize {
			t.Fatal("hash count does not match the layout")
		}
	})
}

func TestParseMagnet(t *testing.T) {
	hex := "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=x&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce&x.pe=127.0.0.1:6881"
	m, err := meta.ParseMagnet(hex)
	if err != nil {
		t.Fatal(err)
	}
	if m.InfoHash.HexString() != "c12fe1c06bba254a9dc9f519b335aa7c1367a88a" || m.Name != "x" || len(m.Trackers) != 1 || m.Peers[0] != "127.0.0.1:6881" {
		t.Fatalf("%+v", m)
	}
	b32, err := meta.ParseMagnet("magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK")
	if err != nil || b32.InfoHash != m.InfoHash {
		t.Fatalf("base32: %v %v", b32, err)
	}
	for _, bad := range []string{"magnet:?xt=urn:btih:zz", "magnet:?dn=x", "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&x.pe=nope"} {
		if _, err := meta.ParseMagnet(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// Bad infohashes are named in words, not in the parser's.
	for bad, want := range map[string]string{
		"magnet:?xt=urn:btmh:1220abcd":                        `"urn:btmh:1220abcd" is not a v2 infohash`,
		"magnet:?xt=urn:btmh:1120" + strings.Repeat("ab", 32): "want urn:btmh:1220 and 64 hex digits",
		"magnet:?xt=urn:btih:zz":                              `"urn:btih:zz" is not an infohash`,
	} {
		if _, err := meta.ParseMagnet(bad); err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "buffer") {
			t.Errorf("%q: %v, want %q", bad, err, want)
		}
	}
	if !meta.IsMagnet("MAGNET:?xt=") || meta.IsMagnet("file.torrent") {
		t.Error("IsMagnet")
	}
}

// A .torrent may declare millions of pieces within its size bound; each
// costs memory in every structure that tracks pieces, so past the limit
// it is refused at once.
func TestParseRefusesTooManyPieces(t *testing.T) {
	_, err := meta.Parse(piecetest.ManyPiecesTorrent(meta.MaxPieces + 1))
	if !errors.Is(err, meta.ErrInvalidTorrent) || !strings.Contains(err.Error(), "2,097,153 pieces") {
		t.Fatalf("error %v, want a refusal naming the piece count", err)
	}
	if _, err := meta.Parse(piecetest.ManyPiecesTorrent(1000)); err != nil {
		t.Fatalf("a small torrent of the same shape: %v", err)
	}
}

// The piece hashes are most of a big torrent. Parsing one copies them
// once, transiently, and keeps only what it was given: the info
// dictionary, hashes included, stays a part of data.
func TestParseDoesNotCopyTheHashes(t *testing.T) {
	const n = 200_000
	data := piecetest.ManyPiecesTorrent(n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tor, err := meta.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if total := after.TotalAlloc - before.TotalAlloc; total > n*piece.HashSize*2 {
		t.Errorf("parsing %d pieces allocated %d bytes, more than two copies of the hashes", n, total)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if live := int64(after.HeapAlloc) - int64(before.HeapAlloc); live > n*piece.HashSize/2 {
		t.Errorf("a parsed torrent of %d pieces holds %d bytes besides its data", n, live)
	}
	if len(tor.Hashes) != n*piece.HashSize || len(tor.Meta.InfoBytes) < len(tor.Hashes) {
		t.Fatalf("%d bytes of hashes, %d of info", len(tor.Hashes), len(tor.Meta.InfoBytes))
	}
	runtime.KeepAlive(data)
	runtime.KeepAlive(tor)
}

func TestParseRefusesTwoInfoDictionaries(t *testing.T) {
	info := func(name string) string {
		b, err := bencode.Marshal(map[string]any{"name": name, "piece length": 16384, "pieces": strings.Repeat("a", 20), "length": 10})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	one := "d4:info" + info("a") + "e"
	two := "d4:info" + info("a") + "4:info" + info("b") + "e"
	if _, err := meta.Parse([]byte(two)); !errors.Is(err, meta.ErrInvalidTorrent) || !strings.Contains(err.Error(), "2 info dictionaries") {
		t.Fatalf("error %v", err)
	}
	if _, err := meta.Parse([]byte(one)); err != nil {
		t.Fatalf("the same torrent with one info: %v", err)
	}
}

func FuzzParseMagnet(f *testing.F) {
	f.Add("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=x&tr=http://127.0.0.1/announce")
	f.Add("magnet:?xt=urn:btih:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&x.pe=127.0.0.1:1")
	f.Add("magnet:?xt=urn:btih:%zz&dn=%1b]52;c;x%07")
	f.Add("magnet:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e&dn=x")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := meta.ParseMagnet(s)
		if err == nil && m == nil {
			t.Fatal("no magnet and no error")
		}
		a, err := meta.ParseMagnet(s)
		if err != nil {
			if !printableLine(err.Error()) {
				t.Fatalf("error is not one printable line: %q", err)
			}
			return
		}
		if !a.HasV1 && !a.HasV2 {
			t.Fatal("a magnet with no infohash")
		}
	})
}
