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
	return mux
}

// passkey is the path element after the announce or scrape path.
func passkey(path, prefix string) string {
	return strings.Trim(strings.TrimPrefix(path, prefix), "/")
}

// clientAddr finds the announcing client's IP: the connection's, unless
// the operator trusts a proxy's header or the ip parameter.
func (s *Server) clientAddr(r *http.Request, q url.Values) (netip.Addr, bool) {
	if s.cfg.TrustForwardedFor {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first := strings.TrimSpace(strings.Split(xff, ",")[0])
			if a, err := netip.ParseAddr(first); err == nil {
				return a.Unmap(), true
			}
		}
	}
	if s.cfg.TrustIPParam {
		if a, err := netip.ParseAddr(q.Get("ip")); err == nil {
			return a.Unmap(), true
		}
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
	w.Header().Set("Content-Type", "text/plain")
	w.Write(b)
}

func (s *Server) httpAnnounce(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.httpFail(w, "malformed query string")
		return
	}
	// Numbers that do not parse become -1 (port 0), which check refuses
	// with the same words UDP gets.
	num := func(k string, missing int64) int64 {
		v := q.Get(k)
		if v == "" {
			return missing
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return -1
		}
		return n
	}
	f := announceFields{InfoHash: q.Get("info_hash"), PeerID: q.Get("peer_id"), Port: max(num("port", 0), 0),
		Left: num("left", -1), Uploaded: num("uploaded", 0), Downloaded: num("downloaded", 0), NumWant: s.cfg.DefaultNumWant}
	switch q.Get("event") {
	case "", "empty", "paused":
	case "started":
		f.Event = EventStarted
	case "completed":
		f.Event = EventCompleted
	case "stopped":
		f.Event = EventStopped
	default:
		f.Event = eventUnknown
	}
	if v := q.Get("numwant"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.httpFail(w, "numwant must be a number")
			return
		}
		f.NumWant = n
	}
	f.IP, _ = s.clientAddr(r, q)
	req, err := f.check(now)
	if err != nil {
		s.httpFail(w, err.Error())
		return
	}
	ip := f.IP
	compact := q.Get("compact") != "0"
	key := passkey(r.URL.Path, s.cfg.AnnouncePath)
	if compact && ip.Is6() == (family(req.Peer.Addr) == 6) {
		// Peers straight from the store in wire form, when it can.
		buf := s.compactBufs.Get().(*[]byte)
		defer s.compactBufs.Put(buf)
		resp, peers, ok, err := s.announceCompact(r.Context(), &req, key, "http", (*buf)[:0], req.NumWant)
		*buf = peers[:0]
		if ok {
			if err != nil {
				s.httpFail(w, err.Error())
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			w.Write(s.encodeCompactAnnounce(resp, ip.Is6(), peers))
			return
		}
	}
	resp, err := s.announce(r.Context(), &req, key, "http")
	if err != nil {
		s.httpFail(w, err.Error())
		return
	}
	noPeerID := q.Get("no_peer_id") == "1"
	w.Header().Set("Content-Type", "text/plain")
	w.Write(s.encodeAnnounce(resp, ip.Is6(), compact, noPeerID))
}

// encodeCompactAnnounce is encodeAnnounce for peers already in compact
// form, byte for byte the same answer.
func (s *Server) encodeCompactAnnounce(resp AnnounceResponse, v6 bool, peers []byte) []byte {
	b := make([]byte, 0, 128+len(peers))
	b = s.appendAnnounceHead(b, resp)
	if v6 {
		b = append(b, "5:peers0:"...)
		b = appendString(b, "peers6")
	} else {
		b = appendString(b, "peers")
	}
	b = strconv.AppendInt(b, int64(len(peers)), 10)
	b = append(b, ':')
	b = append(b, peers...)
	return append(b, 'e')
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

// encodeAnnounce writes the bencoded response by hand (keys in sorted
// order), which is several times cheaper than reflection per announce.
func (s *Server) encodeAnnounce(resp AnnounceResponse, v6, compact, noPeerID bool) []byte {
	b := make([]byte, 0, 128+len(resp.Peers)*20)
	b = s.appendAnnounceHead(b, resp)
	switch {
	case !compact:
		b = appendString(b, "peers")
		b = append(b, 'l')
		for _, p := range resp.Peers {
			b = append(b, 'd')
			b = appendString(b, "ip")
			b = appendString(b, p.Addr.Addr().Unmap().String())
			if !noPeerID {
				b = appendString(b, "peer id")
				b = appendString(b, string(p.ID[:]))
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
