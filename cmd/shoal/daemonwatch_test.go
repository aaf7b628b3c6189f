package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/tui"
)

// TestWatchAddsRequeuesAndRemovesOnTheDaemon drives a real daemon as shoal
// watch does, through its control socket: add by path and by magnet,
// move in the queue, remove with the data.
func TestWatchAddsRequeuesAndRemovesOnTheDaemon(t *testing.T) {
	src, torrent := seedFixture(t, 100<<10, "32KiB")
	_, other := seedFixture(t, 50<<10, "32KiB")
	state := t.TempDir()
	addr := startDaemon(t, src, state)
	sock, err := findControl(state)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := dialControl(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.conn.Close()

	// A relative path is the watcher's, not the daemon's.
	t.Chdir(filepath.Dir(torrent))
	if err := eng.Add(filepath.Base(torrent)); err != nil {
		t.Fatalf("add by path: %v", err)
	}
	m, err := meta.Load(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Add(m.Magnet()); err != nil {
		t.Fatalf("add by magnet: %v", err)
	}
	if err := eng.Add(torrent); err == nil || !strings.Contains(err.Error(), "already there") {
		t.Fatalf("a second add of the same torrent: %v", err)
	}
	if err := eng.Add(filepath.Join(t.TempDir(), "none.torrent")); err == nil {
		t.Fatal("added a file that does not exist")
	}
	if l := ls(t, addr); len(l) != 2 {
		t.Fatalf("torrents after the adds: %+v", l)
	}

	// ls lists by id; the UI lists by queue position.
	items := eng.Items()
	if len(items) != 2 || !strings.HasPrefix(items[0].Label, "1 ") {
		t.Fatalf("items: %+v", items)
	}
	// The list's added times, which s sorts by, are the daemon's.
	if a, b := items[0].Added, items[1].Added; a.IsZero() || b.Before(a) {
		t.Fatalf("added times %v and %v: want the first torrent's, then the second's", a, b)
	}
	if err := eng.Requeue(1, -1); err != nil {
		t.Fatal(err)
	}
	if items := eng.Items(); !strings.HasPrefix(items[0].Label, "2 ") {
		t.Fatalf("after moving torrent 2 up: %v, %v", items[0].Label, items[1].Label)
	}
	// At either end nothing moves, and the UI hears so.
	if err := eng.Requeue(0, -1); !errors.Is(err, tui.ErrQueueEnd) {
		t.Fatalf("[ on the first: %v", err)
	}
	if err := eng.Requeue(1, 1); !errors.Is(err, tui.ErrQueueEnd) {
		t.Fatalf("] on the last: %v", err)
	}
	if items := eng.Items(); !strings.HasPrefix(items[0].Label, "2 ") {
		t.Fatalf("moved at an end: %v, %v", items[0].Label, items[1].Label)
	}

	// Torrent 1 (now second) goes, and its files with it.
	eventually(t, "torrent 1 seeding", func() (bool, string) { s := statusOf(t, addr, 1); return s == "seeding", s })
	if err := eng.Remove(1, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "torrent 1 and its files gone", func() (bool, string) {
		_, err := os.Stat(filepath.Join(src, "pack"))
		return errors.Is(err, fs.ErrNotExist) && len(ls(t, addr)) == 1, statusOf(t, addr, 1)
	})
	if err := eng.Requeue(5, 1); err == nil {
		t.Fatal("requeued a row that is not there")
	}
}

// TestWatchOnGetSaysWhatDoesNotApply: attached to get or seed, the
// daemon's commands are refused with a reason, and nothing is deleted.
func TestWatchOnGetSaysWhatDoesNotApply(t *testing.T) {
	eng := newLiveEngine(nil, nil)
	for what, err := range map[string]error{
		"add":     eng.Add("x.torrent"),
		"requeue": eng.Requeue(0, 1),
		"delete":  eng.Remove(0, true),
		"remove":  eng.Remove(0, false),
	} {
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
	}
	if err := eng.Add("x"); !strings.Contains(err.Error(), "shoal daemon") {
		t.Fatalf("add's refusal does not say where to add: %v", err)
	}
}
