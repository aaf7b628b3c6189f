package swarm

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// fixture is generated content and its torrent.
type fixture struct {
	dir string // save path holding the content
	m   *meta.Torrent
}

func newFixture(t testing.TB, pieceLen int64, files ...piecetest.FileSpec) *fixture {
	t.Helper()
	dir := t.TempDir()
	piecetest.WriteFiles(t, dir, files)
	// One file shares that file; several share their common top folder.
	root := filepath.Join(dir, filepath.FromSlash(files[0].Path))
	if len(files) > 1 {
		root = filepath.Join(dir, firstComponent(files[0].Path))
	}
	m, err := meta.Create(context.Background(), meta.CreateOptions{Path: root, PieceLength: pieceLen})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{dir: dir, m: m}
}

func firstComponent(p string) string {
	for i := range p {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return p
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("SHOAL_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newTestSession(t testing.TB, mod ...func(*SessionConfig)) *Session {
	t.Helper()
	cfg := DefaultSessionConfig()
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.Logger = testLogger(t)
	for _, f := range mod {
		f(&cfg)
	}
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func addTorrent(t testing.TB, s *Session, m *meta.Torrent, dir string, peers ...netip.AddrPort) *Torrent {
	t.Helper()
	cfg := DefaultTorrentConfig(dir)
	cfg.Peers = peers
	cfg.MaxPeersPerIP = 100 // every test peer is on 127.0.0.1
	cfg.DisableTrackers = true
	tor, err := s.Add(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tor
}

// startSeeder runs a session seeding the fixture and returns once its data
// is checked, so leechers added after it find a seed.
func startSeeder(t testing.TB, f *fixture, mod ...func(*SessionConfig)) (*Session, *Torrent) {
	t.Helper()
	s := newTestSession(t, mod...)
	tor := addTorrent(t, s, f.m, f.dir)
	waitComplete(t, tor, 10*time.Second)
	return s, tor
}

// waitComplete waits for the torrent to finish, failing (not sleeping)
// when it does not within the deadline.
func waitComplete(t testing.TB, tor *Torrent, within time.Duration) {
	t.Helper()
	select {
	case <-tor.Completed():
	case <-tor.Done():
		t.Fatalf("torrent stopped: %v", tor.Err())
	case <-time.After(within):
		s := tor.Snapshot()
		t.Fatalf("not complete after %v: %d/%d pieces; %s", within, s.Have, s.NumPieces, peerReport(s))
	}
}

// peerReport describes a torrent's peers for a test's failure message.
func peerReport(s *Snapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "state %v, uploaded %d, downloaded %d, violations %d, %d peers", s.State, s.Uploaded, s.Downloaded, s.Violations, len(s.Peers))
	for _, p := range s.Peers {
		fmt.Fprintf(&b, "\n  %+v", p)
	}
	return b.String()
}

// sameContent compares the leecher's files with the seeder's, byte for
// byte.
func sameContent(t testing.TB, f *fixture, dir string) {
	t.Helper()
	for _, fl := range f.m.Layout.Files {
		if fl.Pad {
			continue // never written (v2 and hybrid torrents)
		}
		rel := filepath.Join(fl.Path...)
		want, err := os.ReadFile(filepath.Join(f.dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s differs", rel)
		}
	}
}

func TestShoalToShoal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []piecetest.FileSpec
	}{
		{"single file", []piecetest.FileSpec{{Path: "one.bin", Size: 3<<20 + 12345}}},
		{"multi file", []piecetest.FileSpec{{Path: "album/a.flac", Size: 1<<20 + 7}, {Path: "album/sub/b.txt", Size: 100}, {Path: "album/c.flac", Size: 2 << 20}, {Path: "album/empty", Size: 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 64<<10, tc.files...)
			seedS, _ := startSeeder(t, f)
			leechS := newTestSession(t)
			dl := t.TempDir()
			leecher := addTorrent(t, leechS, f.m, dl, seedS.Addr())
			waitComplete(t, leecher, 30*time.Second)
			sameContent(t, f, dl)
			if s := leecher.Snapshot(); s.Violations != 0 || s.HashFails != 0 {
				t.Fatalf("violations %d hash failures %d", s.Violations, s.HashFails)
			}
		})
	}
}
