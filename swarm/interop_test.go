package swarm

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	alog "github.com/anacrolix/log"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// anacrolixClient starts anacrolix's full client on loopback, as an
// independent implementation on the other side of the wire.
func anacrolixClient(t testing.TB, dataDir string, seed bool, mod ...func(*torrent.ClientConfig)) *torrent.Client {
	t.Helper()
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = dataDir
	cfg.ListenHost = torrent.LoopbackListenHost
	cfg.ListenPort = 0
	cfg.NoDHT = true
	cfg.DisableTrackers = true
	cfg.NoDefaultPortForwarding = true
	cfg.DisableUTP = true
	cfg.DisablePEX = true
	cfg.DisableIPv6 = true
	cfg.Seed = seed
	cfg.Logger = cfg.Logger.WithFilterLevel(alog.Disabled)
	cfg.Slogger = slog.New(slog.DiscardHandler)
	for _, f := range mod {
		f(cfg)
	}
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func anacrolixAddr(t testing.TB, cl *torrent.Client) netip.AddrPort {
	for _, a := range cl.ListenAddrs() {
		if ta, ok := a.(*net.TCPAddr); ok {
			return ta.AddrPort()
		}
	}
	t.Fatal("anacrolix client has no TCP listener")
	return netip.AddrPort{}
}

func anacrolixTorrent(t testing.TB, cl *torrent.Client, f *fixture) *torrent.Torrent {
	t.Helper()
	var buf bytes.Buffer
	if err := f.m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	mi, err := metainfo.Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	at, err := cl.AddTorrent(mi)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

var interopFiles = []piecetest.FileSpec{
	{Path: "share/a.bin", Size: 2<<20 + 333}, {Path: "share/b/c.bin", Size: 700_000}, {Path: "share/empty", Size: 0},
}

func TestAnacrolixSeedsShoalDownloads(t *testing.T) {
	f := newFixture(t, 128<<10, interopFiles...)
	cl := anacrolixClient(t, f.dir, true)
	at := anacrolixTorrent(t, cl, f)
	if err := at.VerifyDataContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-at.Complete().On():
	case <-time.After(10 * time.Second):
		t.Fatal("anacrolix did not see its data as complete")
	}
	s := newTestSession(t)
	dl := t.TempDir()
	tor := addTorrent(t, s, f.m, dl, anacrolixAddr(t, cl))
	waitComplete(t, tor, 60*time.Second)
	sameContent(t, f, dl)
	if snap := tor.Snapshot(); snap.Violations != 0 || snap.HashFails != 0 {
		t.Fatalf("violations %d hash failures %d", snap.Violations, snap.HashFails)
	}
}

func TestShoalSeedsAnacrolixDownloads(t *testing.T) {
	f := newFixture(t, 128<<10, interopFiles...)
	s, _ := startSeeder(t, f)

	dl := t.TempDir()
	cl := anacrolixClient(t, dl, false)
	at := anacrolixTorrent(t, cl, f)
	at.AddPeers([]torrent.PeerInfo{{Addr: torrent.StringAddr(s.Addr().String()), Trusted: true}})
	at.DownloadAll()
	select {
	case <-at.Complete().On():
	case <-time.After(60 * time.Second):
		t.Fatalf("anacrolix has %d of %d bytes after 60 s", at.BytesCompleted(), at.Length())
	}
	cl.Close() // flush its files before comparing
	sameContent(t, f, dl)
}
