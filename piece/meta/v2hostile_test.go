package meta_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"

	"github.com/shoal-torrent/shoal/piece/meta"
)

// v2Torrent creates a torrent of the v2 test content and returns it
// decoded into plain maps, for tests to break.
func v2Torrent(t *testing.T, ver meta.Version) map[string]any {
	t.Helper()
	dir := writeV2Content(t)
	tor, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, "album"), PieceLength: 16 << 10, Version: ver})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tor.Write(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := bencode.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := bencode.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func infoOf(m map[string]any) map[string]any { return m["info"].(map[string]any) }

func layersOf(m map[string]any) map[string]any { return m["piece layers"].(map[string]any) }

// aRoot is the pieces root of album/a.bin, the first file longer than a
// piece.
func aRoot(m map[string]any) string {
	return infoOf(m)["file tree"].(map[string]any)["a.bin"].(map[string]any)[""].(map[string]any)["pieces root"].(string)
}

// Hostile v2 and hybrid torrents: each gets a clear one-line refusal,
// before any storage is opened.
func TestParseRefusesHostileV2(t *testing.T) {
	cases := map[string]struct {
		ver    meta.Version
		break_ func(m map[string]any)
		want   string
	}{
		"layer does not hash to the root": {meta.VersionV2, func(m map[string]any) {
			l := []byte(layersOf(m)[aRoot(m)].(string))
			l[0] ^= 1
			layersOf(m)[aRoot(m)] = string(l)
		}, "does not hash to its pieces root"},
		"wrong pieces root": {meta.VersionV2, func(m map[string]any) {
			ft := infoOf(m)["file tree"].(map[string]any)
			props := ft["exact.bin"].(map[string]any)[""].(map[string]any)
			props["pieces root"] = aRoot(m)
		}, `piece layer of file "exact.bin" is 160 bytes, want 64`},
		"layer missing": {meta.VersionV2, func(m map[string]any) { delete(layersOf(m), aRoot(m)) }, "has no piece layer"},
		"layer oversized": {meta.VersionV2, func(m map[string]any) {
			layersOf(m)[aRoot(m)] = layersOf(m)[aRoot(m)].(string) + strings.Repeat("\x00", 32*1000)
		}, "bytes, want"},
		"layer for no file": {meta.VersionV2, func(m map[string]any) {
			layersOf(m)[strings.Repeat("r", 32)] = strings.Repeat("h", 64)
		}, "layer for no file"},
		"layer key not a root": {meta.VersionV2, func(m map[string]any) {
			layersOf(m)["short"] = strings.Repeat("h", 64)
		}, "not a 32-byte root"},
		"layers not a dictionary": {meta.VersionV2, func(m map[string]any) { m["piece layers"] = int64(1) }, "piece layers is an integer"},
		"pieces root too short": {meta.VersionV2, func(m map[string]any) {
			ft := infoOf(m)["file tree"].(map[string]any)
			ft["x.sh"].(map[string]any)[""].(map[string]any)["pieces root"] = "short"
		}, "pieces root is not 32 bytes"},
		"file and folder at once": {meta.VersionV2, func(m map[string]any) {
			ft := infoOf(m)["file tree"].(map[string]any)
			ft["sub"].(map[string]any)[""] = map[string]any{"length": int64(0)}
		}, "both a file and a folder"},
		"file tree climbs out": {meta.VersionV2, func(m map[string]any) {
			ft := infoOf(m)["file tree"].(map[string]any)
			ft[".."] = ft["sub"]
			delete(ft, "sub")
		}, "climbs out"},
		"meta version 3": {meta.VersionV2, func(m map[string]any) { infoOf(m)["meta version"] = int64(3) }, "meta version 3"},
		"no file tree":   {meta.VersionV2, func(m map[string]any) { delete(infoOf(m), "file tree") }, "no file tree"},
		"piece length not a power of two": {meta.VersionV2, func(m map[string]any) {
			infoOf(m)["piece length"] = int64(20000)
		}, "power of two"},
		"hybrid v1 path differs": {meta.VersionHybrid, func(m map[string]any) {
			infoOf(m)["files"].([]any)[0].(map[string]any)["path"] = []any{"A.bin"}
		}, "v1 file 0 is \"A.bin\""},
		"hybrid v1 length differs": {meta.VersionHybrid, func(m map[string]any) {
			files := infoOf(m)["files"].([]any)
			files[0].(map[string]any)["length"] = int64(70001)
			files[1].(map[string]any)["length"] = int64(11919)
		}, "(70001 bytes)"},
		"hybrid file missing from v1": {meta.VersionHybrid, func(m map[string]any) {
			files := infoOf(m)["files"].([]any)
			infoOf(m)["files"] = files[:len(files)-1]
		}, "files for v1"},
		"hybrid without pad files": {meta.VersionHybrid, func(m map[string]any) {
			var keep []any
			for _, f := range infoOf(m)["files"].([]any) {
				if f.(map[string]any)["attr"] != "p" {
					keep = append(keep, f)
				}
			}
			infoOf(m)["files"] = keep
		}, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			m := v2Torrent(t, c.ver)
			c.break_(m)
			_, err := meta.ParseWith(encode(t, m), meta.ParseOptions{AllowV2Only: true})
			if !errors.Is(err, meta.ErrInvalidTorrent) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if !printableLine(err.Error()) {
				t.Fatalf("error is not one printable line: %q", err)
			}
		})
	}
}

// File tree keys out of order would make two clients read the files in
// different orders; the encoder sorts them, so this one is written by
// hand.
func TestParseRefusesUnsortedFileTree(t *testing.T) {
	root := strings.Repeat("r", 32)
	file := "d0:d6:lengthi1e11:pieces root32:" + root + "ee"
	info := "d9:file treed1:b" + file + "1:a" + file + "e12:meta versioni2e4:name1:t12:piece lengthi16384ee"
	_, err := meta.ParseWith([]byte("d4:info"+info+"e"), meta.ParseOptions{AllowV2Only: true})
	if !errors.Is(err, meta.ErrInvalidTorrent) || !strings.Contains(err.Error(), "not sorted") {
		t.Fatalf("error %v", err)
	}
}
