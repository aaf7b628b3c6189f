package swarm

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// webServer serves a fixture's files as a web seed would, through wrap
// when set, and counts what it was asked.
type webServer struct {
	*httptest.Server
	requests  atomic.Int64
	ranged    atomic.Int64 // requests with a Range header
	inFlight  atomic.Int64
	maxFlight atomic.Int64
	agent     atomic.Value
}

func newWebServer(t *testing.T, f *fixture, wrap func(http.Handler) http.Handler) *webServer {
	t.Helper()
	ws := &webServer{}
	var h http.Handler = http.FileServer(http.Dir(f.dir))
	if wrap != nil {
		h = wrap(h)
	}
	ws.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws.requests.Add(1)
		if r.Header.Get("Range") != "" {
			ws.ranged.Add(1)
		}
		ws.agent.Store(r.Header.Get("User-Agent"))
		n := ws.inFlight.Add(1)
		defer ws.inFlight.Add(-1)
		for m := ws.maxFlight.Load(); n > m && !ws.maxFlight.CompareAndSwap(m, n); m = ws.maxFlight.Load() {
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ws.Close)
	return ws
}

// webLeecher starts a leecher of f that knows the web seeds and peers.
func webLeecher(t *testing.T, f *fixture, seeds []string, mod func(*TorrentConfig), peers ...netip.AddrPort) (*Torrent, string) {
	t.Helper()
	m := *f.m
	m.WebSeeds = seeds
	s := newTestSession(t)
	dir := t.TempDir()
	cfg := DefaultTorrentConfig(dir)
	cfg.Peers = peers
	cfg.MaxPeersPerIP = 100
	cfg.DisableTrackers = true
	cfg.WebSeeds.MinBackoff = 10 * time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	tor, err := s.Add(&m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tor, dir
}

func webPeer(s *Snapshot) *PeerSnapshot {
	for i := range s.Peers {
		if s.Peers[i].Source == "webseed" {
			return &s.Peers[i]
		}
	}
	return nil
}

// waitFor polls cond on fresh snapshots until it holds or the deadline.
func waitFor(t *testing.T, tor *Torrent, within time.Duration, what string, cond func(*Snapshot) bool) *Snapshot {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var s *Snapshot
		tor.do(func() { l := tor.loopState(); l.publish(l.now()); s = tor.Snapshot() })
		if s != nil && cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, within)
		}
		select {
		case <-tor.Done():
			t.Fatalf("torrent stopped: %v", tor.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// A torrent only a web seed has downloads from it alone: single and
// multi-file, names that need escaping, every request ranged, no more at
// once than allowed; the UI lists it with its flag.
func TestWebSeedOnly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []piecetest.FileSpec
		seed  func(base string) string
	}{
		{"single file", []piecetest.FileSpec{{Path: "one file#1.bin", Size: 1<<20 + 777}}, func(b string) string { return b + "/" }},
		{"single file URL", []piecetest.FileSpec{{Path: "direct.bin", Size: 300 << 10}}, func(b string) string { return b + "/direct.bin" }},
		{"multi file", []piecetest.FileSpec{{Path: "al bum/a?.flac", Size: 700<<10 + 3}, {Path: "al bum/sub/b%20.txt", Size: 100},
			{Path: "al bum/ü.bin", Size: 500 << 10}, {Path: "al bum/empty", Size: 0}}, func(b string) string { return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 64<<10, tc.files...)
			srv := newWebServer(t, f, nil)
			tor, dir := webLeecher(t, f, []string{tc.seed(srv.URL)}, func(c *TorrentConfig) { c.WebSeeds.Concurrency = 2 })
			s := waitFor(t, tor, 5*time.Second, "web seed in the snapshot", func(s *Snapshot) bool { return webPeer(s) != nil })
			if p := webPeer(s); p.Flags() == "" || !strings.Contains(p.Flags(), "W") || p.Addr != tc.seed(srv.URL) {
				t.Fatalf("web seed listed as %+v flags %q", p, p.Flags())
			}
			waitComplete(t, tor, 20*time.Second)
			sameContent(t, f, dir)
			s = waitFor(t, tor, 5*time.Second, "totals", func(s *Snapshot) bool { return s.Downloaded >= f.m.Layout.Total })
			if p := webPeer(s); p == nil || p.Downloaded != f.m.Layout.Total {
				t.Fatalf("web seed %+v: want it to have sent all %d bytes", p, f.m.Layout.Total)
			}
			if s.HashFails != 0 {
				t.Fatalf("%d hash failures", s.HashFails)
			}
			if r, rg := srv.requests.Load(), srv.ranged.Load(); r == 0 || r != rg {
				t.Fatalf("%d requests, %d with a Range", r, rg)
			}
			if m := srv.maxFlight.Load(); m > 2 {
				t.Fatalf("%d requests at once, allowed 2", m)
			}
			if a, _ := srv.agent.Load().(string); !strings.HasPrefix(a, "shoal/") {
				t.Fatalf("User-Agent %q", a)
			}
		})
	}
}

// A server that sends wrong bytes is dropped after its first bad piece,
// and a peer supplies the piece instead.
func TestWebSeedLies(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "lie.bin", Size: 1 << 20})
	srv := newWebServer(t, f, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(&flipWriter{ResponseWriter: w}, r)
		})
	})
	tor, dir := webLeecher(t, f, []string{srv.URL + "/"}, nil)
	waitFor(t, tor, 10*time.Second, "liar dropped", func(s *Snapshot) bool { return s.HashFails > 0 && webPeer(s) == nil })
	before := srv.requests.Load()
	seedS, _ := startSeeder(t, f)
	tor.AddPeers([]netip.AddrPort{seedS.Addr()})
	waitComplete(t, tor, 20*time.Second)
	sameContent(t, f, dir)
	// Requests on their way when it was dropped may still arrive; no
	// new ones are sent.
	if n := srv.requests.Load(); n-before > int64(DefaultWebSeedConfig().Concurrency) {
		t.Fatalf("the dropped web seed was asked %d more times", n-before)
	}
}

// flipWriter corrupts every byte of a body.
type flipWriter struct{ http.ResponseWriter }

func (w *flipWriter) Write(b []byte) (int, error) {
	c := make([]byte, len(b))
	for i := range b {
		c[i] = ^b[i]
	}
	return w.ResponseWriter.Write(c)
}

// A 404 drops the web seed; a peer has the data.
func TestWebSeed404(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "gone.bin", Size: 512 << 10})
	srv := newWebServer(t, f, func(http.Handler) http.Handler { return http.NotFoundHandler() })
	seedS, _ := startSeeder(t, f)
	tor, dir := webLeecher(t, f, []string{srv.URL + "/"}, nil, seedS.Addr())
	waitComplete(t, tor, 20*time.Second)
	sameContent(t, f, dir)
	s := waitFor(t, tor, 5*time.Second, "404 web seed dropped", func(s *Snapshot) bool { return webPeer(s) == nil })
	if s.HashFails != 0 {
		t.Fatalf("%d hash failures", s.HashFails)
	}
	if n := srv.requests.Load(); n == 0 || n > 4 {
		t.Fatalf("%d requests to a server that said 404: want the first few only", n)
	}
}

// A server that stops sending in the middle of a body gives its pieces
// back once it stalls; the peer finishes them, and the server is kept for
// later (a stall is not a lie).
func TestWebSeedSlow(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "slow.bin", Size: 1 << 20})
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	srv := newWebServer(t, f, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", strings.Replace(r.Header.Get("Range"), "=", " ", 1)+"/1048576")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(make([]byte, 1000)) // a start, then nothing
			w.(http.Flusher).Flush()
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		})
	})
	tor, dir := webLeecher(t, f, []string{srv.URL + "/"}, func(c *TorrentConfig) {
		c.WebSeeds.StallTimeout = 100 * time.Millisecond
		c.WebSeeds.MaxFailures = 1000
	})
	waitFor(t, tor, 5*time.Second, "web seed requests", func(*Snapshot) bool { return srv.requests.Load() > 0 })
	seedS, _ := startSeeder(t, f)
	tor.AddPeers([]netip.AddrPort{seedS.Addr()})
	waitComplete(t, tor, 20*time.Second)
	sameContent(t, f, dir)
	s := waitFor(t, tor, 5*time.Second, "snapshot", func(*Snapshot) bool { return true })
	if p := webPeer(s); p == nil {
		t.Fatal("a server that only stalled was dropped")
	}
	if s.HashFails != 0 {
		t.Fatalf("%d hash failures: the stalled bodies' bytes were used", s.HashFails)
	}
}

// A web seed and a peer share one download, each sending part of it.
func TestWebSeedAndPeerShare(t *testing.T) {
	f := newFixture(t, 64<<10, piecetest.FileSpec{Path: "share/a.bin", Size: 2 << 20}, piecetest.FileSpec{Path: "share/b.bin", Size: 1<<20 + 5})
	gate := make(chan struct{})
	var once sync.Once
	srv := newWebServer(t, f, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select { // held until the peer has sent something
			case <-gate:
			case <-r.Context().Done():
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	seedS, _ := startSeeder(t, f)
	tor, dir := webLeecher(t, f, []string{srv.URL}, nil, seedS.Addr())
	waitFor(t, tor, 10*time.Second, "peer data", func(s *Snapshot) bool {
		for _, p := range s.Peers {
			if p.Source != "webseed" && p.Downloaded > 0 {
				return true
			}
		}
		return false
	})
	once.Do(func() { close(gate) })
	waitComplete(t, tor, 20*time.Second)
	sameContent(t, f, dir)
	s := waitFor(t, tor, 5*time.Second, "totals", func(s *Snapshot) bool { return s.Downloaded >= f.m.Layout.Total })
	p := webPeer(s)
	if p == nil || p.Downloaded == 0 || p.Downloaded >= f.m.Layout.Total {
		t.Fatalf("web seed %+v: want a share of the %d bytes, not none or all", p, f.m.Layout.Total)
	}
	if s.HashFails != 0 || s.Wasted > f.m.Layout.Total/4 {
		t.Fatalf("hash failures %d, wasted %d", s.HashFails, s.Wasted)
	}
}

// --no-web-seeds: the url-list is not touched.
func TestWebSeedDisabled(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "off.bin", Size: 256 << 10})
	srv := newWebServer(t, f, nil)
	seedS, _ := startSeeder(t, f)
	tor, _ := webLeecher(t, f, []string{srv.URL + "/"}, func(c *TorrentConfig) { c.WebSeeds.Disable = true }, seedS.Addr())
	waitComplete(t, tor, 20*time.Second)
	if n := srv.requests.Load(); n != 0 {
		t.Fatalf("%d requests with web seeds disabled", n)
	}
	if webPeer(tor.Snapshot()) != nil {
		t.Fatal("disabled web seed listed")
	}
}

// Retry-After and backoff: what the server asks, within bounds, else
// doubling from the minimum.
func TestWebSeedBackoff(t *testing.T) {
	c := DefaultWebSeedConfig()
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"120", 120 * time.Second}, {" 7 ", 7 * time.Second}, {"0", 0}, {"-5", 0}, {"soon", 0}, {"", 0},
		{now.Add(90 * time.Second).UTC().Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).UTC().Format(http.TimeFormat), 0},
		{"99999999999999999999", 0},
	} {
		if got := parseRetryAfter(tc.header, now); got != tc.want {
			t.Errorf("Retry-After %q: %v, want %v", tc.header, got, tc.want)
		}
	}
	if got := webBackoff(c, 1, 0); got != c.MinBackoff {
		t.Errorf("first backoff %v", got)
	}
	if got := webBackoff(c, 3, 0); got != 4*c.MinBackoff {
		t.Errorf("third backoff %v", got)
	}
	if got := webBackoff(c, 100, 0); got != c.MaxBackoff {
		t.Errorf("backoff grew to %v", got)
	}
	if got := webBackoff(c, 1, 48*time.Hour); got != c.MaxRetryAfter {
		t.Errorf("a Retry-After of two days kept as %v", got)
	}
}

// A 503 with Retry-After rests the server that long, then it is used.
func TestWebSeedRetryAfter(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "busy.bin", Size: 128 << 10})
	var first atomic.Bool
	var refusedAt, retriedAt atomic.Int64
	srv := newWebServer(t, f, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if first.CompareAndSwap(false, true) {
				refusedAt.Store(time.Now().UnixNano())
				w.Header().Set("Retry-After", "1")
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			retriedAt.CompareAndSwap(0, time.Now().UnixNano())
			h.ServeHTTP(w, r)
		})
	})
	tor, dir := webLeecher(t, f, []string{srv.URL + "/"}, func(c *TorrentConfig) { c.WebSeeds.Concurrency = 1 })
	waitComplete(t, tor, 10*time.Second)
	sameContent(t, f, dir)
	if d := time.Duration(retriedAt.Load() - refusedAt.Load()); d < time.Second {
		t.Fatalf("asked again %v after a Retry-After of 1s", d)
	}
}

// Redirects are followed, within the limit.
func TestWebSeedRedirects(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "moved.bin", Size: 128 << 10})
	target := newWebServer(t, f, nil)
	hops := func(n int) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k, err := strconv.Atoi(r.URL.Query().Get("k"))
			if err != nil || k >= n {
				http.Redirect(w, r, target.URL+"/moved.bin", http.StatusFound)
				return
			}
			http.Redirect(w, r, "/?k="+strconv.Itoa(k+1), http.StatusFound)
		}))
		t.Cleanup(s.Close)
		return s
	}
	near := hops(2) // three redirects: within the default five
	tor, dir := webLeecher(t, f, []string{near.URL + "/?k=0"}, nil)
	waitComplete(t, tor, 10*time.Second)
	sameContent(t, f, dir)

	far := hops(20)
	seedS, _ := startSeeder(t, f)
	tor, dir = webLeecher(t, f, []string{far.URL + "/?k=0"}, nil, seedS.Addr())
	waitComplete(t, tor, 10*time.Second)
	sameContent(t, f, dir)
	waitFor(t, tor, 5*time.Second, "endless redirects dropped", func(s *Snapshot) bool { return webPeer(s) == nil })
}

// url-list entries map onto files as BEP 19 says, escaped.
func TestWebFileURLs(t *testing.T) {
	l, err := piece.NewLayout(1<<14, []piece.File{{Path: []string{"top dir", "a#b.txt"}, Length: 3}, {Path: []string{"top dir", "sub", "ü?.bin"}, Length: 4}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		base string
		want []string
	}{
		{"http://h/files", []string{"http://h/files/top%20dir/a%23b.txt", "http://h/files/top%20dir/sub/%C3%BC%3F.bin"}},
		{"http://h/files/", []string{"http://h/files/top%20dir/a%23b.txt", "http://h/files/top%20dir/sub/%C3%BC%3F.bin"}},
		{"https://u:pw@h/", []string{"https://u:pw@h/top%20dir/a%23b.txt", "https://u:pw@h/top%20dir/sub/%C3%BC%3F.bin"}},
	} {
		u, err := parseWebSeed(tc.base)
		if err != nil {
			t.Fatal(err)
		}
		got := webFileURLs(u, l)
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s file %d: %s, want %s", tc.base, i, got[i], tc.want[i])
			}
		}
	}
	one, _ := piece.NewLayout(1<<14, []piece.File{{Path: []string{"my file.iso"}, Length: 3}})
	for base, want := range map[string]string{"http://h/dl/": "http://h/dl/my%20file.iso", "http://h/dl/x.iso": "http://h/dl/x.iso",
		"http://h/dl/x.iso?token=1": "http://h/dl/x.iso?token=1"} {
		u, _ := parseWebSeed(base)
		if got := webFileURLs(u, one)[0]; got != want {
			t.Errorf("%s: %s, want %s", base, got, want)
		}
	}
	// A multi-file torrent of one file is still a folder.
	folder, _ := piece.NewLayout(1<<14, []piece.File{{Path: []string{"album", "a.bin"}, Length: 3}})
	u, _ := parseWebSeed("http://h/dl/")
	if got, want := webFileURLs(u, folder)[0], "http://h/dl/album/a.bin"; got != want {
		t.Errorf("one file in a folder: %s, want %s", got, want)
	}
	for _, bad := range []string{"ftp://h/x", "file:///etc/passwd", "http://", "::", "javascript:alert(1)"} {
		if _, err := parseWebSeed(bad); err == nil {
			t.Errorf("%q accepted as a web seed", bad)
		}
	}
	if _, err := url.Parse("http://h/"); err != nil {
		t.Fatal(err)
	}
}

// trickleWriter sends a body at a fixed rate, as a slow server does.
type trickleWriter struct {
	http.ResponseWriter
	lim *rate.Limiter
	ctx context.Context
}

func (w *trickleWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		k := min(len(b), 512)
		if err := w.lim.WaitN(w.ctx, k); err != nil {
			return n, err
		}
		m, err := w.ResponseWriter.Write(b[:k])
		n += m
		if err != nil {
			return n, err
		}
		w.ResponseWriter.(http.Flusher).Flush()
		b = b[k:]
	}
	return n, nil
}

// A server that sends, but slowly, hands its pieces to a fast peer when
// they are all the download waits for: the download takes the peer's
// time, not the server's (alone, ~10 s).
func TestWebSeedTrickle(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "trickle.bin", Size: 1 << 20})
	srv := newWebServer(t, f, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(&trickleWriter{ResponseWriter: w, lim: rate.NewLimiter(25<<10, 512), ctx: r.Context()}, r)
		})
	})
	seedS, _ := startSeeder(t, f)
	start := time.Now()
	tor, dir := webLeecher(t, f, []string{srv.URL + "/"}, func(c *TorrentConfig) { c.WebSeeds.HandBack = 300 * time.Millisecond }, seedS.Addr())
	waitComplete(t, tor, 6*time.Second)
	sameContent(t, f, dir)
	s := waitFor(t, tor, 5*time.Second, "snapshot", func(*Snapshot) bool { return true })
	if webPeer(s) == nil {
		t.Fatal("a slow but honest server was dropped")
	}
	if s.HashFails != 0 {
		t.Fatalf("%d hash failures", s.HashFails)
	}
	t.Logf("done in %v", time.Since(start))
}

// Hostile or broken answers to one ranged GET: each is refused as it
// should be (dropped for good, or retried), and no byte beyond what was
// asked is taken.
func TestWebSeedHostileAnswers(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "h.bin", Size: 256 << 10})
	content := piecetest.Content("h.bin", 256<<10)
	cfg := DefaultWebSeedConfig()
	cfg.StallTimeout = 200 * time.Millisecond
	job := []picker.Block{{Piece: 2, Index: 0}, {Piece: 2, Index: 1}} // bytes 64 KiB - 96 KiB
	for _, tc := range []struct {
		name      string
		h         http.HandlerFunc
		permanent bool
		ok        bool
	}{
		{"honest", func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, "h.bin", time.Time{}, bytes.NewReader(content))
		}, false, true},
		{"range ignored", func(w http.ResponseWriter, r *http.Request) { w.Write(content) }, true, false},
		{"wrong range", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 0-32767/262144")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(content[:32<<10])
		}, true, false},
		{"garbled range", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 65536-x/y")
			w.WriteHeader(http.StatusPartialContent)
		}, true, false},
		{"binary header", func(w http.ResponseWriter, r *http.Request) { // a broken answer: retried
			w.Header().Set("Content-Range", "bytes \x00-1")
			w.WriteHeader(http.StatusPartialContent)
		}, false, false},
		{"more than asked", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 65536-262143/262144")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(content[64<<10:])
		}, false, true},
		{"short body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 65536-98303/262144")
			w.Header().Set("Content-Length", "32768")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(content[64<<10 : 70<<10])
		}, false, false},
		{"forbidden", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) }, true, false},
		{"server error", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", http.StatusBadGateway) }, false, false},
		{"silent", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.h)
			defer srv.Close()
			u, _ := parseWebSeed(srv.URL + "/h.bin")
			events := make(chan webEvent, 8)
			fe := &webFetcher{client: newWebClient(cfg), layout: f.m.Layout, urls: webFileURLs(u, f.m.Layout),
				credit: make(diskCredit, 8), events: events, cfg: cfg, agent: "test"}
			_, err := fe.fetch(webJob{ctx: context.Background(), blocks: job})
			close(events)
			var got []byte
			for ev := range events {
				got = append(got, (*ev.buf)[:ev.n]...)
			}
			if tc.ok {
				if err != nil || !bytes.Equal(got, content[64<<10:96<<10]) {
					t.Fatalf("err %v, %d bytes (right: %v)", err, len(got), bytes.Equal(got, content[64<<10:96<<10]))
				}
				return
			}
			var we *webError
			if err == nil || !errors.As(err, &we) && tc.permanent {
				t.Fatalf("err %v", err)
			}
			if p := we != nil && we.permanent; p != tc.permanent {
				t.Fatalf("err %v: permanent %v, want %v", err, p, tc.permanent)
			}
			if strings.ContainsAny(err.Error(), "\x00\n") {
				t.Fatalf("error carries raw bytes: %q", err)
			}
		})
	}
}

// The header decoders take anything a server sends.
func FuzzWebSeedHeaders(f *testing.F) {
	for _, s := range []string{"bytes 0-1/2", "bytes 5-4/9", "bytes */100", "bytes -1-2/3", "120", "Wed, 21 Oct 2015 07:28:00 GMT", ""} {
		f.Add(s)
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, v string) {
		if first, last, ok := parseContentRange(v); ok && (first < 0 || last < first) {
			t.Fatalf("%q: %d-%d accepted", v, first, last)
		}
		if d := parseRetryAfter(v, now); d < 0 {
			t.Fatalf("%q: negative wait %v", v, d)
		}
	})
}

// A web seed's password stays out of its errors and the peer list.
func TestWebSeedHidesPassword(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "pw.bin", Size: 64 << 10})
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("me", "s3cret")
	cfg := DefaultWebSeedConfig()
	ws, _ := parseWebSeed(u.String() + "/")
	fe := &webFetcher{client: newWebClient(cfg), layout: f.m.Layout, urls: webFileURLs(ws, f.m.Layout),
		credit: make(diskCredit, 8), events: make(chan webEvent, 8), cfg: cfg}
	_, err := fe.fetch(webJob{ctx: context.Background(), blocks: []picker.Block{{Piece: 0, Index: 0}}})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v", err)
	}
	tor, _ := webLeecher(t, f, []string{u.String() + "/"}, func(c *TorrentConfig) { c.WebSeeds.MaxFailures = 1000 })
	s := waitFor(t, tor, 5*time.Second, "web seed listed", func(s *Snapshot) bool { return webPeer(s) != nil || s.State == StateDownloading })
	if p := webPeer(s); p != nil && strings.Contains(p.Addr, "s3cret") {
		t.Fatalf("peer list shows %s", p.Addr)
	}
}
