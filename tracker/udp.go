package tracker

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"net/netip"
	"runtime"
	"time"
	"unsafe"
)

// BEP 15 constants.
const (
	udpMagic       = 0x41727101980
	actionConnect  = 0
	actionAnnounce = 1
	actionScrape   = 2
	actionError    = 3
	// connIDWindow: a connection ID is accepted in the window it was
	// issued and the next, so it stays valid for at least this long.
	connIDWindow = 2 * time.Minute
	maxUDPPacket = 1500
)

// udpWorkers is one per P. A second worker on one P only takes a batch
// from the kernel to wait with it for the P the first is using.
func udpWorkers() int { return max(1, runtime.GOMAXPROCS(0)) }

// udpScratch is one UDP worker's reusable state: no allocation per packet.
type udpScratch struct {
	mac   cipher.Block // keyed with the server's secret, for connection IDs
	block [aes.BlockSize]byte
	peers []Peer
	req   AnnounceRequest
}

func (s *Server) newScratch() *udpScratch {
	b, err := aes.NewCipher(s.secret[:])
	if err != nil {
		panic(err) // unreachable: the key is 32 bytes
	}
	return &udpScratch{mac: b}
}

// connID derives a connection ID from the client's address and a time
// window under a per-process secret: nothing is stored per client, and a
// spoofed source address cannot obtain a valid ID. The MAC is AES
// CBC-MAC over two blocks, (window, port) then the address: the input
// has one fixed length, which makes CBC-MAC a pseudo-random function,
// and with AES in hardware it costs a small fraction of an HMAC, which
// every announce pays once or twice.
func (s *Server) connID(sc *udpScratch, addr netip.AddrPort, window int64) uint64 {
	b := &sc.block // a local would escape into Encrypt: an allocation
	*b = [aes.BlockSize]byte{}
	binary.BigEndian.PutUint64(b[:8], uint64(window))
	binary.BigEndian.PutUint16(b[8:], addr.Port())
	sc.mac.Encrypt(b[:], b[:])
	a := addr.Addr().Unmap().As16()
	for i := range b {
		b[i] ^= a[i]
	}
	sc.mac.Encrypt(b[:], b[:])
	return binary.BigEndian.Uint64(b[:8])
}

func (s *Server) validConnID(sc *udpScratch, id uint64, addr netip.AddrPort, now time.Time) bool {
	w := now.UnixNano() / int64(connIDWindow)
	return id == s.connID(sc, addr, w) || id == s.connID(sc, addr, w-1)
}

// udpBatch is how many datagrams one system call moves at most.
const udpBatch = 64

// handleUDP answers one packet into out (empty: drop it). It never
// panics on any input: every length is checked before it is read.
func (s *Server) handleUDP(sc *udpScratch, out, p []byte, from netip.AddrPort, now time.Time) []byte {
	if len(p) < 16 || len(p) > maxUDPPacket {
		s.failUDP("bad packet size")
		return out
	}
	cid := binary.BigEndian.Uint64(p[0:8])
	action := binary.BigEndian.Uint32(p[8:12])
	tid := binary.BigEndian.Uint32(p[12:16])
	if action == actionConnect {
		if cid != udpMagic {
			s.failUDP("bad protocol id")
			return out // not BitTorrent: drop rather than reflect
		}
		out = binary.BigEndian.AppendUint32(out, actionConnect)
		out = binary.BigEndian.AppendUint32(out, tid)
		return binary.BigEndian.AppendUint64(out, s.connID(sc, from, now.UnixNano()/int64(connIDWindow)))
	}
	if !s.validConnID(sc, cid, from, now) {
		return s.udpError(out, tid, "bad or expired connection id")
	}
	switch action {
	case actionAnnounce:
		return s.udpAnnounce(sc, out, p, from, tid, now)
	case actionScrape:
		return s.udpScrape(out, p, from, tid, now)
	}
	return s.udpError(out, tid, "unknown action")
}

func (s *Server) udpError(out []byte, tid uint32, msg string) []byte {
	s.failUDP(msg)
	out = binary.BigEndian.AppendUint32(out, actionError)
	out = binary.BigEndian.AppendUint32(out, tid)
	return append(out, msg...)
}

func (s *Server) udpAnnounce(sc *udpScratch, out, p []byte, from netip.AddrPort, tid uint32, now time.Time) []byte {
	// 98 bytes; anything after is BEP 41 URL data, which we tolerate.
	if len(p) < 98 {
		return s.udpError(out, tid, "announce too short")
	}
	// The two IDs are read in place: check copies them out, and f does
	// not outlive p. A string made by conversion would be two
	// allocations per announce.
	f := announceFields{InfoHash: unsafe.String(&p[16], 20), PeerID: unsafe.String(&p[36], 20),
		Downloaded: int64(binary.BigEndian.Uint64(p[56:64])), Left: int64(binary.BigEndian.Uint64(p[64:72])),
		Uploaded: int64(binary.BigEndian.Uint64(p[72:80])), Event: eventUnknown,
		NumWant: int(int32(binary.BigEndian.Uint32(p[92:96]))), Port: int64(binary.BigEndian.Uint16(p[96:98])), IP: from.Addr()}
	if ev := binary.BigEndian.Uint32(p[80:84]); ev <= uint32(EventStopped) {
		f.Event = Event(ev)
	}
	if s.cfg.TrustIPParam {
		if v := binary.BigEndian.Uint32(p[84:88]); v != 0 && f.IP.Is4() {
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], v)
			f.IP = netip.AddrFrom4(a)
		}
	}
	req, err := f.check(now)
	if err != nil {
		return s.udpError(out, tid, err.Error())
	}
	ip := f.IP
	// The request lives in the scratch: through the store's interface a
	// local one would escape, an allocation per announce.
	sc.req = req
	size := 6
	if ip.Is6() {
		size = 18
	}
	hdr := len(out)
	out = append(out, make([]byte, udpAnnounceHeader)...)
	// Keep the answer in one unfragmented datagram.
	limit := (maxUDPPacket - len(out)) / size
	var resp AnnounceResponse
	ok := false
	if (size == 18) == (family(sc.req.Peer.Addr) == 6) {
		resp, out, ok, err = s.announceCompact(context.Background(), &sc.req, "", "udp", out, limit)
	}
	if !ok {
		sc.req.Buf = sc.peers[:0]
		resp, err = s.announce(context.Background(), &sc.req, "", "udp")
		sc.peers = resp.Peers[:0]
		for _, pr := range resp.Peers[:min(len(resp.Peers), limit)] {
			out = appendPeer(out, pr, size)
		}
	}
	if err != nil {
		return s.udpError(out[:hdr], tid, err.Error())
	}
	h := out[hdr : hdr+udpAnnounceHeader]
	binary.BigEndian.PutUint32(h[0:], actionAnnounce)
	binary.BigEndian.PutUint32(h[4:], tid)
	binary.BigEndian.PutUint32(h[8:], uint32(s.cfg.Interval/time.Second))
	binary.BigEndian.PutUint32(h[12:], uint32(resp.Leechers))
	binary.BigEndian.PutUint32(h[16:], uint32(resp.Seeders))
	return out
}

// udpAnnounceHeader is the size of an announce answer before its peers.
const udpAnnounceHeader = 20

func (s *Server) udpScrape(out, p []byte, from netip.AddrPort, tid uint32, now time.Time) []byte {
	body := p[16:]
	if len(body) == 0 || len(body)%20 != 0 {
		return s.udpError(out, tid, "scrape needs whole infohashes")
	}
	hashes := make([]InfoHash, 0, len(body)/20)
	for i := 0; i+20 <= len(body) && len(hashes) < 74; i += 20 {
		hashes = append(hashes, InfoHash(body[i:i+20]))
	}
	res, err := s.scrape(context.Background(), hashes, "", "udp", now, from.Addr())
	if err != nil {
		return s.udpError(out, tid, err.Error())
	}
	out = binary.BigEndian.AppendUint32(out, actionScrape)
	out = binary.BigEndian.AppendUint32(out, tid)
	for _, r := range res {
		out = binary.BigEndian.AppendUint32(out, uint32(r.Seeders))
		out = binary.BigEndian.AppendUint32(out, uint32(r.Downloaded))
		out = binary.BigEndian.AppendUint32(out, uint32(r.Leechers))
	}
	return out
}
