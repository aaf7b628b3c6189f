package tracker

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"
)

// TestTrackerOneValidationForBothFrontEnds: an announce HTTP refuses is
// refused over UDP too, with the same reason, and stores nothing.
func TestTrackerOneValidationForBothFrontEnds(t *testing.T) {
	s := startTracker(t)
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.UDPAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cid := udpConnect(t, c)
	ih, pid := strings.Repeat("n", 20), strings.Repeat("q", 20)
	for _, f := range []struct {
		name string
		off  int // offset of the 64-bit field in a BEP 15 announce
	}{{"downloaded", 56}, {"left", 64}, {"uploaded", 72}} {
		t.Run(f.name, func(t *testing.T) {
			sent := map[string]string{"downloaded": "downloaded=0", "left": "left=10", "uploaded": "uploaded=0"}[f.name]
			httpURL := strings.Replace(announceURL(s, "/announce", ih, pid, 6881, ""), sent, f.name+"=-1", 1)
			m := HTTPGetBencode(t, httpURL)
			httpReason, _ := m["failure reason"].(string)
			if httpReason == "" {
				t.Fatalf("HTTP accepted %s=-1: %v", f.name, m)
			}
			p := udpAnnouncePacket(cid, ih, pid, 6881, 10, nil)
			binary.BigEndian.PutUint64(p[f.off:], ^uint64(0)) // -1
			r := udpExchange(t, c, p)
			if len(r) < 8 || binary.BigEndian.Uint32(r[:4]) != actionError {
				t.Fatalf("UDP accepted %s=-1: %x", f.name, r)
			}
			if got := string(r[8:]); got != httpReason {
				t.Fatalf("UDP says %q, HTTP says %q", got, httpReason)
			}
		})
	}
	if sc, _ := s.store.Scrape(t.Context(), []InfoHash{InfoHash([]byte(ih))}, s.started); sc[0].Leechers+sc[0].Seeders != 0 {
		t.Fatalf("a refused announce was stored: %+v", sc[0])
	}
}
