package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// shoal get takes a v2-only (btmh) or hybrid magnet link from shoal info:
// the info comes from the seeder, then its piece layers in hash
// messages, the data checks out, and the saved .torrent (with the layers)
// serves a second run without asking peers for them.
func TestGetV2Magnet(t *testing.T) {
	for _, mode := range []string{"--v2", "--hybrid"} {
		t.Run(mode, func(t *testing.T) {
			src := t.TempDir()
			piecetest.WriteFiles(t, src, []piecetest.FileSpec{{Path: "pack/a.bin", Size: 1<<20 + 999}, {Path: "pack/b.bin", Size: 5000}})
			tor := filepath.Join(t.TempDir(), "pack.torrent")
			if code, _, stderr := shoal(t, "create", filepath.Join(src, "pack"), mode, "--piece-size", "32KiB", "-o", tor); code != 0 {
				t.Fatal(stderr)
			}
			code, stdout, _ := shoal(t, "info", "--json", tor)
			var js infoJSON
			if code != 0 || json.Unmarshal([]byte(stdout), &js) != nil || !strings.Contains(js.Magnet, "urn:btmh:") {
				t.Fatalf("info: %d %s", code, stdout)
			}
			seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir(), "--no-trackers")
			link := js.Magnet + "&x.pe=127.0.0.1:" + seeder.port
			dl, state := t.TempDir(), t.TempDir()
			code, stdout, stderr := shoal(t, "get", link, "--dir", dl, "--no-seed", "--port", "0", "--state-dir", state, "--no-trackers")
			if code != 0 || !strings.Contains(stdout, "metadata saved") || !strings.Contains(stdout, "download complete") {
				t.Fatalf("get %s: %d\n%s\n%s", link, code, stdout, stderr)
			}
			if code := verifyCode(t, tor, dl); code != 0 {
				t.Fatal("downloaded data does not verify")
			}
			saved := filepath.Join(state, js.InfoHash+".torrent")
			again, err := meta.LoadWith(saved, meta.ParseOptions{AllowV2Only: true})
			if err != nil || again.V2 == nil || again.V2.PieceHashes == nil {
				t.Fatalf("saved torrent %s: %v", saved, err)
			}
		})
	}
}

// A magnet link's ws= web seeds serve the data once a peer gave the
// info: here the only peer is a getter with no data at all, so every
// byte comes from the web seed. shoal info prints the ws= a torrent's
// url-list gives, as libtorrent's make_magnet_uri does.
func TestGetMagnetWebSeed(t *testing.T) {
	src := t.TempDir()
	piecetest.WriteFiles(t, src, []piecetest.FileSpec{{Path: "pack/a.bin", Size: 1 << 20}, {Path: "pack/b.bin", Size: 70_000}})
	var served atomic.Int64
	files := http.FileServer(http.Dir(src))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	tor := filepath.Join(t.TempDir(), "pack.torrent")
	if code, _, stderr := shoal(t, "create", filepath.Join(src, "pack"), "-o", tor, "--web-seed", srv.URL+"/"); code != 0 {
		t.Fatal(stderr)
	}
	code, stdout, _ := shoal(t, "info", "--json", tor)
	var js infoJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &js) != nil || !strings.Contains(js.Magnet, "&ws=") {
		t.Fatalf("info: %d %s", code, stdout)
	}
	code, stdout, _ = shoal(t, "info", js.Magnet+"&ws=ftp://127.0.0.1/x")
	if code != 0 || !regexp.MustCompile(`Web seeds: +`+regexp.QuoteMeta(srv.URL)+"/\n").MatchString(stdout) || !strings.Contains(stdout, `skipped web seed "ftp://127.0.0.1/x"`) {
		t.Fatalf("info of the magnet link:\n%s", stdout)
	}
	// The info's only source: a getter told to ignore web seeds, which
	// has nothing else to download from.
	empty := startShoal(t, "get", tor, "--dir", t.TempDir(), "--port", "0", "--state-dir", t.TempDir(), "--no-web-seeds", "--no-trackers")
	dl := t.TempDir()
	link := js.Magnet + "&x.pe=127.0.0.1:" + empty.port
	code, stdout, stderr := shoal(t, "get", link, "--dir", dl, "--no-seed", "--port", "0", "--state-dir", t.TempDir(), "--no-trackers")
	if code != 0 || !strings.Contains(stdout, "download complete") {
		t.Fatalf("get %s: %d\n%s\n%s", link, code, stdout, stderr)
	}
	if code := verifyCode(t, tor, dl); code != 0 || served.Load() == 0 {
		t.Fatalf("verify %d after %d web seed requests", code, served.Load())
	}
}
