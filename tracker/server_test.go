package tracker

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	atracker "github.com/anacrolix/torrent/tracker"
)

func startTracker(t testing.TB, mod ...func(*Config)) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.HTTPAddr, cfg.UDPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.AnnounceRate, cfg.AnnounceBurst = 1000, 1000
	cfg.TorrentRate, cfg.TorrentBurst = 1000, 1000
	for _, f := range mod {
		f(&cfg)
	}
	s, err := New(cfg, NewMemoryStore(DefaultMemoryConfig()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testHash(s string) (h [20]byte) { copy(h[:], s); return }

// anacrolixAnnounce announces with anacrolix's tracker client, always
// under a deadline (its UDP client retries until the context ends).
func anacrolixAnnounce(t testing.TB, u string, ih [20]byte, peer string, port uint16, left int64, ev atracker.AnnounceEvent) (atracker.AnnounceResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return atracker.Announce{
		TrackerUrl: u, Context: ctx,
		Request: atracker.AnnounceRequest{InfoHash: ih, PeerId: testHash(peer), Port: port, Left: left, Event: ev, NumWant: 50},
	}.Do()
}

func TestAnnounceWithAnacrolixClient(t *testing.T) {
	s := startTracker(t)
	for _, u := range []string{
		"http://" + s.HTTPAddr().String() + "/announce",
		"udp://" + s.UDPAddr().String() + "/announce",
	} {
		t.Run(strings.Split(u, ":")[0], func(t *testing.T) {
			ih := testHash("torrent via " + u[:4])
			if _, err := anacrolixAnnounce(t, u, ih, "-AA0001-seederseeder", 5001, 0, atracker.Started); err != nil {
				t.Fatal(err)
			}
			res, err := anacrolixAnnounce(t, u, ih, "-AA0001-leecherleech", 5002, 100, atracker.Started)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Peers) != 1 || res.Peers[0].Port != 5001 || res.Seeders != 1 || res.Leechers != 1 || res.Interval != 1800 {
				t.Fatalf("response %+v", res)
			}
			if _, err := anacrolixAnnounce(t, u, ih, "-AA0001-leecherleech", 5002, 100, atracker.Stopped); err != nil {
				t.Fatal(err)
			}
			res, _ = anacrolixAnnounce(t, u, ih, "-AA0001-seederseeder", 5001, 0, atracker.None)
			if res.Leechers != 0 || res.Seeders != 1 {
				t.Fatalf("after stopped: %+v", res)
			}
		})
	}
}

// HTTPGetBencode fetches u and decodes its bencoded body; exported (in a
// test file) so the external tracker_test package shares it.
func HTTPGetBencode(t testing.TB, u string) map[string]any {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := bencode.Unmarshal(body, &m); err != nil {
		t.Fatalf("response is not bencode: %q", body)
	}
	return m
}

func announceURL(s *Server, path string, ih, peer string, port int, extra string) string {
	return fmt.Sprintf("http://%s%s?info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0&left=10%s",
		s.HTTPAddr(), path, url.QueryEscape(ih), url.QueryEscape(peer), port, extra)
}

func TestHTTPNonCompactScrapeAndStats(t *testing.T) {
	s := startTracker(t)
	ih := strings.Repeat("\xff", 20)
	HTTPGetBencode(t, announceURL(s, "/announce", ih, "-AA0001-aaaaaaaaaaaa", 7001, "&event=started"))
	m := HTTPGetBencode(t, announceURL(s, "/announce", ih, "-AA0001-bbbbbbbbbbbb", 7002, "&compact=0"))
	peers, ok := m["peers"].([]any)
	if !ok || len(peers) != 1 {
		t.Fatalf("non-compact peers: %v", m)
	}
	p := peers[0].(map[string]any)
	if p["ip"] != "127.0.0.1" || p["port"] != int64(7001) || p["peer id"] != "-AA0001-aaaaaaaaaaaa" {
		t.Fatalf("peer %v", p)
	}
	if m["min interval"] != int64(300) || m["incomplete"] != int64(2) {
		t.Fatalf("response %v", m)
	}
	sc := HTTPGetBencode(t, fmt.Sprintf("http://%s/scrape?info_hash=%s", s.HTTPAddr(), url.QueryEscape(ih)))
	files := sc["files"].(map[string]any)
	if f := files[ih].(map[string]any); f["incomplete"] != int64(2) || f["complete"] != int64(0) {
		t.Fatalf("scrape %v", sc)
	}
	resp, err := http.Get("http://" + s.HTTPAddr().String() + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Torrents != 1 || st.Leechers != 2 {
		t.Fatalf("stats %+v", st)
	}
	resp, _ = http.Get("http://" + s.HTTPAddr().String() + "/metrics")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `shoal_tracker_announces_total{proto="http"} 2`) {
		t.Fatalf("metrics lack the announce count:\n%.500s", body)
	}
}

func TestHTTPBadInputGetsFailureReason(t *testing.T) {
	s := startTracker(t)
	ok := strings.Repeat("a", 20)
	cases := map[string]string{
		"short info_hash":   announceURL(s, "/announce", "abc", ok, 1, ""),
		"long peer_id":      announceURL(s, "/announce", ok, ok+"x", 1, ""),
		"no port":           fmt.Sprintf("http://%s/announce?info_hash=%s&peer_id=%s&left=1", s.HTTPAddr(), ok, ok),
		"port 0":            announceURL(s, "/announce", ok, ok, 0, ""),
		"negative left":     strings.Replace(announceURL(s, "/announce", ok, ok, 1, ""), "left=10", "left=-1", 1),
		"malformed escapes": fmt.Sprintf("http://%s/announce?info_hash=%%zz%%&peer_id=x", s.HTTPAddr()),
		"bad event":         announceURL(s, "/announce", ok, ok, 1, "&event=exploded"),
		"bad numwant":       announceURL(s, "/announce", ok, ok, 1, "&numwant=lots"),
		"empty scrape":      fmt.Sprintf("http://%s/scrape", s.HTTPAddr()),
	}
	for name, u := range cases {
		t.Run(name, func(t *testing.T) {
			if m := HTTPGetBencode(t, u); m["failure reason"] == nil {
				t.Fatalf("no failure reason: %v", m)
			}
		})
	}
	// A huge numwant is capped, not refused.
	for i := range 300 {
		HTTPGetBencode(t, announceURL(s, "/announce", ok, fmt.Sprintf("-AA0001-%012d", i), 1000+i, ""))
	}
	m := HTTPGetBencode(t, announceURL(s, "/announce", ok, "-AA0001-zzzzzzzzzzzz", 9, "&numwant=999999999"))
	if peers := m["peers"].(string); len(peers) != 200*6 {
		t.Fatalf("numwant cap: %d peers", len(peers)/6)
	}
}

// udpExchange sends one packet and returns the answer, or nil after a
// short wait when the tracker drops it.
func udpExchange(t testing.TB, c *net.UDPConn, p []byte) []byte {
	t.Helper()
	if _, err := c.Write(p); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

func udpConnect(t testing.TB, c *net.UDPConn) uint64 {
	p := binary.BigEndian.AppendUint64(nil, udpMagic)
	p = binary.BigEndian.AppendUint32(p, actionConnect)
	p = binary.BigEndian.AppendUint32(p, 42)
	r := udpExchange(t, c, p)
	if len(r) != 16 || binary.BigEndian.Uint32(r[4:8]) != 42 {
		t.Fatalf("connect answer %x", r)
	}
	return binary.BigEndian.Uint64(r[8:])
}

func udpAnnouncePacket(cid uint64, ih, peer string, port uint16, numwant int32, tail []byte) []byte {
	p := binary.BigEndian.AppendUint64(nil, cid)
	p = binary.BigEndian.AppendUint32(p, actionAnnounce)
	p = binary.BigEndian.AppendUint32(p, 7)
	p = append(p, ih...)
	p = append(p, peer...)
	p = append(p, make([]byte, 24)...) // downloaded, left, uploaded
	p = binary.BigEndian.AppendUint32(p, 2)
	p = append(p, make([]byte, 8)...) // ip, key
	p = binary.BigEndian.AppendUint32(p, uint32(numwant))
	p = binary.BigEndian.AppendUint16(p, port)
	return append(p, tail...)
}

func TestUDPBadInput(t *testing.T) {
	s := startTracker(t)
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.UDPAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	isError := func(r []byte) bool { return len(r) >= 8 && binary.BigEndian.Uint32(r[:4]) == actionError }
	ih, pid := strings.Repeat("i", 20), strings.Repeat("p", 20)

	// Dropped silently: too short, too long, not BitTorrent.
	for _, p := range [][]byte{{1, 2, 3}, make([]byte, 4000), append(make([]byte, 8), make([]byte, 8)...)} {
		if r := udpExchange(t, c, p); r != nil {
			t.Fatalf("answered %d-byte junk with %x", len(p), r)
		}
	}
	// Spoofed and expired connection IDs get an error.
	if r := udpExchange(t, c, udpAnnouncePacket(12345, ih, pid, 1, 10, nil)); !isError(r) {
		t.Fatalf("spoofed connection id: %x", r)
	}
	old := s.connID(s.newScratch(), netip.MustParseAddrPort(c.LocalAddr().String()), time.Now().Add(-10*time.Minute).UnixNano()/int64(connIDWindow))
	if r := udpExchange(t, c, udpAnnouncePacket(old, ih, pid, 1, 10, nil)); !isError(r) {
		t.Fatalf("expired connection id: %x", r)
	}
	cid := udpConnect(t, c)
	if r := udpExchange(t, c, udpAnnouncePacket(cid, ih, pid, 1, 10, nil)[:60]); !isError(r) {
		t.Fatalf("truncated announce: %x", r)
	}
	if r := udpExchange(t, c, append(udpAnnouncePacket(cid, ih, pid, 1, 10, nil)[:16], 1, 2, 3)); !isError(r) {
		t.Fatalf("ragged scrape: %x", r)
	}
	// BEP 41 URL data is tolerated; a huge numwant still fits one packet.
	r := udpExchange(t, c, udpAnnouncePacket(cid, ih, pid, 6881, 1<<30, []byte{2, 9, '/', 'a', 'n', 'n', 'o', 'u', 'n', 'c', 'e', 0}))
	if len(r) < 20 || binary.BigEndian.Uint32(r[:4]) != actionAnnounce {
		t.Fatalf("announce with URL data: %x", r)
	}
	// And it still serves everyone.
	if _, err := anacrolixAnnounce(t, "udp://"+s.UDPAddr().String(), testHash(ih), "-AA0001-stillhereok", 5, 1, atracker.Started); err != nil {
		t.Fatal(err)
	}
}

func FuzzUDPHandler(f *testing.F) {
	s, err := New(func() Config {
		c := DefaultConfig()
		c.AnnounceRate, c.AnnounceBurst, c.TorrentRate, c.TorrentBurst = 1e9, 1e9, 1e9, 1e9
		return c
	}(), NewMemoryStore(DefaultMemoryConfig()))
	if err != nil {
		f.Fatal(err)
	}
	from := netip.MustParseAddrPort("127.0.0.1:1234")
	sc := s.newScratch()
	cid := s.connID(sc, from, time.Now().UnixNano()/int64(connIDWindow))
	f.Add(udpAnnouncePacket(cid, strings.Repeat("i", 20), strings.Repeat("p", 20), 1, 10, nil))
	f.Add(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, cid), actionScrape))
	f.Fuzz(func(t *testing.T, p []byte) {
		out := s.handleUDP(sc, nil, p, from, time.Now())
		if len(out) > maxUDPPacket {
			t.Fatalf("answer of %d bytes", len(out))
		}
	})
}

func TestPrivateModeAndAllowlistReload(t *testing.T) {
	dir := t.TempDir()
	keys, allow := filepath.Join(dir, "passkeys"), filepath.Join(dir, "allow")
	os.WriteFile(keys, []byte("# members\nsecretkey1\n"), 0o600)
	okHash := strings.Repeat("\x01", 20)
	os.WriteFile(allow, []byte(fmt.Sprintf("%x\n", okHash)), 0o600)
	s := startTracker(t, func(c *Config) { c.Private, c.PasskeysFile, c.AllowlistFile = true, keys, allow })
	peer := "-AA0001-aaaaaaaaaaaa"
	if m := HTTPGetBencode(t, announceURL(s, "/announce/secretkey1", okHash, peer, 1, "")); m["failure reason"] != nil {
		t.Fatalf("known passkey refused: %v", m)
	}
	if m := HTTPGetBencode(t, announceURL(s, "/announce/wrong", okHash, peer, 1, "")); m["failure reason"] == nil {
		t.Fatal("unknown passkey accepted")
	}
	other := strings.Repeat("\x02", 20)
	if m := HTTPGetBencode(t, announceURL(s, "/announce/secretkey1", other, peer, 1, "")); m["failure reason"] == nil {
		t.Fatal("torrent outside the allowlist accepted")
	}
	os.WriteFile(allow, []byte(fmt.Sprintf("%x\n%x\n", okHash, other)), 0o600)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if m := HTTPGetBencode(t, announceURL(s, "/announce/secretkey1", other, peer, 1, "")); m["failure reason"] != nil {
		t.Fatalf("reloaded allowlist not in force: %v", m)
	}
	// The first swarm survived the reload.
	m := HTTPGetBencode(t, announceURL(s, "/announce/secretkey1", okHash, "-AA0001-bbbbbbbbbbbb", 2, ""))
	if len(m["peers"].(string)) != 6 {
		t.Fatalf("swarm lost on reload: %v", m)
	}
	os.WriteFile(allow, []byte("not hex\n"), 0o600)
	if err := s.Reload(); err == nil {
		t.Fatal("a broken allowlist was accepted")
	}
	if m := HTTPGetBencode(t, announceURL(s, "/announce/secretkey1", other, peer, 1, "")); m["failure reason"] != nil {
		t.Fatal("a failed reload dropped the lists in force")
	}
}

func TestPerIPRateLimit(t *testing.T) {
	s := startTracker(t, func(c *Config) { c.AnnounceRate, c.AnnounceBurst = 1, 3 })
	ok := strings.Repeat("r", 20)
	refused := 0
	for i := range 10 {
		if m := HTTPGetBencode(t, announceURL(s, "/announce", ok, fmt.Sprintf("-AA0001-%012d", i), 1, "")); m["failure reason"] != nil {
			refused++
		}
	}
	if refused < 6 {
		t.Fatalf("only %d of 10 rapid announces refused with a burst of 3", refused)
	}
}
