package meta_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/anacrolix/torrent/bencode"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/meta"
)

// printableLine tells whether s can be shown as one line with no raw
// bytes from a torrent in it.
func printableLine(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

func symlink(name string, target ...string) map[string]any {
	return map[string]any{"length": int64(0), "path": []string{name}, "attr": "l", "symlink path": target}
}

// withTop rebuilds a hostile torrent's top level around its info, with
// extra fields of any type.
func withTop(t *testing.T, info map[string]any, top map[string]any) []byte {
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	top["info"] = bencode.Bytes(infoBytes)
	data, err := bencode.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func paths(tor *meta.Torrent) []string {
	var out []string
	for _, f := range tor.Layout.Files {
		out = append(out, strings.Join(f.Path, "/"))
	}
	return out
}

// Torrents libtorrent's own test suite loads, which shoal used to refuse
// or misread. Each loads, with what was skipped or changed in Warnings.
func TestParseLoadsWhatLibtorrentLoads(t *testing.T) {
	long := strings.Repeat("é", 200) + ".mkv" // 404 bytes
	pad := file(6, ".pad", "6")
	pad["attr"] = "p"
	cases := []struct {
		name  string
		data  []byte
		check func(t *testing.T, tor *meta.Torrent)
		warn  string // a warning that must be there; "" for none
	}{
		{"trailing newline", append(hostile(t, multi(file(16, "a"))), '\n'), nil, "ignored 1 byte after the end"},
		{"trailing garbage", append(hostile(t, multi(file(16, "a"))), "xyz\x00"...), nil, "ignored 4 bytes"},
		{"url-list of an integer", withTop(t, multi(file(16, "a")), map[string]any{"url-list": []any{int64(-20)}}),
			func(t *testing.T, tor *meta.Torrent) {
				if len(tor.WebSeeds) != 0 {
					t.Errorf("web seeds %q", tor.WebSeeds)
				}
			}, "1 entry of url-list"},
		{"url-list mixed", withTop(t, multi(file(16, "a")), map[string]any{"url-list": []any{"http://127.0.0.1/", int64(3)}}),
			func(t *testing.T, tor *meta.Torrent) {
				if len(tor.WebSeeds) != 1 || tor.WebSeeds[0] != "http://127.0.0.1/" {
					t.Errorf("web seeds %q", tor.WebSeeds)
				}
			}, "url-list"},
		{"comment an integer", withTop(t, multi(file(16, "a")), map[string]any{"comment": int64(7), "created by": []any{"x"}}),
			nil, "ignored comment: an integer, not a string"},
		{"creation date a string", withTop(t, multi(file(16, "a")), map[string]any{"creation date": "yesterday"}),
			nil, "creation date"},
		{"integer in announce-list", withTop(t, multi(file(16, "a")), map[string]any{
			"announce-list": []any{[]any{"http://127.0.0.1:1/announce", int64(5)}, int64(6), []any{"udp://127.0.0.1:2"}}}),
			func(t *testing.T, tor *meta.Torrent) {
				if len(tor.Trackers) != 2 || tor.Trackers[0][0] != "http://127.0.0.1:1/announce" || tor.Trackers[1][0] != "udp://127.0.0.1:2" {
					t.Errorf("trackers %q", tor.Trackers)
				}
			}, "2 entries of announce-list"},
		{"announce an integer", withTop(t, multi(file(16, "a")), map[string]any{"announce": int64(1)}), nil, "ignored announce"},
		{"private a string", hostile(t, map[string]any{"name": "a", "piece length": int64(16), "pieces": strings.Repeat("x", 20), "length": int64(16), "private": "yes"}),
			nil, "ignored info private"},
		{"file attr an integer", hostile(t, multi(map[string]any{"length": int64(16), "path": []string{"a"}, "attr": int64(1)})), nil, "file 0: ignored attr"},
		{"duplicate paths", hostile(t, multi(file(4, "bar.txt"), file(4, "bar.txt"), file(4, "bar.txt"), file(4, "bar.1.txt"))),
			func(t *testing.T, tor *meta.Torrent) {
				want := []string{"t/bar.txt", "t/bar.1.txt", "t/bar.2.txt", "t/bar.1.1.txt"}
				if got := paths(tor); strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("paths %q, want %q", got, want)
				}
			}, `file 1: "bar.txt" saved as "bar.1.txt"`},
		{"file where a folder was", hostile(t, multi(file(8, "d", "x"), file(8, "d"))),
			func(t *testing.T, tor *meta.Torrent) {
				if got := paths(tor); got[1] != "t/d.1" {
					t.Errorf("paths %q", got)
				}
			}, "file 1"},
		{"name over 255 bytes", hostile(t, multi(file(16, "dir", long))),
			func(t *testing.T, tor *meta.Torrent) {
				last := tor.Layout.Files[0].Path[2]
				if len(last) > 255 || !strings.HasSuffix(last, "é.mkv") || !utf8.ValidString(last) {
					t.Errorf("name %q (%d bytes)", last, len(last))
				}
			}, "saved as"},
		{"empty, dot and separator components", hostile(t, multi(file(16, "a", "", ".", "//", "b"))),
			func(t *testing.T, tor *meta.Torrent) {
				if got := paths(tor); got[0] != "t/a/b" {
					t.Errorf("paths %q", got)
				}
			}, `"a//.////b" saved as "a/b"`},
		// Old torrents made in a local code page: libtorrent loads them
		// with "_" for each byte that is not UTF-8.
		{"name not UTF-8", hostile(t, multi(file(16, "caf\xe9.txt"))),
			func(t *testing.T, tor *meta.Torrent) {
				if got := paths(tor); got[0] != "t/caf_.txt" {
					t.Errorf("paths %q", got)
				}
			}, "saved as"},
		{"separator inside a name", hostile(t, multi(file(16, "a/b\\c"))),
			func(t *testing.T, tor *meta.Torrent) {
				if got := paths(tor); got[0] != "t/a_b_c" {
					t.Errorf("paths %q", got)
				}
			}, "saved as"},
		{"legacy pad file", hostile(t, multi(file(10, "a"), file(6, "_____padding_file_0_if you see this file, please update to BitComet 0.85 or above____"), file(16, "b"))),
			func(t *testing.T, tor *meta.Torrent) {
				if !tor.Layout.Files[1].Pad || tor.Layout.Files[0].Pad {
					t.Errorf("files %+v", tor.Layout.Files)
				}
			}, ""},
		{"BEP 47 pad file", hostile(t, multi(file(10, "a"), pad, file(16, "b"))), nil, ""},
		{"symlink", hostile(t, multi(file(16, "a"), symlink("link", "a"), symlink("sub", "d", "..", "a"))),
			func(t *testing.T, tor *meta.Torrent) {
				f := tor.Layout.Files[1]
				if f.Length != 0 || strings.Join(f.Symlink, "/") != "t/a" || tor.Layout.NumPieces != 1 {
					t.Errorf("files %+v", tor.Layout.Files)
				}
			}, ""},
		// An empty target would link the torrent's folder into itself.
		{"symlink with an empty target", hostile(t, multi(file(16, "a"), symlink("loop"))),
			func(t *testing.T, tor *meta.Torrent) {
				if f := tor.Layout.Files[1]; f.Symlink != nil {
					t.Errorf("files %+v", tor.Layout.Files)
				}
			}, "empty target"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tor, err := meta.Parse(c.data)
			if err != nil {
				t.Fatal(err)
			}
			found := c.warn == ""
			for _, w := range tor.Warnings {
				if !printableLine(w) {
					t.Errorf("warning %q is not printable", w)
				}
				found = found || strings.Contains(w, c.warn)
			}
			if !found {
				t.Errorf("no warning containing %q in %q", c.warn, tor.Warnings)
			}
			if c.warn == "" && len(tor.Warnings) > 0 {
				t.Errorf("unexpected warnings %q", tor.Warnings)
			}
			if c.check != nil {
				c.check(t, tor)
			}
		})
	}
}

// A symlink declared with a length other clients would count: shoal
// counts it as zero bytes, so the layout matches the piece hashes (one
// piece here, not two), and makes it a link inside the save path.
func TestSymlinkTorrentDownloadsAndLinks(t *testing.T) {
	link := symlink("link", "sub", "a")
	link["length"] = int64(16)
	info := multi(file(16, "sub", "a"), link)
	info["pieces"] = string(sha1Of(bytes.Repeat([]byte("z"), 16)))
	tor, err := meta.Parse(hostile(t, info))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := piece.OpenFileStorage(tor.Layout, piece.FileStorageConfig{Dir: dir, Writable: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.WriteAt(bytes.Repeat([]byte("z"), 16), 0); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateFiles(); err != nil {
		t.Fatal(err)
	}
	v, err := piece.Verify(context.Background(), st, tor.Layout, tor.Hashes, piece.HashOptions{})
	if err != nil || !v.Have.Full() {
		t.Fatalf("verify: %v %v", v, err)
	}
	text, err := os.Readlink(filepath.Join(dir, "t", "link"))
	if err != nil || text != filepath.Join("sub", "a") {
		t.Fatalf("link %q %v", text, err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "t", "link"))
	if err != nil || string(got) != strings.Repeat("z", 16) {
		t.Fatalf("through the link: %q %v", got, err)
	}
}

func sha1Of(b []byte) []byte {
	s := sha1.Sum(b)
	return s[:]
}
