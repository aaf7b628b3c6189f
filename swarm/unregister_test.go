package swarm

import (
	"errors"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// unreadableStorage opens but fails every read, as a disk does whose data
// cannot be checked.
type unreadableStorage struct{ *memStorage }

func (unreadableStorage) ReadAt([]byte, int64) (int, error) {
	return 0, errors.New("input/output error")
}

// TestTorrentThatCannotStartCanBeAddedAgain: a torrent whose files cannot
// be opened, or whose data cannot be checked, stops with an error and
// leaves the session, so it can be added again once the problem is fixed.
func TestTorrentThatCannotStartCanBeAddedAgain(t *testing.T) {
	f := newFixture(t, 16<<10, piecetest.FileSpec{Path: "u.bin", Size: 64 << 10})
	s := newTestSession(t)
	for _, c := range []struct {
		name string
		open func(l *piece.Layout, dir string) (storage, error)
	}{
		{"cannot open", func(*piece.Layout, string) (storage, error) { return nil, errors.New("permission denied") }},
		{"cannot check", func(l *piece.Layout, _ string) (storage, error) {
			return unreadableStorage{&memStorage{MemStorage: piece.NewMemStorage(l)}}, nil
		}},
	} {
		cfg := DefaultTorrentConfig(f.dir)
		cfg.DisableTrackers = true
		cfg.openStorage = c.open
		tor, err := s.Add(f.m, cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		select {
		case <-tor.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the torrent did not stop", c.name)
		}
		if tor.Err() == nil {
			t.Fatalf("%s: stopped without an error", c.name)
		}
		if n := len(s.Torrents()); n != 0 {
			t.Fatalf("%s: %d torrents still in the session after a failed start", c.name, n)
		}
	}
	// The problem fixed, the same torrent starts: it is the seeder's data.
	waitComplete(t, addTorrent(t, s, f.m, f.dir), 5*time.Second)
}
