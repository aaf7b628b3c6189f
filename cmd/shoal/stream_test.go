package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shoal-torrent/shoal/piece/piecetest"
)

var streamingRe = regexp.MustCompile(`streaming at (http://127\.0\.0\.1:\d+)/`)

// shoal stream serves a downloading torrent over HTTP: the index links
// every file, and random Range requests get exactly the file's bytes
// while the rest still arrives from a slow seeder. A hybrid's files are
// numbered as info numbers them, its pad files left out (b.bin was at
// /2/ after the pad file following a.bin).
func TestStreamServesRanges(t *testing.T) {
	t.Run("v1", func(t *testing.T) { testStreamServesRanges(t) })
	t.Run("hybrid", func(t *testing.T) { testStreamServesRanges(t, "--hybrid") })
}

func testStreamServesRanges(t *testing.T, createArgs ...string) {
	src, tor := seedFixture(t, 3<<20+1000, "32KiB", createArgs...)
	seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--up-limit", "1MiB", "--state-dir", t.TempDir(), "--no-dht")
	dl := t.TempDir()
	st := startShoalUntil(t, streamingRe, "stream", tor, "--http", "127.0.0.1:0", "--dir", dl, "--peer", "127.0.0.1:"+seeder.port,
		"--port", "0", "--state-dir", t.TempDir(), "--no-dht")
	base := st.port // the first submatch: the server's URL

	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`href="/0/a.bin"`, `href="/1/b.bin"`, "pack/a.bin"} {
		if !strings.Contains(string(page), want) {
			t.Fatalf("index page lacks %s:\n%s", want, page)
		}
	}

	files := []string{"a.bin", "b.bin"}
	rng := rand.New(rand.NewPCG(1, 2))
	partial := false
	for i := range 16 {
		fi := i % 2
		want, err := os.ReadFile(filepath.Join(src, "pack", files[fi]))
		if err != nil {
			t.Fatal(err)
		}
		off := rng.Int64N(int64(len(want)))
		end := min(off+rng.Int64N(200<<10), int64(len(want))-1)
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/%d/%s", base, fi, files[fi]), nil)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, end))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusPartialContent {
			t.Fatalf("range %d-%d of %s: %s, %v", off, end, files[fi], res.Status, err)
		}
		if cr := fmt.Sprintf("bytes %d-%d/%d", off, end, len(want)); res.Header.Get("Content-Range") != cr {
			t.Fatalf("Content-Range %q, want %q", res.Header.Get("Content-Range"), cr)
		}
		if !bytes.Equal(got, want[off:end+1]) {
			t.Fatalf("range %d-%d of %s: wrong bytes", off, end, files[fi])
		}
		if verifyCode(t, tor, dl) != 0 {
			partial = true
		}
	}
	if !partial {
		t.Fatal("the download was complete before the requests: they tested nothing")
	}
	for _, bad := range []string{"/9/x", "/x/a.bin", "/-1/a"} {
		res, err := http.Get(base + bad)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s, want 404", bad, res.Status)
		}
	}
	if code := st.stop(); code != 0 {
		t.Fatalf("stream exited %d on Ctrl-C", code)
	}
}

// verifyCode runs shoal verify quietly: 0 once the data is complete.
func verifyCode(t *testing.T, tor, dir string) int {
	code, _, _ := shoal(t, "verify", tor, "--dir", dir)
	return code
}

func TestStreamBadInput(t *testing.T) {
	_, tor := seedFixture(t, 100_000, "16KiB")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"stream"}, exitUsage, "needs"},
		{[]string{"stream", tor, "--http", "nonsense", "--no-dht"}, exitUsage, "HOST:PORT"},
		{[]string{"stream", filepath.Join(t.TempDir(), "none.torrent"), "--no-dht"}, exitError, "no such file"},
	} {
		code, _, stderr := shoal(t, c.args...)
		oneLineError(t, code, c.code, stderr)
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: %q lacks %q", c.args, stderr, c.want)
		}
	}
}

// shoal get downloads from a torrent's web seed alone, and ignores it
// with --no-web-seeds.
func TestGetWebSeed(t *testing.T) {
	src := t.TempDir()
	piecetest.WriteFiles(t, src, []piecetest.FileSpec{{Path: "pack/a.bin", Size: 1 << 20}, {Path: "pack/b c.bin", Size: 70_000}})
	srv := httptest.NewServer(http.FileServer(http.Dir(src)))
	defer srv.Close()
	tor := filepath.Join(t.TempDir(), "pack.torrent")
	if code, _, stderr := shoal(t, "create", filepath.Join(src, "pack"), "-o", tor, "--web-seed", srv.URL+"/"); code != 0 {
		t.Fatal(stderr)
	}
	// Without web seeds and peers nothing comes, however long the other
	// get below takes to finish from the web seed.
	off := t.TempDir()
	without := startShoal(t, "get", tor, "--dir", off, "--no-seed", "--port", "0", "--state-dir", t.TempDir(), "--no-web-seeds", "--no-trackers")
	dl := t.TempDir()
	code, stdout, stderr := shoal(t, "get", tor, "--dir", dl, "--no-seed", "--port", "0", "--state-dir", t.TempDir(), "--no-trackers")
	if code != 0 || !strings.Contains(stdout, "download complete") {
		t.Fatalf("get: %d\n%s\n%s", code, stdout, stderr)
	}
	if code := verifyCode(t, tor, dl); code != 0 {
		t.Fatal("downloaded data does not verify")
	}
	if code := without.stop(); code != 130 {
		t.Fatalf("get --no-web-seeds exited %d, want 130 (incomplete)", code)
	}
	if code := verifyCode(t, tor, off); code == 0 {
		t.Fatal("get --no-web-seeds has the data")
	}
}

// TestGetReportsADroppedWebSeed: a web seed that is dropped (a 404 here)
// is told once as a line, or a --json event, not as a raw log line on
// stderr, while the torrent's other web seed finishes the download.
func TestGetReportsADroppedWebSeed(t *testing.T) {
	src := t.TempDir()
	piecetest.WriteFiles(t, src, []piecetest.FileSpec{{Path: "pack/a.bin", Size: 300 << 10}})
	// The good server answers only once the other has been asked: on a
	// busy machine it could otherwise finish the download while the 404
	// is still on its way, and a seed dropped after completion is never
	// said.
	var gate, unopened atomic.Pointer[chan struct{}] // this run's gate; the same until opened
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := unopened.Swap(nil); c != nil {
			close(*c)
		}
		http.NotFound(w, r)
	}))
	defer gone.Close()
	files := http.FileServer(http.Dir(src))
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-*gate.Load():
		case <-r.Context().Done():
			return
		}
		files.ServeHTTP(w, r)
	}))
	defer good.Close()
	tor := filepath.Join(t.TempDir(), "pack.torrent")
	if code, _, stderr := shoal(t, "create", filepath.Join(src, "pack"), "-o", tor, "-w", gone.URL+"/", "-w", good.URL+"/"); code != 0 {
		t.Fatal(stderr)
	}
	for _, json := range []bool{false, true} {
		args := []string{"get", tor, "--dir", t.TempDir(), "--no-seed", "--port", "0", "--state-dir", t.TempDir(), "--no-trackers", "--no-dht"}
		want := "pack: web seed " + gone.URL + "/ dropped: "
		if json {
			args = append(args, "--json")
			want = `"event":"web_seed_dropped"`
		}
		c := make(chan struct{})
		gate.Store(&c)
		unopened.Store(&c)
		code, stdout, stderr := shoal(t, args...)
		if code != 0 || strings.Count(stdout, want) != 1 || strings.Contains(stderr, "web seed dropped") {
			t.Fatalf("get (json %v): %d, want one %q on stdout and no log line:\n%s\nstderr: %s", json, code, want, stdout, stderr)
		}
	}
}

// From a magnet link the HTTP address answers at once, 503 with
// Retry-After while no peer has sent the metadata, and Ctrl-C then exits
// 130 as get does.
func TestStreamMagnetAnswersWhileFetchingMetadata(t *testing.T) {
	magnet := "magnet:?xt=urn:btih:" + strings.Repeat("ab", 20) + "&dn=film"
	b := startShoalUntil(t, regexp.MustCompile(`^film: (http://127\.0\.0\.1:\d+)/ answers 503`), "stream", magnet,
		"--http", "127.0.0.1:0", "--dir", t.TempDir(), "--port", "0", "--state-dir", t.TempDir(), "--no-dht", "--no-trackers")
	resp, err := http.Get(b.port + "/0/film")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("while fetching metadata: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	if code := b.stop(); code != 130 {
		t.Fatalf("Ctrl-C before the metadata exited %d, want 130", code)
	}
}
