package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/shoal-torrent/shoal/daemon"
	"github.com/shoal-torrent/shoal/swarm"
)

func TestDaemonWatchDir(t *testing.T) {
	src, torrent := seedFixture(t, 100<<10, "32KiB")
	watch := t.TempDir()
	addr := startDaemon(t, src, t.TempDir(), "--watch-dir", watch)
	raw, _ := os.ReadFile(torrent)
	os.WriteFile(filepath.Join(watch, "good.torrent"), raw, 0o644)
	os.WriteFile(filepath.Join(watch, "bad.torrent"), []byte("not bencode"), 0o644)
	exists := func(name string) bool { _, err := os.Stat(filepath.Join(watch, name)); return err == nil }
	eventually(t, "the watch dir renames", func() (bool, string) {
		return exists("good.torrent.added") && exists("bad.torrent.invalid"), ""
	})
	if exists("good.torrent") || exists("bad.torrent") {
		t.Fatal("originals left in the watch dir")
	}
	if l := ls(t, addr); len(l) != 1 || l[0].Name != "pack" {
		t.Fatalf("after the watch dir: %+v", l)
	}
}

func TestDaemonWatchAttaches(t *testing.T) {
	src, torrent := seedFixture(t, 100<<10, "32KiB")
	state := t.TempDir()
	addr := startDaemon(t, src, state)
	shoal(t, "add", torrent, "--rpc", addr)
	eventually(t, "seeding", func() (bool, string) { s := statusOf(t, addr, 1); return s == "seeding", s })
	path, err := findControl(state)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := dialControl(path)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.conn.Close()
	if items := eng.Items(); len(items) != 1 || items[0].Label != "1 pack" || items[0].Snap.State != "seeding" {
		t.Fatalf("items over the socket: %+v", items)
	}
	eng.Pause(0)
	eventually(t, "pause from shoal watch", func() (bool, string) { s := statusOf(t, addr, 1); return s == "stopped", s })
	if items := eng.Items(); len(items) != 1 || items[0].Snap.State != "stopped" || items[0].Snap.Progress != 1 {
		t.Fatalf("a stopped torrent over the socket: %+v", items[0].Snap)
	}
}

// An oversized .torrent in the watch dir is renamed .invalid without
// being read: a sparse 256 MiB file must not cost 256 MiB.
func TestWatchDirRefusesAnOversizedFileUnread(t *testing.T) {
	scfg := swarm.DefaultSessionConfig()
	scfg.ListenAddr = "127.0.0.1:0"
	s, err := swarm.NewSession(scfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := daemon.New(daemon.DefaultConfig(t.TempDir(), t.TempDir()), s)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	watch := t.TempDir()
	p := filepath.Join(watch, "huge.torrent")
	if err := os.WriteFile(p, []byte("d4:info"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 256<<20); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	sizes := map[string]int64{}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	scanWatchDir(log, watch, d, sizes) // notes the size
	scanWatchDir(log, watch, d, sizes) // takes it
	runtime.ReadMemStats(&after)
	if _, err := os.Stat(p + ".invalid"); err != nil {
		t.Fatalf("not renamed .invalid: %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Fatalf("refusing it allocated %d MiB", grew>>20)
	}
}
