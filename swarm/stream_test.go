package swarm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// streamLeecher starts a leecher of f with no peers yet, its save path
// holding what prefill wrote.
func streamLeecher(t *testing.T, f *fixture, prefill func(dir string)) *Torrent {
	t.Helper()
	s := newTestSession(t)
	dir := t.TempDir()
	if prefill != nil {
		prefill(dir)
	}
	cfg := DefaultTorrentConfig(dir)
	cfg.MaxPeersPerIP = 100
	cfg.DisableTrackers = true
	tor, err := s.Add(f.m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tor
}

func slowSeeder(t *testing.T, f *fixture, limit int64) *Session {
	t.Helper()
	s, _ := startSeeder(t, f, func(c *SessionConfig) { c.UploadLimit = limit })
	return s
}

// Random ranges of a partly downloaded torrent, read while the rest
// arrives from a slow seeder, are exactly the file's bytes.
func TestStreamRandomRanges(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "media/a.mkv", Size: 1<<20 + 4321}, piecetest.FileSpec{Path: "media/b.srt", Size: 300<<10 + 7})
	tor := streamLeecher(t, f, func(dir string) {
		// The first half of a.mkv is already here.
		a := piecetest.Content("media/a.mkv", 1<<20+4321)
		os.MkdirAll(filepath.Join(dir, "media"), 0o755)
		if err := os.WriteFile(filepath.Join(dir, "media", "a.mkv"), a[:512<<10], 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if s := waitFor(t, tor, 5*time.Second, "checked", func(s *Snapshot) bool { return s.State == StateDownloading }); s.Have == 0 || s.Have >= s.NumPieces/2 {
		t.Fatalf("%d of %d pieces at start: want the prefilled part only", s.Have, s.NumPieces)
	}
	tor.AddPeers([]netip.AddrPort{slowSeeder(t, f, 1<<20).Addr()})
	rng := rand.New(rand.NewPCG(7, 8))
	partial := false
	for i := range 24 {
		fi := i % 2
		want := piecetest.Content([]string{"media/a.mkv", "media/b.srt"}[fi], f.m.Layout.Files[fi].Length)
		r, err := tor.NewReader(context.Background(), fi)
		if err != nil {
			t.Fatal(err)
		}
		off := rng.Int64N(int64(len(want)))
		n := min(1+rng.Int64N(100<<10), int64(len(want))-off)
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, n)
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("read %d bytes at %d of file %d: %v", n, off, fi, err)
		}
		if !bytes.Equal(got, want[off:off+n]) {
			t.Fatalf("bytes %d+%d of file %d differ", off, n, fi)
		}
		if s := tor.Snapshot(); s.Have < s.NumPieces {
			partial = true
		}
		r.Close()
	}
	if !partial {
		t.Fatal("the torrent was complete before the reads: they tested nothing")
	}
	// The end: EOF, and a read past it too.
	r, _ := tor.NewReader(context.Background(), 1)
	defer r.Close()
	r.Seek(-5, io.SeekEnd)
	if b, err := io.ReadAll(r); err != nil || len(b) != 5 {
		t.Fatalf("tail: %d bytes, %v", len(b), err)
	}
	r.Seek(10, io.SeekEnd)
	if n, err := r.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("read past the end: %d, %v", n, err)
	}
}

// A seek far ahead is served before the pieces in front of it: the
// reader's piece comes while most of the torrent is still missing.
func TestStreamSeekAhead(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "movie.mkv", Size: 2 << 20})
	tor := streamLeecher(t, f, nil)
	r, err := tor.NewReader(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	off := int64(2<<20) - 100<<10
	r.Seek(off, io.SeekStart)
	type result struct {
		b    []byte
		err  error
		have int
	}
	done := make(chan result, 1)
	go func() {
		b := make([]byte, 40<<10)
		_, err := io.ReadFull(r, b)
		done <- result{b, err, tor.Snapshot().Have}
	}()
	// Once the reader waits, a slow seeder (the whole file takes ~8 s)
	// arrives.
	deadline := time.Now().Add(5 * time.Second)
	for waiting := false; !waiting; {
		tor.do(func() { waiting = len(tor.loopState().picker.Windows()) > 0 })
		if time.Now().After(deadline) {
			t.Fatal("the reader never told the loop where it reads")
		}
	}
	tor.AddPeers([]netip.AddrPort{slowSeeder(t, f, 256<<10).Addr()})
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatal(res.err)
		}
		if !bytes.Equal(res.b, piecetest.Content("movie.mkv", 2<<20)[off:off+40<<10]) {
			t.Fatal("wrong bytes")
		}
		var have int
		tor.do(func() { have = tor.loopState().picker.HaveCount() })
		if n := f.m.Layout.NumPieces; have > n/2 {
			t.Fatalf("%d of %d pieces in before the seek target: it was not served first", have, n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the seek target never came")
	}
	// Closing drops the priority.
	r.Close()
	tor.do(func() {
		if w := tor.loopState().picker.Windows(); len(w) != 0 {
			t.Errorf("windows after close: %v", w)
		}
	})
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, ErrReaderClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

// A reader waiting for a piece nobody has gives up with its context.
func TestStreamReadCancelled(t *testing.T) {
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "nobody.bin", Size: 100 << 10})
	tor := streamLeecher(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := tor.NewReader(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	done := make(chan error, 1)
	go func() { _, err := r.Read(make([]byte, 10)); done <- err }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("read: %v, want the context's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled read kept waiting")
	}
	if _, err := tor.NewReader(ctx, 5); err == nil {
		t.Fatal("a reader for a file that does not exist")
	}
}

// The read-ahead window grows with the read rate, within bounds.
func TestReadAhead(t *testing.T) {
	if w := readAhead(0, 1<<20); w != readAheadMin {
		t.Fatalf("idle reader: %d", w)
	}
	if w := readAhead(1<<20, 1<<20); w != 20<<20 {
		t.Fatalf("1 MiB/s: %d", w)
	}
	if w := readAhead(1<<30, 1<<20); w != readAheadMax {
		t.Fatalf("fast reader: %d", w)
	}
	if w := readAhead(0, 16<<20); w != 32<<20 {
		t.Fatalf("big pieces: %d", w)
	}
}
