package tracker

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
)

// announceFrom sends an announce from addr through the handler and
// decodes the answer.
func announceFrom(t *testing.T, h http.Handler, addr, ih, peer string, port int, extra string) map[string]any {
	t.Helper()
	req := httptest.NewRequest("GET", fmt.Sprintf("http://tracker/announce?info_hash=%s&peer_id=%s&port=%d&left=10%s",
		url.QueryEscape(ih), url.QueryEscape(peer), port, extra), nil)
	req.RemoteAddr = addr
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var m map[string]any
	if err := bencode.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer %q: %v", w.Body.Bytes(), err)
	}
	if m["failure reason"] != nil {
		t.Fatalf("refused: %v", m["failure reason"])
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/plain" {
		t.Errorf("Content-Type %q", ct)
	}
	return m
}

// TestHTTPAnswerForms: what real clients ask for is answered in the form
// they asked: compact IPv4 in peers, compact IPv6 in peers6 (BEP 7) with
// an empty peers, dictionaries with compact=0, and no peer id with
// no_peer_id=1.
func TestHTTPAnswerForms(t *testing.T) {
	s, err := New(DefaultConfig(), NewMemoryStore(DefaultMemoryConfig()))
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	ih := strings.Repeat("\x07", 20)
	announceFrom(t, h, "10.0.0.1:1000", ih, "-AA0001-v4v4v4v4v4v4", 6001, "")
	announceFrom(t, h, "[2001:db8::1]:1000", ih, "-AA0001-v6v6v6v6v6v6", 6002, "")

	m := announceFrom(t, h, "10.0.0.2:1000", ih, "-AA0001-asker4asker4", 7001, "&compact=1")
	if m["peers"] != "\x0a\x00\x00\x01\x17\x71" || m["peers6"] != nil {
		t.Errorf("compact IPv4: %q", m)
	}
	m = announceFrom(t, h, "[2001:db8::2]:1000", ih, "-AA0001-asker6asker6", 7002, "")
	a16 := netip.MustParseAddr("2001:db8::1").As16()
	if m["peers"] != "" || m["peers6"] != string(a16[:])+"\x17\x72" {
		t.Errorf("compact IPv6: %q", m)
	}
	m = announceFrom(t, h, "10.0.0.2:1000", ih, "-AA0001-asker4asker4", 7001, "&compact=0")
	want := []any{map[string]any{"ip": "10.0.0.1", "peer id": "-AA0001-v4v4v4v4v4v4", "port": int64(6001)}}
	if fmt.Sprint(m["peers"]) != fmt.Sprint(want) {
		t.Errorf("compact=0: %v, want %v", m["peers"], want)
	}
	m = announceFrom(t, h, "[2001:db8::2]:1000", ih, "-AA0001-asker6asker6", 7002, "&compact=0&no_peer_id=1")
	want = []any{map[string]any{"ip": "2001:db8::1", "port": int64(6002)}}
	if fmt.Sprint(m["peers"]) != fmt.Sprint(want) {
		t.Errorf("compact=0&no_peer_id=1 over IPv6: %v, want %v", m["peers"], want)
	}
	if m["complete"] != int64(0) || m["incomplete"] != int64(2) || m["interval"] != int64(1800) || m["min interval"] != int64(300) {
		t.Errorf("counts: %v", m)
	}
}

// TestHTTPLongAnswerIsNotChunked: an answer longer than net/http buffers
// goes out with its Content-Length, not chunked, as the short ones do:
// a tracker client need not speak chunked encoding.
func TestHTTPLongAnswerIsNotChunked(t *testing.T) {
	s := startTracker(t)
	ih := strings.Repeat("\x08", 20)
	for i := range 60 {
		HTTPGetBencode(t, announceURL(s, "/announce", ih, fmt.Sprintf("-AA0001-%012d", i), 1000+i, ""))
	}
	resp, err := http.Get(announceURL(s, "/announce", ih, "-AA0001-zzzzzzzzzzzz", 9, "&compact=0&numwant=60"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(body) <= bufferBeforeChunking {
		t.Fatalf("answer of %d bytes is not long enough to test", len(body))
	}
	if len(resp.TransferEncoding) != 0 || resp.ContentLength != int64(len(body)) {
		t.Errorf("answer of %d bytes sent with Transfer-Encoding %v, Content-Length %d", len(body), resp.TransferEncoding, resp.ContentLength)
	}
}

// TestAnnouncePathRoutesAsTheMux: what announceFirst takes for an
// announce is what the mux routes to the announce handler, with or
// without a passkey, and never a path the mux would clean or redirect.
func TestAnnouncePathRoutesAsTheMux(t *testing.T) {
	s, err := New(DefaultConfig(), NewMemoryStore(DefaultMemoryConfig()))
	if err != nil {
		t.Fatal(err)
	}
	mux := s.Handler().(announceFirst).mux
	for _, target := range []string{
		"/announce", "/announce/", "/announce/key", "/announce/key/", "/announce/a/b", "/announce/.", "/announce/..",
		"/announce/../stats", "/announce//", "//announce", "/announcex", "/announc%65", "/announce/k%2Fy", "/announce/%6B",
		"/scrape", "/stats", "/", "/announce?x=/", "/announce/.key", "/announce/key.",
	} {
		r := httptest.NewRequest("GET", "http://tracker"+target, nil)
		_, pattern := mux.Handler(r)
		// The mux's own test for a redirect: its handler's pattern is
		// empty or its path differs from the cleaned one.
		h, _ := mux.Handler(r)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		routed := (pattern == "/announce" || pattern == "/announce/") && w.Code == http.StatusOK
		got := s.isAnnouncePath(r.URL)
		if got && !routed {
			t.Errorf("%s: taken as an announce, but the mux gives pattern %q, status %d", target, pattern, w.Code)
		}
		// What clients send must take the fast path; the rest the mux
		// routes as it always did.
		if common := slices.Contains([]string{"/announce", "/announce/", "/announce/key", "/announce/.key", "/announce/key."}, target); common && !got {
			t.Errorf("%s: not taken as an announce", target)
		}
	}
}
