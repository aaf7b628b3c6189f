package tracker

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
)

// FuzzHTTPHandler sends arbitrary paths and query strings to the HTTP
// front-end: every answer is a well-formed bencoded dictionary (a peer
// list or a failure reason), never a panic.
func FuzzHTTPHandler(f *testing.F) {
	c := DefaultConfig()
	s, err := New(c, NewMemoryStore(DefaultMemoryConfig()))
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	f.Add("/announce", "info_hash="+strings.Repeat("%01", 20)+"&peer_id="+strings.Repeat("a", 20)+"&port=6881&left=0&compact=1")
	f.Add("/announce", "info_hash=x&port=-1&left=-5&numwant=999999999999999999999&event=started&ip=::1")
	f.Add("/scrape", "info_hash="+strings.Repeat("%02", 20)+"&info_hash=short")
	f.Add("/announce/key", "info_hash=%zz&peer_id=%")
	f.Add("/announce", "info%5Fhash="+strings.Repeat("%AB", 20)+"&peer_id="+strings.Repeat("b", 20)+"&port=%2B1&left=0&compact=0&no_peer_id=%31")
	f.Add("/announce", "info_hash="+strings.Repeat("%ab", 20)+"&peer_id="+strings.Repeat("c", 20)+"&port=9&left=9223372036854775808&numwant=+5")
	f.Add("/announce", "info_hash="+strings.Repeat("%ab", 20)+"&peer_id="+strings.Repeat("c", 20)+"&port=9&left=1&numwant=200&event=st%61rted&info_hash=x")
	f.Fuzz(func(t *testing.T, path, query string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n?#") || strings.ContainsAny(query, " \r\n#") {
			return // not something an HTTP client can send
		}
		if _, err := url.ParseRequestURI(path + "?" + query); err != nil {
			return
		}
		req := httptest.NewRequest("GET", "http://127.0.0.1"+path+"?"+query, nil)
		req.RemoteAddr = "127.0.0.1:40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			return // unknown paths are plain 404s
		}
		var m map[string]any
		if err := bencode.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s?%s: answer is not a bencoded dictionary: %v (%q)", path, query, err, w.Body.String())
		}
	})
}
