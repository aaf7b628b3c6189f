package swarm

import (
	"net"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// TestLSDAnnouncementsIntroducePeers: the seeder listens where the
// leecher announces (a loopback address standing in for the multicast
// group, which loopback lacks), learns of the leecher and connects.
func TestLSDAnnouncementsIntroducePeers(t *testing.T) {
	l, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	group := l.LocalAddr().String()
	l.Close()
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "lsd.bin", Size: 1 << 20})
	startSeeder(t, f, func(c *SessionConfig) { c.LSD = &LSDConfig{Group: group, Listen: true} })
	leechS := newTestSession(t, func(c *SessionConfig) { c.LSD = &LSDConfig{Group: group} })
	dl := t.TempDir()
	tor := addTorrent(t, leechS, f.m, dl) // no peers, no trackers
	waitComplete(t, tor, 20*time.Second)
	sameContent(t, f, dl)
}

func TestParseLSD(t *testing.T) {
	port, hashes, cookie, err := parseLSD([]byte("BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: " +
		"c12fe1c06bba254a9dc9f519b335aa7c1367a88a\r\nInfohash: zz\r\ncookie: abc\r\n\r\n\r\n"))
	if err != nil || port != 6881 || len(hashes) != 1 || cookie != "abc" {
		t.Fatalf("%d %v %q %v", port, hashes, cookie, err)
	}
	for _, bad := range []string{"", "GET / HTTP/1.1\r\n\r\n", "BT-SEARCH * HTTP/1.1\r\nPort: 0\r\nInfohash: c12fe1c06bba254a9dc9f519b335aa7c1367a88a\r\n",
		"BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\n"} {
		if _, _, _, err := parseLSD([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseLSD(f *testing.F) {
	f.Add([]byte("BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: c12fe1c06bba254a9dc9f519b335aa7c1367a88a\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, hashes, _, err := parseLSD(b); err == nil && len(hashes) > 64 {
			t.Fatal("unbounded infohashes")
		}
	})
}
