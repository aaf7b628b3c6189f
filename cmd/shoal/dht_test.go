package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/shoal-torrent/shoal/piece/meta"
)

// TestMagnetOverPrivateDHT: a DHT of our own on loopback (shoal dht as
// its bootstrap node), a seeder in it, and a leecher holding only the
// infohash.
func TestMagnetOverPrivateDHT(t *testing.T) {
	boot := startShoalUntil(t, regexp.MustCompile(`udp port (\d+)`), "dht", "--port", "0", "--state-dir", t.TempDir(), "--report", "1h")
	bootAddr := "127.0.0.1:" + boot.port
	src, tor := seedFixture(t, 1<<20, "32KiB")
	startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir(), "--dht-bootstrap", bootAddr)
	m, err := meta.Load(tor)
	if err != nil {
		t.Fatal(err)
	}
	link := fmt.Sprintf("magnet:?xt=urn:btih:%s", m.InfoHash.HexString())
	dl := t.TempDir()
	code, stdout, stderr := shoal(t, "get", link, "--dir", dl, "--no-seed", "--port", "0", "--state-dir", t.TempDir(), "--dht-bootstrap", bootAddr)
	if code != 0 || !strings.Contains(stdout, "download complete") {
		t.Fatalf("get by infohash over the DHT: %d\n%s\n%s", code, stdout, stderr)
	}
	if code, out, _ := shoal(t, "verify", tor, "--dir", dl); code != 0 {
		t.Fatalf("data does not verify:\n%s", out)
	}
}
