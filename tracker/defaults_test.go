package tracker

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
)

// startDefaultTracker runs a tracker with the defaults an operator gets,
// only the addresses changed.
func startDefaultTracker(t *testing.T) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.HTTPAddr, cfg.UDPAddr = "127.0.0.1:0", "127.0.0.1:0"
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

// TestTrackerDefaultsServeBusyClientAndNAT: with the default limits, a
// client starting 200 torrents at once is served in full over HTTP and
// UDP, and so are 2,000 users behind one NAT address; a flood of one
// swarm from one address is still held back.
func TestTrackerDefaultsServeBusyClientAndNAT(t *testing.T) {
	s := startDefaultTracker(t)
	for i := range 200 {
		ih := fmt.Sprintf("busy-client-torr%04d", i)
		if m := HTTPGetBencode(t, announceURL(s, "/announce", ih, "-AA0001-busyclient01", 6881, "&event=started")); m["failure reason"] != nil {
			t.Fatalf("HTTP announce of torrent %d refused: %v", i, m["failure reason"])
		}
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.UDPAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cid := udpConnect(t, c)
	ok := func(r []byte) bool { return len(r) >= 20 && binary.BigEndian.Uint32(r[:4]) == actionAnnounce }
	for i := range 200 {
		ih := fmt.Sprintf("busy-udp-torrent%04d", i)
		if r := udpExchange(t, c, udpAnnouncePacket(cid, ih, "-AA0001-busyclient02", 6882, 50, nil)); !ok(r) {
			t.Fatalf("UDP announce of torrent %d refused: %q", i, r)
		}
	}
	// 2,000 users behind one address, 4 on each of 500 torrents.
	for u := range 2000 {
		ih, pid := fmt.Sprintf("nat-popular-tor%05d", u%500), fmt.Sprintf("-AA0001-nat-%08d", u)
		if r := udpExchange(t, c, udpAnnouncePacket(cid, ih, pid, uint16(10000+u), 50, nil)); !ok(r) {
			t.Fatalf("NAT user %d refused: %q", u, r)
		}
	}
	// One address stuffing one swarm with made-up peers is refused.
	refused := 0
	for i := range 200 {
		r := udpExchange(t, c, udpAnnouncePacket(cid, strings.Repeat("F", 20), fmt.Sprintf("-AA0001-fake%08d", i), 7000, 50, nil))
		if !ok(r) {
			refused++
		}
	}
	if refused < 100 {
		t.Fatalf("only %d of 200 rapid announces of one swarm from one address were refused", refused)
	}
}
