package swarm

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// TestAllowedFastSetMatchesBEP6 checks the example given in BEP 6.
func TestAllowedFastSetMatchesBEP6(t *testing.T) {
	var ih [20]byte
	for i := range ih {
		ih[i] = 0xaa
	}
	ip := netip.MustParseAddr("80.4.4.200")
	if got, want := allowedFastSet(ip, ih, 1313, 7), []uint32{1059, 431, 808, 1217, 287, 376, 1188}; !slices.Equal(got, want) {
		t.Fatalf("k=7: %v, want %v", got, want)
	}
	if got, want := allowedFastSet(ip, ih, 1313, 9), []uint32{1059, 431, 808, 1217, 287, 376, 1188, 353, 508}; !slices.Equal(got, want) {
		t.Fatalf("k=9: %v, want %v", got, want)
	}
	if allowedFastSet(netip.MustParseAddr("::1"), ih, 10, 5) != nil {
		t.Fatal("BEP 6 defines no set for IPv6")
	}
}

func TestIPv6Transfer(t *testing.T) {
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skip("no IPv6 loopback on this machine:", err)
	} else {
		ln.Close()
	}
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "v6.bin", Size: 1 << 20})
	v6 := func(c *SessionConfig) { c.ListenAddr = "[::1]:0" }
	seedS, _ := startSeeder(t, f, v6)
	leechS := newTestSession(t, v6)
	dl := t.TempDir()
	leecher := addTorrent(t, leechS, f.m, dl, seedS.Addr())
	waitComplete(t, leecher, 20*time.Second)
	sameContent(t, f, dl)
	if a := seedS.Addr(); !a.Addr().Is6() {
		t.Fatalf("seeder listens on %v", a)
	}
}
