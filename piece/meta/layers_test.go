package meta_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/shoal-torrent/shoal/piece/meta"
)

// A magnet link's info dictionary has no piece layers: the torrent made
// from it lists the files that need them, takes the true layers, and
// refuses a layer that does not hash to its file's root.
func TestWithPieceLayers(t *testing.T) {
	dir := writeV2Content(t)
	for _, ver := range []meta.Version{meta.VersionV2, meta.VersionHybrid} {
		full, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, "album"), Version: ver, PieceLength: 16 << 10})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := (&metainfo.MetaInfo{InfoBytes: full.Meta.InfoBytes}).Write(&buf); err != nil {
			t.Fatal(err)
		}
		bare, err := meta.ParseWith(buf.Bytes(), meta.ParseOptions{AllowV2Only: true})
		if err != nil {
			t.Fatal(err)
		}
		missing := bare.MissingLayers()
		if len(missing) == 0 || bare.V2.PieceHashes != nil || full.MissingLayers() != nil {
			t.Fatalf("%v: missing %d layers, piece hashes %v", ver, len(missing), bare.V2.PieceHashes != nil)
		}
		layers := map[[32]byte][]byte{}
		for _, f := range missing {
			layers[f.Root] = []byte(full.Meta.PieceLayers[string(f.Root[:])])
		}
		got, err := bare.WithPieceLayers(layers)
		if err != nil {
			t.Fatalf("%v: %v", ver, err)
		}
		if len(got.V2.PieceHashes) != len(full.V2.PieceHashes) || got.MissingLayers() != nil {
			t.Fatalf("%v: %d piece hashes, want %d", ver, len(got.V2.PieceHashes), len(full.V2.PieceHashes))
		}
		for i := range got.V2.PieceHashes {
			if got.V2.PieceHashes[i] != full.V2.PieceHashes[i] {
				t.Fatalf("%v: piece %d hash differs", ver, i)
			}
		}
		bad := map[[32]byte][]byte{}
		for r, l := range layers {
			l = []byte(string(l))
			l[5] ^= 1
			bad[r] = l
		}
		if _, err := bare.WithPieceLayers(bad); !errors.Is(err, meta.ErrInvalidTorrent) || !strings.Contains(err.Error(), "pieces root") {
			t.Fatalf("%v: a wrong layer: %v", ver, err)
		}
		delete(layers, missing[0].Root)
		if _, err := bare.WithPieceLayers(layers); err == nil {
			t.Fatalf("%v: a missing layer accepted", ver)
		}
	}
}

// ws= web seeds are taken from magnet links (http and https only, each
// bounded, at most MaxMagnetWebSeeds), and written into the magnet link of
// a torrent with a url-list, as libtorrent's make_magnet_uri does.
func TestMagnetWebSeeds(t *testing.T) {
	base := "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
	q := url.Values{"ws": {"http://127.0.0.1:1/a", "ftp://127.0.0.1/x", "https://127.0.0.1/b/", "http://" + strings.Repeat("h", meta.MaxWebSeedURL), "javascript:alert(1)"}}
	m, err := meta.ParseMagnet(base + "&" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.WebSeeds, " ") != "http://127.0.0.1:1/a https://127.0.0.1/b/" || len(m.Warnings) != 3 {
		t.Fatalf("web seeds %q, warnings %q", m.WebSeeds, m.Warnings)
	}
	q = url.Values{}
	for i := range meta.MaxMagnetWebSeeds + 5 {
		q.Add("ws", "http://127.0.0.1/"+strings.Repeat("x", i))
	}
	if m, err = meta.ParseMagnet(base + "&" + q.Encode()); err != nil || len(m.WebSeeds) != meta.MaxMagnetWebSeeds || len(m.Warnings) != 1 {
		t.Fatalf("%d web seeds, warnings %q, %v", len(m.WebSeeds), m.Warnings, err)
	}

	dir := writeV2Content(t)
	for _, ver := range []meta.Version{meta.VersionV1, meta.VersionV2, meta.VersionHybrid} {
		tor, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, "album"), Version: ver,
			WebSeeds: []string{"http://127.0.0.1:8/files/", "https://127.0.0.1:9/x"}})
		if err != nil {
			t.Fatal(err)
		}
		link := tor.Magnet()
		m, err := meta.ParseMagnet(link)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(m.WebSeeds, " ") != "http://127.0.0.1:8/files/ https://127.0.0.1:9/x" || !strings.Contains(link, "&ws=http%3A%2F%2F127.0.0.1%3A8%2Ffiles%2F") {
			t.Fatalf("%v: %s gives web seeds %q", ver, link, m.WebSeeds)
		}
	}
}
