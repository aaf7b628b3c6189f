package tracker

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// benchWriter is the least a handler needs from a ResponseWriter. Its
// header map is cleared between requests rather than made anew, so the
// allocations counted are the handler's, not net/http's.
type benchWriter struct {
	h    http.Header
	body bytes.Buffer
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkHTTPHandler runs HTTP announces through Handler without
// sockets, with trackerbench's query and load: 1,000 torrents of 100
// peers, a third of them seeds, compact, numwant 50, after every peer
// announced once. It measures what shoal adds to net/http's own
// per-request work (parsing the request line and headers, the response
// header, the system calls), which it does not include.
func BenchmarkHTTPHandler(b *testing.B) {
	cfg := DefaultConfig()
	cfg.AnnounceRate, cfg.TorrentRate = 0, 0
	s, err := New(cfg, NewMemoryStore(DefaultMemoryConfig()))
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	const torrents, peers = 1000, 100
	queries := make([]string, torrents*peers)
	for i := range queries {
		t, p := i%torrents, (i/torrents)%peers
		var ih, id [20]byte
		binary.BigEndian.PutUint64(ih[:], uint64(t)*0x9E3779B97F4A7C15)
		copy(ih[8:], "trackerbench")
		copy(id[:], "-TB0001-")
		binary.BigEndian.PutUint64(id[12:], uint64(t*peers+p))
		queries[i] = fmt.Sprintf("info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0&left=%d&compact=1&numwant=50",
			url.QueryEscape(string(ih[:])), url.QueryEscape(string(id[:])), 1024+p, p%3)
	}
	req, err := http.NewRequest("GET", "http://127.0.0.1/announce", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.RemoteAddr = "127.0.0.1:40000"
	w := &benchWriter{h: http.Header{}}
	serve := func(q string) {
		req.URL.RawQuery = q
		clear(w.h)
		w.body.Reset()
		w.code = 0
		h.ServeHTTP(w, req)
	}
	for _, q := range queries { // every peer listed once, as after warm-up
		serve(q)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		serve(queries[int(uint32(i)*2654435761%uint32(len(queries)))])
		if w.code != 0 || !bytes.HasPrefix(w.body.Bytes(), []byte("d8:complete")) || bytes.Contains(w.body.Bytes(), []byte("failure")) {
			b.Fatalf("answer %d %q", w.code, w.body.Bytes())
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "announces/s")
}
