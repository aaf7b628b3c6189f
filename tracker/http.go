package tracker

import (
	"encoding/binary"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxScrapeHashes bounds one scrape request.
const maxScrapeHashes = 100

// Handler serves /announce, /scrape, /stats and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(s.cfg.AnnouncePath, s.httpAnnounce)
	mux.HandleFunc(s.cfg.AnnouncePath+"/", s.httpAnnounce)
	mux.HandleFunc(s.cfg.ScrapePath, s.httpScrape)
	mux.HandleFunc(s.cfg.ScrapePath+"/", s.httpScrape)
	mux.HandleFunc("/stats", s.httpStats)
	mux.Handle("/metrics", s.metricsHandler())
	return announceFirst{s: s, mux: mux}
}

// announceFirst hands announces straight to the handler, which is nearly
// every request a tracker gets, and everything else to the mux: walking
// the mux's patterns cost about a tenth of an announce's own work.
type announceFirst struct {
	s   *Server
	mux *http.ServeMux
}

func (a announceFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.s.isAnnouncePath(r.URL) {
		a.s.httpAnnounce(w, r)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// isAnnouncePath reports whether the mux would route u to httpAnnounce
// without a redirect: the announce path itself, or one clean element
// (a passkey) after it, with nothing escaped in the path.
func (s *Server) isAnnouncePath(u *url.URL) bool {
	rest, ok := strings.CutPrefix(u.Path, s.cfg.AnnouncePath)
	if !ok || u.RawPath != "" {
		return false
	}
	if rest == "" {
		return true
	}
	key, ok := strings.CutPrefix(rest, "/")
	return ok && key != "." && key != ".." && strings.IndexByte(key, '/') < 0
}

// passkey is the path element after the announce or scrape path.
func passkey(path, prefix string) string {
	return strings.Trim(strings.TrimPrefix(path, prefix), "/")
}

// clientAddr finds the announcing client's IP: the connection's, unless
// the operator trusts a proxy's header or the ip parameter (param, parsed
// by the caller).
func (s *Server) clientAddr(r *http.Request, param netip.Addr) (netip.Addr, bool) {
	if s.cfg.TrustForwardedFor {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if a, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
				return a.Unmap(), true
			}
		}
	}
	if s.cfg.TrustIPParam && param.IsValid() {
		return param.Unmap(), true
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

func (s *Server) httpFail(w http.ResponseWriter, reason string) {
	s.fail("http", reason)
	b := make([]byte, 0, 64)
	b = append(b, "d14:failure reason"...)
	b = appendString(b, reason)
	b = append(b, 'e')
	w.Header()["Content-Type"] = s.textPlain
	w.Write(b)
}

// httpScratch is one HTTP announce's reusable state, pooled between
// requests, so an announce allocates nothing of its own. Everything the
// store sees lives here: through its interface a local would escape.
type httpScratch struct {
	q     announceQuery
	req   AnnounceRequest
	peers []Peer
	// out is the answer: the peers go in after headRoom bytes, and the
	// keys before them, written in head, are moved in front once the
	// counts are known.
	out  []byte
	head [headRoom]byte
}

// headRoom is room for an answer's keys before its compact peers: at
// most 5 keys of up to 15 bytes with 20-digit numbers, and the peers
// key with its length, about 210 bytes.
const headRoom = 256

// bufferBeforeChunking is what net/http buffers before it must send a
// handler's answer chunked, for want of its length.
const bufferBeforeChunking = 2048

// writeAnswer sends b in one Write, with the headers every answer has.
func (s *Server) writeAnswer(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h["Content-Type"] = s.textPlain
	if len(b) > bufferBeforeChunking {
		// Longer than net/http waits for: say the length, or it would
		// chunk the answer.
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
	}
	w.Write(b)
}

func (s *Server) httpAnnounce(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	sc := s.httpBufs.Get().(*httpScratch)
	defer s.httpBufs.Put(sc)
	q := &sc.q
	if !parseAnnounceQuery(r.URL.RawQuery, s.cfg.TrustIPParam, q) {
		s.httpFail(w, "malformed query string")
		return
	}
	if q.numWantBad {
		s.httpFail(w, "numwant must be a number")
		return
	}
	f := q.fields(s.cfg.DefaultNumWant)
	f.IP, _ = s.clientAddr(r, q.ip)
	req, err := f.check(now)
	if err != nil {
		s.httpFail(w, err.Error())
		return
	}
	sc.req = req
	ip := f.IP
	key := passkey(r.URL.Path, s.cfg.AnnouncePath)
	if q.compact && ip.Is6() == (family(req.Peer.Addr) == 6) {
		// Peers straight from the store in wire form, when it can.
		out := append(sc.out[:0], make([]byte, headRoom)...)
		resp, out, ok, err := s.announceCompact(r.Context(), &sc.req, key, "http", out, sc.req.NumWant)
		if ok {
			sc.out = out[:0]
			if err != nil {
				s.httpFail(w, err.Error())
				return
			}
			s.writeAnswer(w, s.finishCompactAnnounce(&sc.head, resp, ip.Is6(), out))
			return
		}
	}
	sc.req.Buf = sc.peers[:0]
	resp, err := s.announce(r.Context(), &sc.req, key, "http")
	sc.peers = resp.Peers[:0]
	sc.req.Buf = nil
	if err != nil {
		s.httpFail(w, err.Error())
		return
	}
	sc.out = s.appendAnnounce(sc.out[:0], resp, ip.Is6(), q.compact, q.noPeerID)
	s.writeAnswer(w, sc.out)
}

// finishCompactAnnounce completes an answer whose compact peers follow
// headRoom bytes of out: the keys before them, written in hb, go in
// front, and the answer is the tail of out, byte for byte what
// appendAnnounce writes.
func (s *Server) finishCompactAnnounce(hb *[headRoom]byte, resp AnnounceResponse, v6 bool, out []byte) []byte {
	peers := len(out) - headRoom
	h := s.appendAnnounceHead(hb[:0], resp)
	if v6 {
		h = append(h, "5:peers0:"...)
		h = appendString(h, "peers6")
	} else {
		h = appendString(h, "peers")
	}
	h = strconv.AppendInt(h, int64(peers), 10)
	h = append(h, ':')
	out = append(out, 'e')
	if len(h) > headRoom { // unreachable with the numbers a store gives
		return append(h, out[headRoom:]...)
	}
	start := headRoom - len(h)
	copy(out[start:], h)
	return out[start:]
}

// appendAnnounceHead opens an announce answer with the keys before
// peers, in bencoding's sorted order.
func (s *Server) appendAnnounceHead(b []byte, resp AnnounceResponse) []byte {
	b = append(b, 'd')
	b = appendKeyInt(b, "complete", resp.Seeders)
	b = appendKeyInt(b, "downloaded", resp.Downloaded)
	b = appendKeyInt(b, "incomplete", resp.Leechers)
	b = appendKeyInt(b, "interval", int(s.cfg.Interval/time.Second))
	return appendKeyInt(b, "min interval", int(s.cfg.MinInterval/time.Second))
}

// appendAnnounce writes the bencoded response by hand (keys in sorted
// order), which is several times cheaper than reflection per announce.
func (s *Server) appendAnnounce(b []byte, resp AnnounceResponse, v6, compact, noPeerID bool) []byte {
	b = s.appendAnnounceHead(b, resp)
	switch {
	case !compact:
		b = appendString(b, "peers")
		b = append(b, 'l')
		for _, p := range resp.Peers {
			b = append(b, 'd')
			b = appendString(b, "ip")
			var ab [64]byte
			b = appendBytes(b, p.Addr.Addr().Unmap().AppendTo(ab[:0]))
			if !noPeerID {
				b = appendString(b, "peer id")
				b = appendBytes(b, p.ID[:])
			}
			b = appendKeyInt(b, "port", int(p.Addr.Port()))
			b = append(b, 'e')
		}
		b = append(b, 'e')
	case v6:
		// BEP 7: IPv6 peers go in peers6; peers stays for old parsers.
		b = append(b, "5:peers0:"...)
		b = appendString(b, "peers6")
		b = appendCompact(b, resp.Peers, 18)
	default:
		b = appendString(b, "peers")
		b = appendCompact(b, resp.Peers, 6)
	}
	return append(b, 'e')
}

func appendCompact(b []byte, peers []Peer, size int) []byte {
	b = strconv.AppendInt(b, int64(len(peers)*size), 10)
	b = append(b, ':')
	for _, p := range peers {
		b = appendPeer(b, p, size)
	}
	return b
}

// appendPeer writes a compact peer: 4 or 16 address bytes and a port.
func appendPeer(b []byte, p Peer, size int) []byte {
	a := p.Addr.Addr().Unmap()
	if size == 6 {
		a4 := a.As4()
		b = append(b, a4[:]...)
	} else {
		a16 := a.As16()
		b = append(b, a16[:]...)
	}
	return binary.BigEndian.AppendUint16(b, p.Addr.Port())
}

func appendString(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func appendBytes(b, v []byte) []byte {
	b = strconv.AppendInt(b, int64(len(v)), 10)
	b = append(b, ':')
	return append(b, v...)
}

func appendKeyInt(b []byte, key string, v int) []byte {
	b = appendString(b, key)
	b = append(b, 'i')
	b = strconv.AppendInt(b, int64(v), 10)
	return append(b, 'e')
}

func (s *Server) httpScrape(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.httpFail(w, "malformed query string")
		return
	}
	raw := q["info_hash"]
	if len(raw) == 0 {
		s.httpFail(w, "scrape needs at least one info_hash (full scrapes are not served)")
		return
	}
	if len(raw) > maxScrapeHashes {
		s.httpFail(w, "too many info_hash values")
		return
	}
	hashes := make([]InfoHash, len(raw))
	for i, h := range raw {
		if len(h) != 20 {
			s.httpFail(w, "info_hash must be 20 bytes")
			return
		}
		copy(hashes[i][:], h)
	}
	var from netip.Addr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		from, _ = netip.ParseAddr(host)
	}
	res, err := s.scrape(r.Context(), hashes, passkey(r.URL.Path, s.cfg.ScrapePath), "http", time.Now(), from)
	if err != nil {
		s.httpFail(w, err.Error())
		return
	}
	// BEP 48: d5:filesd<hash>d8:completei..e10:downloadedi..e10:incompletei..eee
	// with the hashes in sorted order, as bencoding requires.
	order := make([]int, len(hashes))
	for i := range order {
		order[i] = i
	}
	sortByHash(order, hashes)
	b := []byte("d5:filesd")
	var last *InfoHash
	for _, i := range order {
		if last != nil && *last == hashes[i] {
			continue // a repeated hash is listed once
		}
		last = &hashes[i]
		b = appendString(b, string(hashes[i][:]))
		b = append(b, 'd')
		b = appendKeyInt(b, "complete", res[i].Seeders)
		b = appendKeyInt(b, "downloaded", res[i].Downloaded)
		b = appendKeyInt(b, "incomplete", res[i].Leechers)
		b = append(b, 'e')
	}
	b = append(b, "ee"...)
	w.Header().Set("Content-Type", "text/plain")
	w.Write(b)
}

func sortByHash(order []int, hashes []InfoHash) {
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && string(hashes[order[j]][:]) < string(hashes[order[j-1]][:]); j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
}
