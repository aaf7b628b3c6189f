package swarm

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
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
	// v1.59.1's connection writer can miss a wake-up: it takes its
	// condition's channel only after filling the buffer, so a broadcast
	// in between (an unchoke, a have, a block read for upload) is lost
	// until the keep-alive timer wakes it, a minute later. Under load
	// that showed as a transfer stuck at 0 bytes, or half-way from a
	// super-seeder. A short keep-alive bounds each such stall.
	cfg.KeepAliveTimeout = time.Second
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
	t.Cleanup(func() { // runs first: the client still knows its peers
		if t.Failed() {
			var b strings.Builder
			cl.WriteStatus(&b)
			t.Logf("anacrolix's status at the failure:\n%s", b.String())
		}
	})
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

// waitAnacrolix waits for anacrolix to finish downloading from shoal. On
// a timeout it reports the seeder's peers (anacrolixClient logs its own
// side), since a stall seen once in many runs must be diagnosed from one
// failure's output.
func waitAnacrolix(t testing.TB, at *torrent.Torrent, seeder *Torrent, within time.Duration) {
	t.Helper()
	select {
	case <-at.Complete().On():
	case <-time.After(within):
		t.Fatalf("anacrolix has %d of %d bytes after %v; the seeder's view: %s", at.BytesCompleted(), at.Length(), within, peerReport(seeder.Snapshot()))
	}
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
	s, seeder := startSeeder(t, f)

	dl := t.TempDir()
	cl := anacrolixClient(t, dl, false)
	at := anacrolixTorrent(t, cl, f)
	at.AddPeers([]torrent.PeerInfo{{Addr: torrent.StringAddr(s.Addr().String()), Trusted: true}})
	at.DownloadAll()
	waitAnacrolix(t, at, seeder, 60*time.Second)
	cl.Close() // flush its files before comparing
	sameContent(t, f, dl)
}
