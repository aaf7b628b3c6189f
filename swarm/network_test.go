package swarm

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

// TestAnnounceFollowsMappedPort: once a port mapping opens, the torrent
// announces again at once with the gateway's port, long before its
// interval; when the mapping goes, it announces its own port again.
func TestAnnounceFollowsMappedPort(t *testing.T) {
	f := newFixture(t, 64<<10, interopFiles...)
	ports := make(chan int, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		p, _ := strconv.Atoi(q.Get("port"))
		select {
		case ports <- p:
		default:
		}
		w.Write([]byte("d8:intervali1800e5:peers0:e"))
	}))
	defer srv.Close()
	m := *f.m
	m.Trackers = [][]string{{srv.URL + "/announce"}}
	s := newTestSession(t)
	if _, err := s.Add(&m, DefaultTorrentConfig(f.dir)); err != nil {
		t.Fatal(err)
	}
	next := func() int {
		t.Helper()
		select {
		case p := <-ports:
			return p
		case <-time.After(10 * time.Second):
			t.Fatal("no announce within 10 s")
			return 0
		}
	}
	if p := next(); p != int(s.Port()) {
		t.Fatalf("first announce port %d, want %d", p, s.Port())
	}
	ext := s.Port() + 1000
	s.SetNetwork(NetworkSnapshot{Forwarding: "nat-pmp", ExternalIP: "198.51.100.9", ExternalPort: ext, PortOpen: true})
	if p := next(); p != int(ext) {
		t.Fatalf("announce after mapping: port %d, want %d", p, ext)
	}
	if n := s.Network(); n.ListenPort != s.Port() || n.ExternalPort != ext {
		t.Fatalf("network %+v", n)
	}
	s.SetNetwork(NetworkSnapshot{Forwarding: "no answer"})
	if p := next(); p != int(s.Port()) {
		t.Fatalf("announce after the mapping went: port %d, want %d", p, s.Port())
	}
}

// The extension handshake tells peers the port to reach us on: the
// gateway's once a mapping is open, as libtorrent does, so the peers they
// pass on through PEX can dial us.
func TestExtHandshakeCarriesMappedPort(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.s.SetNetwork(NetworkSnapshot{Forwarding: "upnp", ExternalIP: "203.0.113.7", ExternalPort: 51413, PortOpen: true})
	p := h.connect(peerOpts{})
	m := p.expect("an extension handshake", func(m *wire.Message) bool { return m.ID == wire.Extended && m.ExtID == 0 })
	eh, err := wire.ParseExtHandshake(m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if eh.P != 51413 {
		t.Fatalf("extension handshake says p=%d, want the mapped 51413", eh.P)
	}
}
