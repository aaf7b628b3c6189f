package swarm

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"net/netip"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// libtorrentSeedScript seeds a .torrent from a folder with libtorrent 2.0
// on loopback, prints its port once the data checked out, and runs until
// its stdin closes.
const libtorrentSeedScript = `
import libtorrent as lt, sys, time
tor, save = sys.argv[1], sys.argv[2]
ses = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False,
    'enable_upnp': False, 'enable_natpmp': False, 'allow_multiple_connections_per_ip': True,
    'alert_mask': 0})
h = ses.add_torrent({'ti': lt.torrent_info(tor), 'save_path': save})
deadline = time.time() + 30
while not h.status().is_seeding:
    if time.time() > deadline:
        sys.exit('libtorrent: the data did not check out: %s' % h.status().state)
    time.sleep(0.02)
print(ses.listen_port(), flush=True)
sys.stdin.read()
`

// libtorrentPython finds a python3 that imports libtorrent (Debian's
// python3-libtorrent), or skips the test; CI sets SHOAL_REQUIRE_LIBTORRENT
// so that there it fails instead.
func libtorrentPython(t *testing.T) string {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import libtorrent").Run() == nil {
			return py
		}
	}
	if os.Getenv("SHOAL_REQUIRE_LIBTORRENT") != "" {
		t.Fatal("SHOAL_REQUIRE_LIBTORRENT is set but no python3 imports libtorrent")
	}
	t.Skip("no python3 with libtorrent (apt-get install python3-libtorrent)")
	return ""
}

// libtorrentSeed seeds f with libtorrent until the test ends.
func libtorrentSeed(t *testing.T, py string, f *fixture) netip.AddrPort {
	t.Helper()
	tor := filepath.Join(t.TempDir(), "t.torrent")
	out, err := os.Create(tor)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.m.Write(out); err != nil {
		t.Fatal(err)
	}
	out.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, py, "-c", libtorrentSeedScript, tor, f.dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cancel(); cmd.Wait() })
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Scan()
		port <- sc.Text()
	}()
	select {
	case p := <-port:
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			t.Fatalf("libtorrent printed %q: %s", p, stderr.String())
		}
		return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(n))
	case <-time.After(40 * time.Second):
		t.Fatalf("libtorrent did not start seeding: %s", stderr.String())
	}
	return netip.AddrPort{}
}

// libtorrent 2.0 seeds v2-only and hybrid torrents made by shoal, and
// shoal downloads them: from the .torrent, and from the magnet link, the
// piece layers then coming from libtorrent in hashes messages.
func TestV2FromLibtorrent(t *testing.T) {
	py := libtorrentPython(t)
	for _, v := range []meta.Version{meta.VersionV2, meta.VersionHybrid} {
		t.Run(v.String(), func(t *testing.T) {
			f := newFixtureV(t, v, 64<<10, v2Files...)
			lt := libtorrentSeed(t, py, f)
			t.Run("torrent file", func(t *testing.T) {
				dl := t.TempDir()
				tor := addTorrent(t, newTestSession(t), f.m, dl, lt)
				waitComplete(t, tor, 30*time.Second)
				sameContent(t, f, dl)
			})
			t.Run("magnet", func(t *testing.T) {
				s := newTestSession(t)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				m, found, err := s.FetchMetadata(ctx, magnetRequest(t, f.m.Magnet(), lt))
				if err != nil {
					t.Fatal(err)
				}
				// libtorrent sets no BEP 52 bit on connections it
				// accepts, so a hybrid goes on by its v1 hashes.
				if !m.HasV1 && len(m.V2.PieceHashes) != len(f.m.V2.PieceHashes) {
					t.Fatal("no piece layers from libtorrent")
				}
				dl := t.TempDir()
				tor := addTorrent(t, s, m, dl, found...)
				waitComplete(t, tor, 30*time.Second)
				sameContent(t, f, dl)
			})
		})
	}
}

// libtorrentMagnetScript downloads a magnet link with libtorrent 2.0 from
// one peer, and says when it has every piece.
const libtorrentMagnetScript = `
import libtorrent as lt, sys, time
link, save, peer = sys.argv[1], sys.argv[2], sys.argv[3]
ses = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False,
    'enable_upnp': False, 'enable_natpmp': False, 'allow_multiple_connections_per_ip': True,
    'alert_mask': 0})
p = lt.parse_magnet_uri(link)
p.save_path = save
h = ses.add_torrent(p)
host, port = peer.rsplit(':', 1)
deadline, next_connect = time.time() + 40, 0
while not h.status().is_seeding:
    if time.time() > deadline:
        s = h.status()
        sys.exit('libtorrent: not complete: %s, progress %.3f, metadata %s' % (s.state, s.progress, s.has_metadata))
    if time.time() > next_connect:
        h.connect_peer((host, int(port)))
        next_connect = time.time() + 2
    time.sleep(0.02)
print('complete', flush=True)
`

// The other way: libtorrent 2.0 downloads shoal's v2-only and hybrid
// torrents from their magnet links with shoal the only seeder, so the
// info comes by ut_metadata and a v2-only one's piece layers from
// shoal's answers to its hash requests. Torrents whose last file ends
// inside a piece are among them: libtorrent pads a v2 torrent's end to
// a whole piece and asks for the last piece in full.
func TestLibtorrentV2MagnetFromShoal(t *testing.T) {
	py := libtorrentPython(t)
	for _, tc := range []struct {
		name     string
		pieceLen int64
		files    []piecetest.FileSpec
	}{
		{"aligned end", 64 << 10, v2Files},
		{"unaligned end", 32 << 10, []piecetest.FileSpec{{Path: "odd/a.bin", Size: 50000}, {Path: "odd/b.bin", Size: 70000}}},
		{"one short file", 32 << 10, []piecetest.FileSpec{{Path: "short.bin", Size: 50000}}},
	} {
		for _, v := range []meta.Version{meta.VersionV2, meta.VersionHybrid} {
			t.Run(tc.name+"/"+v.String(), func(t *testing.T) {
				f := newFixtureV(t, v, tc.pieceLen, tc.files...)
				seedS, seed := startSeeder(t, f)
				dl := t.TempDir()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				out, err := exec.CommandContext(ctx, py, "-c", libtorrentMagnetScript, f.m.Magnet(), dl, seedS.Addr().String()).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "complete") {
					t.Fatalf("libtorrent: %v\n%s", err, out)
				}
				sameContent(t, f, dl)
				if s := seed.Snapshot(); s.Violations != 0 || s.Error != "" {
					t.Fatalf("seeder counted %d violations, error %q", s.Violations, s.Error)
				}
			})
		}
	}
}
