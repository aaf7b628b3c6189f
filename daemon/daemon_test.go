package daemon

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm"
)

// fixture writes a two-file torrent's data under dir and returns its
// metainfo bytes.
func fixture(t *testing.T, dir string) []byte {
	return fixtureSized(t, dir, 200<<10)
}

// fixtureSized makes torrents that differ by the first file's size.
func fixtureSized(t *testing.T, dir string, size int64) []byte {
	t.Helper()
	piecetest.WriteFiles(t, dir, []piecetest.FileSpec{{Path: "pack/a.bin", Size: size}, {Path: "pack/b.bin", Size: 70 << 10}})
	m, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(dir, "pack"), PieceLength: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// startDaemon runs a daemon on a loopback session of its own.
func startDaemon(t *testing.T, stateDir, dir string, tune func(*Config)) *Daemon {
	t.Helper()
	scfg := swarm.DefaultSessionConfig()
	scfg.ListenAddr = "127.0.0.1:0"
	s, err := swarm.NewSession(scfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(stateDir, dir)
	cfg.Torrent.DisableTrackers = true
	cfg.Tick = 20 * time.Millisecond
	if tune != nil {
		tune(&cfg)
	}
	d, err := New(cfg, s)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); s.Close() })
	return d
}

// waitState polls until torrent id reaches state, or fails the test.
func waitState(t *testing.T, d *Daemon, id int, state string) Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := d.Torrents([]int{id}, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) == 1 && st[0].State == state {
			return st[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("torrent %d never became %s: %+v", id, state, st)
		}
		time.Sleep(5 * time.Millisecond) // polling, not synchronisation
	}
}

func TestDaemonRestartTrustsResumeState(t *testing.T) {
	state, data := t.TempDir(), t.TempDir()
	raw := fixture(t, data)
	d := startDaemon(t, state, data, nil)
	st, dup, err := d.Add(AddRequest{Metainfo: raw})
	if err != nil || dup {
		t.Fatal(err, dup)
	}
	if st.ID != 1 {
		t.Fatalf("first torrent got id %d", st.ID)
	}
	waitState(t, d, 1, string(swarm.StateSeeding))
	if err := d.Stop([]int{1}); err != nil {
		t.Fatal(err)
	}
	waitState(t, d, 1, StateStopped)
	d.Close()

	// Corrupt a byte without changing size or mtime: a daemon that
	// trusts its resume state still seeds every piece; one that hashed
	// again would not.
	p := filepath.Join(data, "pack", "a.bin")
	fi, _ := os.Stat(p)
	b, _ := os.ReadFile(p)
	b[0] ^= 0xff
	os.WriteFile(p, b, 0o644)
	os.Chtimes(p, fi.ModTime(), fi.ModTime())

	d2 := startDaemon(t, state, data, nil)
	got := waitState(t, d2, 1, StateStopped)
	if !got.Paused || got.Left != 0 || got.Name != "pack" {
		t.Fatalf("after restart: %+v", got)
	}
	if err := d2.Start([]int{1}); err != nil {
		t.Fatal(err)
	}
	if got := waitState(t, d2, 1, string(swarm.StateSeeding)); got.Left != 0 {
		t.Fatalf("seeding with %d left", got.Left)
	}
	// A recheck hashes everything and finds the corrupt piece.
	if err := d2.Verify([]int{1}); err != nil {
		t.Fatal(err)
	}
	got = waitState(t, d2, 1, string(swarm.StateDownloading))
	if got.Left != 32<<10 {
		t.Fatalf("after recheck %d bytes left, want one piece", got.Left)
	}
	// A stopped torrent is checked, then stopped again, its progress
	// known: all but the two corrupt pieces.
	if err := d2.Stop([]int{1}); err != nil {
		t.Fatal(err)
	}
	waitState(t, d2, 1, StateStopped)
	b, _ = os.ReadFile(p)
	b[32<<10] ^= 0xff // a second piece goes bad
	os.WriteFile(p, b, 0o644)
	if err := d2.Verify([]int{1}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := d2.Torrents([]int{1}, false)
		if st[0].State == StateStopped && st[0].Left == 64<<10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a verify of a stopped torrent left %+v", st[0])
		}
		time.Sleep(5 * time.Millisecond) // polling, not synchronisation
	}
	// Ids keep counting after a restart; a duplicate is found, not added.
	if st, dup, err := d2.Add(AddRequest{Metainfo: raw}); err != nil || !dup || st.ID != 1 {
		t.Fatalf("duplicate add: %+v %v %v", st, dup, err)
	}
}

func TestDaemonQueueAndRemove(t *testing.T) {
	state, data := t.TempDir(), t.TempDir()
	var raws [][]byte
	for i := range 3 {
		dir := filepath.Join(data, string(rune('a'+i)))
		raws = append(raws, fixtureSized(t, dir, int64(100+i)<<10))
	}
	d := startDaemon(t, state, data, func(c *Config) { c.Queue.Downloads = 1 })
	for i, raw := range raws {
		// The data sits in a subdirectory per torrent; nothing in the
		// save path of the second and third, so they download.
		dir := filepath.Join(data, string(rune('a'+i)))
		if i > 0 {
			dir = filepath.Join(data, "empty", string(rune('a'+i)))
		}
		if _, _, err := d.Add(AddRequest{Metainfo: raw, Dir: dir}); err != nil {
			t.Fatal(err)
		}
	}
	waitState(t, d, 1, string(swarm.StateSeeding))
	waitState(t, d, 2, string(swarm.StateDownloading))
	waitState(t, d, 3, StateQueued)
	// Removing the running download lets the queued one start; its
	// files go with --delete-data, the folder beside them stays.
	keep := filepath.Join(data, "empty", "b", "keep.txt")
	os.MkdirAll(filepath.Dir(keep), 0o755)
	os.WriteFile(keep, []byte("mine"), 0o644)
	if err := d.Remove([]int{2}, true); err != nil {
		t.Fatal(err)
	}
	waitState(t, d, 3, string(swarm.StateDownloading))
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("delete-data removed a file that was not the torrent's: %v", err)
	}
	if err := d.Remove([]int{1}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "a", "pack")); !os.IsNotExist(err) {
		t.Fatalf("torrent 1's data is still there: %v", err)
	}
	if err := d.Remove([]int{1}, false); err == nil {
		t.Fatal("removing a removed torrent succeeded")
	}
	all, _ := d.Torrents(nil, false)
	if len(all) != 1 || all[0].ID != 3 {
		t.Fatalf("left: %+v", all)
	}
}

func TestDaemonRefusesDirsOutsideItsRoots(t *testing.T) {
	state, data, other := t.TempDir(), t.TempDir(), t.TempDir()
	raw := fixture(t, data)
	d := startDaemon(t, state, data, nil)
	os.Symlink(other, filepath.Join(data, "link"))
	for _, dir := range []string{other, filepath.Join(data, "..", filepath.Base(other)), filepath.Join(data, "link", "x"), "relative/dir"} {
		if _, _, err := d.Add(AddRequest{Metainfo: raw, Dir: dir}); err == nil {
			t.Errorf("added with save path %s", dir)
		}
	}
	if _, _, err := d.Add(AddRequest{Metainfo: []byte("d4:infoe")}); err == nil {
		t.Error("added garbage")
	}
	if all, _ := d.Torrents(nil, false); len(all) != 0 {
		t.Fatalf("refused adds left torrents: %+v", all)
	}
}

func TestDaemonCompleteDirMovesAndSeedsFromThere(t *testing.T) {
	srcDir := t.TempDir()
	raw := fixture(t, srcDir)
	seeder := startDaemon(t, t.TempDir(), srcDir, nil)
	if _, _, err := seeder.Add(AddRequest{Metainfo: raw}); err != nil {
		t.Fatal(err)
	}
	waitState(t, seeder, 1, string(swarm.StateSeeding))
	incoming, complete := t.TempDir(), t.TempDir()
	leecher := startDaemon(t, t.TempDir(), incoming, func(c *Config) {
		c.CompleteDir = complete
		c.Torrent.Peers = []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), seeder.s.Port())}
	})
	if _, _, err := leecher.Add(AddRequest{Metainfo: raw}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, _ := leecher.Torrents([]int{1}, false)
		if len(st) == 1 && st[0].State == string(swarm.StateSeeding) && st[0].Dir == complete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never seeding from the complete dir: %+v", st)
		}
		time.Sleep(5 * time.Millisecond) // polling, not synchronisation
	}
	want, _ := os.ReadFile(filepath.Join(srcDir, "pack", "a.bin"))
	got, err := os.ReadFile(filepath.Join(complete, "pack", "a.bin"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("moved file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(incoming, "pack")); !os.IsNotExist(err) {
		t.Fatalf("the download's folder is still in the incoming dir: %v", err)
	}
}

func TestCopyFileKeepsMtimeAndContent(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(src, bytes.Repeat([]byte("shoal"), 300000), 0o644)
	old := time.Unix(1e9, 0)
	os.Chtimes(src, old, old)
	if err := copyFile(src, dst); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(dst)
	fi, _ := os.Stat(dst)
	if !bytes.Equal(a, b) || !fi.ModTime().Equal(old) {
		t.Fatalf("copy differs or mtime %v", fi.ModTime())
	}
	if err := copyFile(src, dst); err == nil {
		t.Fatal("copy over an existing file succeeded")
	}
}

func TestDaemonFinishesAMoveCutShort(t *testing.T) {
	state, data, complete := t.TempDir(), t.TempDir(), t.TempDir()
	raw := fixture(t, data)
	d := startDaemon(t, state, data, nil)
	d.Add(AddRequest{Metainfo: raw})
	waitState(t, d, 1, string(swarm.StateSeeding))
	d.Close()
	// As if killed halfway: the target saved, one file moved.
	st, err := loadState(state)
	if err != nil {
		t.Fatal(err)
	}
	st.Torrents[0].MoveTo = complete
	if err := saveState(state, st); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(complete, "pack"), 0o755)
	if err := os.Rename(filepath.Join(data, "pack", "a.bin"), filepath.Join(complete, "pack", "a.bin")); err != nil {
		t.Fatal(err)
	}
	d2 := startDaemon(t, state, data, func(c *Config) { c.CompleteDir = complete })
	got := waitState(t, d2, 1, string(swarm.StateSeeding))
	if got.Dir != complete || got.Left != 0 {
		t.Fatalf("after the move: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(complete, "pack", "b.bin")); err != nil {
		t.Fatal("the rest was not moved")
	}
}

// What session-set changes outlives a restart; what the command line
// gives wins over it and is kept in turn (transmission-daemon's
// settings.json).
func TestDaemonKeepsSessionSettings(t *testing.T) {
	state, data := t.TempDir(), t.TempDir()
	sub := filepath.Join(data, "sub")
	d := startDaemon(t, state, data, nil)
	down, downloads, seeds := int64(100_000), 2, 3
	if err := d.SetSession(SessionSettings{Dir: &sub, DownLimit: &down, MaxDownloads: &downloads, MaxSeeds: &seeds}); err != nil {
		t.Fatal(err)
	}
	d.Close()

	d = startDaemon(t, state, data, nil)
	info, err := d.Session()
	if err != nil {
		t.Fatal(err)
	}
	if info.Dir != sub || info.DownLimit != down || info.UpLimit != 0 || info.MaxDownloads != 2 || info.MaxSeeds != 3 {
		t.Fatalf("after a restart: %+v", info)
	}
	d.Close()

	// --max-active-downloads 7 on the command line wins, and stays.
	d = startDaemon(t, state, data, func(c *Config) { c.Queue.Downloads, c.Given.MaxDownloads = 7, true })
	if info, _ = d.Session(); info.MaxDownloads != 7 || info.MaxSeeds != 3 || info.Dir != sub {
		t.Fatalf("with a queue size given: %+v", info)
	}
	d.Close()
	d = startDaemon(t, state, data, nil)
	if info, _ = d.Session(); info.MaxDownloads != 7 || info.DownLimit != down {
		t.Fatalf("after the given size: %+v", info)
	}
}

// A v2-only torrent is added, seeded and, after a restart, loaded again
// from the state directory (the daemon read it back as v1-only once).
func TestDaemonKeepsAV2OnlyTorrent(t *testing.T) {
	state, data := t.TempDir(), t.TempDir()
	piecetest.WriteFiles(t, data, []piecetest.FileSpec{{Path: "pack/a.bin", Size: 200 << 10}})
	m, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(data, "pack"), PieceLength: 32 << 10, Version: meta.VersionV2})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, state, data, nil)
	if _, _, err := d.Add(AddRequest{Metainfo: buf.Bytes()}); err != nil {
		t.Fatalf("adding a v2-only torrent: %v", err)
	}
	waitState(t, d, 1, string(swarm.StateSeeding))
	d.Close()
	d2 := startDaemon(t, state, data, nil)
	if got := waitState(t, d2, 1, string(swarm.StateSeeding)); got.Left != 0 || got.Error != "" {
		t.Fatalf("after restart: %+v", got)
	}
}

// A hybrid's size is its files' bytes, not its pad files', as info says:
// while it seeds, and after a restart finds it stopped, when its bytes
// done come from the resume state.
func TestDaemonSizeLeavesOutPadding(t *testing.T) {
	state, data := t.TempDir(), t.TempDir()
	piecetest.WriteFiles(t, data, []piecetest.FileSpec{{Path: "pack/a.bin", Size: 50000}, {Path: "pack/b.bin", Size: 70000}})
	m, err := meta.Create(context.Background(), meta.CreateOptions{Path: filepath.Join(data, "pack"), PieceLength: 32 << 10, Version: meta.VersionHybrid})
	if err != nil {
		t.Fatal(err)
	}
	const size = 50000 + 70000
	if m.Layout.Total == size {
		t.Fatal("the fixture has no padding")
	}
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, state, data, nil)
	if _, _, err := d.Add(AddRequest{Metainfo: buf.Bytes()}); err != nil {
		t.Fatal(err)
	}
	check := func(when string, st Status) {
		t.Helper()
		if st.Size != size || st.Left != 0 || st.Progress != 1 || st.Wanted != size || st.WantedLeft != 0 {
			t.Fatalf("%s: size %d, left %d, progress %v, wanted %d left %d; want %d, 0, 1", when, st.Size, st.Left, st.Progress, st.Wanted, st.WantedLeft, size)
		}
	}
	check("seeding", waitState(t, d, 1, string(swarm.StateSeeding)))
	if err := d.Stop([]int{1}); err != nil {
		t.Fatal(err)
	}
	waitState(t, d, 1, StateStopped)
	d.Close()
	check("stopped, after a restart", waitState(t, startDaemon(t, state, data, nil), 1, StateStopped))
}
