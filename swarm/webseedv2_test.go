package swarm

import (
	"net/http"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// v2-only and hybrid torrents map onto the server as v1 ones do (BEP 19):
// a multi-file one below the torrent's name, whose folder the URL holds;
// a single file at the URL, its name added after a slash. Only data
// files are asked for, never pad files.
func TestWebSeedV2AndHybrid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []piecetest.FileSpec
	}{
		{"multi file", []piecetest.FileSpec{{Path: "al bum/a.bin", Size: 50000}, {Path: "al bum/sub/b.bin", Size: 70000},
			{Path: "al bum/c.bin", Size: 100<<10 + 1}}},
		{"single file", []piecetest.FileSpec{{Path: "one.bin", Size: 70000}}},
	} {
		for _, v := range []meta.Version{meta.VersionV2, meta.VersionHybrid} {
			t.Run(tc.name+"/"+v.String(), func(t *testing.T) {
				f := newFixtureV(t, v, 32<<10, tc.files...)
				want := map[string]bool{}
				for _, fs := range tc.files {
					want["/"+fs.Path] = true
				}
				wrong := make(chan string, 1)
				srv := newWebServer(t, f, func(h http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if !want[r.URL.Path] {
							select {
							case wrong <- r.URL.Path:
							default:
							}
						}
						h.ServeHTTP(w, r)
					})
				})
				tor, dir := webLeecher(t, f, []string{srv.URL + "/"}, nil)
				select {
				case <-tor.Completed():
				case p := <-wrong:
					t.Fatalf("web seed asked for %s", p)
				case <-tor.Done():
					t.Fatalf("torrent stopped: %v", tor.Err())
				case <-time.After(20 * time.Second):
					t.Fatal("not complete from the web seed")
				}
				sameContent(t, f, dir)
			})
		}
	}
}
