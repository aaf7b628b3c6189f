package tracker

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkUDPHandler runs the UDP announce path without sockets, as
// trackerbench's load looks: 1,000 torrents of 100 peers, a third of them
// seeds, numwant 50, 64 clients. It measures what shoal adds on top of
// the kernel's per-datagram work, and that it allocates nothing.
func BenchmarkUDPHandler(b *testing.B) {
	cfg := DefaultConfig()
	cfg.AnnounceRate, cfg.TorrentRate = 0, 0
	s, err := New(cfg, NewMemoryStore(DefaultMemoryConfig()))
	if err != nil {
		b.Fatal(err)
	}
	const torrents, peers, clients = 1000, 100, 64
	sc := s.newScratch()
	now := time.Now()
	from := make([]netip.AddrPort, clients)
	cids := make([]uint64, clients)
	for i := range from {
		from[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(40000+i))
		cids[i] = s.connID(sc, from[i], now.UnixNano()/int64(connIDWindow))
	}
	packet := func(n int) []byte {
		t, p := n%torrents, (n/torrents)%peers
		var ih, id [20]byte
		binary.BigEndian.PutUint64(ih[:], uint64(t)*0x9E3779B97F4A7C15)
		copy(id[:], fmt.Sprintf("-TB0001-%012d", t*peers+p))
		left := uint64(p % 3)
		pkt := binary.BigEndian.AppendUint64(nil, cids[n%clients])
		pkt = binary.BigEndian.AppendUint32(pkt, actionAnnounce)
		pkt = binary.BigEndian.AppendUint32(pkt, uint32(n))
		pkt = append(pkt, ih[:]...)
		pkt = append(pkt, id[:]...)
		pkt = binary.BigEndian.AppendUint64(pkt, 0)
		pkt = binary.BigEndian.AppendUint64(pkt, left)
		pkt = binary.BigEndian.AppendUint64(pkt, 0)
		pkt = binary.BigEndian.AppendUint32(pkt, 0)
		pkt = binary.BigEndian.AppendUint32(pkt, 0)
		pkt = binary.BigEndian.AppendUint32(pkt, 0)
		pkt = binary.BigEndian.AppendUint32(pkt, 50)
		return binary.BigEndian.AppendUint16(pkt, uint16(1024+p))
	}
	pkts := make([][]byte, torrents*peers)
	for i := range pkts {
		pkts[i] = packet(i)
	}
	out := make([]byte, 0, maxUDPPacket)
	for i, p := range pkts { // every peer listed once, as after warm-up
		s.handleUDP(sc, out[:0], p, from[i%clients], now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		j := int(uint32(i) * 2654435761 % uint32(len(pkts)))
		r := s.handleUDP(sc, out[:0], pkts[j], from[j%clients], now)
		if len(r) < 20 || binary.BigEndian.Uint32(r) != actionAnnounce {
			b.Fatalf("reply %x", r)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "announces/s")
}
