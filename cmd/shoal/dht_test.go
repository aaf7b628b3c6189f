package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/krpc"

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

// TestMagnetOverPrivateDHTWithStaleTable: the state directory holds a
// routing table from an earlier run whose nodes are all gone; the
// --dht-bootstrap node given must still be asked, and the magnet found.
func TestMagnetOverPrivateDHTWithStaleTable(t *testing.T) {
	boot := startShoalUntil(t, regexp.MustCompile(`udp port (\d+)`), "dht", "--port", "0", "--state-dir", t.TempDir(), "--report", "1h")
	bootAddr := "127.0.0.1:" + boot.port
	src, tor := seedFixture(t, 1<<20, "32KiB")
	startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir(), "--dht-bootstrap", bootAddr)
	m, err := meta.Load(tor)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	var stale []krpc.NodeInfo
	for range 8 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := c.LocalAddr().(*net.UDPAddr)
		c.Close()
		stale = append(stale, krpc.NodeInfo{ID: krpc.RandomNodeID(), Addr: krpc.NodeAddr{IP: a.IP, Port: a.Port}})
	}
	if err := dht.WriteNodesToFile(stale, filepath.Join(state, "dht.nodes")); err != nil {
		t.Fatal(err)
	}
	link := fmt.Sprintf("magnet:?xt=urn:btih:%s", m.InfoHash.HexString())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, hermetic([]string{"get", link, "--dir", t.TempDir(), "--no-seed", "--port", "0", "--state-dir", state, "--dht-bootstrap", bootAddr}),
		env{stdout: &out, stderr: &errb})
	if code != 0 || !strings.Contains(out.String(), "download complete") {
		t.Fatalf("get by infohash with a stale routing table: %d\n%s\n%s", code, out.String(), errb.String())
	}
}
