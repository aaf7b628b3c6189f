package piece_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// resumeFixture is a two-file download with all pieces verified and resume
// state saved, as a finished download leaves it.
type resumeFixture struct {
	dir, state string
	layout     *piece.Layout
	hashes     []byte
}

func newResumeFixture(t *testing.T) *resumeFixture {
	dir := t.TempDir()
	piecetest.WriteFiles(t, dir, []piecetest.FileSpec{{Path: "t/a", Size: 48 << 10}, {Path: "t/b", Size: 40 << 10}})
	l, err := piece.NewLayout(16<<10, []piece.File{{Path: []string{"t", "a"}, Length: 48 << 10}, {Path: []string{"t", "b"}, Length: 40 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	data := append(piecetest.Content("t/a", 48<<10), piecetest.Content("t/b", 40<<10)...)
	f := &resumeFixture{dir: dir, state: filepath.Join(t.TempDir(), "state", "x.resume"), layout: l, hashes: hashesOf(l, data)}
	s := f.open(t)
	defer s.Close()
	v, err := piece.Verify(context.Background(), s, l, f.hashes, piece.HashOptions{})
	if err != nil || !v.Have.Full() {
		t.Fatalf("fixture not complete: %v", err)
	}
	stats, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if err := piece.SaveResume(f.state, piece.NewResume("ih", l, v.Have, stats)); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *resumeFixture) open(t *testing.T) *piece.FileStorage {
	s, err := piece.OpenFileStorage(f.layout, piece.FileStorageConfig{Dir: f.dir})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// restart does what a restarted download does: load the state, compare file
// stats, hash only what changed. It returns the pieces trusted without
// hashing, the final have set and how many bytes were hashed.
func (f *resumeFixture) restart(t *testing.T) (trusted, have *piece.Bitfield, hashed int64) {
	s := f.open(t)
	defer s.Close()
	r, remembered, err := piece.LoadResume(f.state, "ih", f.layout)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	trusted, recheck := r.Check(f.layout, remembered, stats)
	var progress atomic.Int64
	v, err := piece.Verify(context.Background(), s, f.layout, f.hashes, piece.HashOptions{Only: recheck, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	have = trusted.Clone()
	for i := v.Have.NextSet(0); i >= 0; i = v.Have.NextSet(i + 1) {
		have.Set(i)
	}
	return trusted, have, progress.Load()
}

func TestResumeRestartDoesNotRehash(t *testing.T) {
	f := newResumeFixture(t)
	trusted, have, hashed := f.restart(t)
	if !trusted.Full() || !have.Full() || hashed != 0 {
		t.Fatalf("trusted %d/%d, hashed %d bytes", trusted.Count(), trusted.Len(), hashed)
	}
}

func TestResumeCatchesModifiedFile(t *testing.T) {
	f := newResumeFixture(t)
	// Same size, different content and mtime: pieces of t/b (bytes 48K..88K
	// are pieces 3, 4, 5) must be rehashed, and the damaged one dropped.
	p := filepath.Join(f.dir, "t", "b")
	data, _ := os.ReadFile(p)
	data[0] ^= 0xff
	os.WriteFile(p, data, 0o644)
	os.Chtimes(p, time.Now(), time.Now().Add(time.Hour))
	trusted, have, hashed := f.restart(t)
	if bits(trusted) != "[0 1 2]" || hashed != 40<<10 {
		t.Fatalf("trusted %s, hashed %d", bits(trusted), hashed)
	}
	if bits(have) != "[0 1 2 4 5]" {
		t.Fatalf("have %s", bits(have))
	}
}

func TestResumeCatchesTruncatedFile(t *testing.T) {
	f := newResumeFixture(t)
	os.Truncate(filepath.Join(f.dir, "t", "a"), 20<<10)
	_, have, _ := f.restart(t)
	if bits(have) != "[0 3 4 5]" {
		t.Fatalf("have %s", bits(have))
	}
}

func TestResumeRefusesForeignOrBrokenState(t *testing.T) {
	f := newResumeFixture(t)
	if _, _, err := piece.LoadResume(f.state, "other", f.layout); !errors.Is(err, piece.ErrNoResume) {
		t.Errorf("foreign infohash: %v", err)
	}
	os.WriteFile(f.state, []byte(`{"version":1,"info_hash":"ih","num_pi`), 0o644)
	if _, _, err := piece.LoadResume(f.state, "ih", f.layout); !errors.Is(err, piece.ErrNoResume) {
		t.Errorf("torn file: %v", err)
	}
	if _, _, err := piece.LoadResume(filepath.Join(t.TempDir(), "none"), "ih", f.layout); !errors.Is(err, piece.ErrNoResume) {
		t.Errorf("missing file: %v", err)
	}
}

func TestSaveResumeLeavesNoTempFiles(t *testing.T) {
	f := newResumeFixture(t)
	for range 3 {
		if err := piece.SaveResume(f.state, piece.NewResume("ih", f.layout, piece.NewBitfield(f.layout.NumPieces), make([]piece.FileStat, 2))); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(f.state))
	if len(entries) != 1 {
		t.Fatalf("state directory holds %d entries", len(entries))
	}
}

// FuzzLoadResume reads arbitrary resume files: each is used or refused
// with ErrNoResume (the caller then re-verifies), never a panic, and a
// file that is used yields a bitfield of the torrent's size.
func FuzzLoadResume(f *testing.F) {
	l, err := piece.NewLayout(32<<10, []piece.File{{Path: []string{"a"}, Length: 100 << 10}, {Path: []string{"b"}, Length: 1}})
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	good := filepath.Join(dir, "good")
	if err := piece.SaveResume(good, piece.NewResume("ih", l, piece.FullBitfield(l.NumPieces), make([]piece.FileStat, 2))); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	f.Add(b)
	f.Add([]byte(`{"version":1,"info_hash":"ih","piece_length":32768,"num_pieces":4,"files":[{},{}],"have":"/w=="}`))
	f.Add([]byte(`{"files":[null]}`))
	f.Add([]byte(`{"version":1,"info_hash":"ih","piece_length":32768,"num_pieces":4,"files":[{},{}],"have":"/w==","partial":[1,-1,7]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "r")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r, have, err := piece.LoadResume(p, "ih", l)
		if err != nil {
			if !errors.Is(err, piece.ErrNoResume) {
				t.Fatalf("error not wrapping ErrNoResume: %v", err)
			}
			return
		}
		if have.Len() != l.NumPieces || len(r.Files) != len(l.Files) {
			t.Fatalf("used a resume file for %d pieces, %d files", have.Len(), len(r.Files))
		}
		r.Check(l, have, make([]piece.FileStat, len(l.Files)))
	})
}

func TestResumeHashesFilesThatAppearedSince(t *testing.T) {
	f := newResumeFixture(t)
	// Resume state from before the data was there (an interrupted get
	// that had nothing), then the finished files are copied in.
	empty := make([]piece.FileStat, len(f.layout.Files))
	if err := piece.SaveResume(f.state, piece.NewResume("ih", f.layout, piece.NewBitfield(f.layout.NumPieces), empty)); err != nil {
		t.Fatal(err)
	}
	_, have, _ := f.restart(t)
	if !have.Full() {
		t.Fatalf("have %d/%d: pieces of files that changed since were never hashed", have.Count(), have.Len())
	}
}

// savePartial saves state as a running download does mid-way: only pieces
// 0 and 1 verified, both files still being written.
func (f *resumeFixture) savePartial(t *testing.T) {
	s := f.open(t)
	defer s.Close()
	have := piece.NewBitfield(f.layout.NumPieces)
	have.Set(0)
	have.Set(1)
	stats, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	r := piece.NewResume("ih", f.layout, have, stats)
	r.Partial = piece.PartialFiles(f.layout, have)
	if bits := fmt.Sprint(r.Partial); bits != "[0 1]" {
		t.Fatalf("partial files %s", bits)
	}
	if err := piece.SaveResume(f.state, r); err != nil {
		t.Fatal(err)
	}
}

func TestResumeTrustsAPartialFileTheDownloadWroteOn(t *testing.T) {
	f := newResumeFixture(t)
	f.savePartial(t)
	// After the save the download wrote piece 2 and was killed.
	p := filepath.Join(f.dir, "t", "a")
	os.Chtimes(p, time.Now(), time.Now().Add(time.Hour))
	trusted, _, hashed := f.restart(t)
	if bits(trusted) != "[0 1]" || hashed != 0 {
		t.Fatalf("trusted %s, hashed %d bytes", bits(trusted), hashed)
	}
}

func TestResumeDistrustsAPartialFileChangedOtherwise(t *testing.T) {
	for name, change := range map[string]func(p string){
		"mtime went back": func(p string) { os.Chtimes(p, time.Now(), time.Now().Add(-time.Hour)) },
		"size changed":    func(p string) { os.Truncate(p, 20<<10) },
		"deleted":         func(p string) { os.Remove(p) },
	} {
		f := newResumeFixture(t)
		f.savePartial(t)
		change(filepath.Join(f.dir, "t", "a"))
		trusted, _, _ := f.restart(t)
		if trusted.Has(0) || trusted.Has(1) {
			t.Fatalf("%s: trusted %s", name, bits(trusted))
		}
	}
}

func TestResumeRefusesAPartialFileOutOfRange(t *testing.T) {
	f := newResumeFixture(t)
	r := piece.NewResume("ih", f.layout, piece.NewBitfield(f.layout.NumPieces), make([]piece.FileStat, 2))
	r.Partial = []int{2}
	if err := piece.SaveResume(f.state, r); err != nil {
		t.Fatal(err)
	}
	if _, _, err := piece.LoadResume(f.state, "ih", f.layout); !errors.Is(err, piece.ErrNoResume) {
		t.Fatalf("err %v", err)
	}
}

// TestSaveResumeSkipsUnchangedState: a seed restarting with valid resume
// state saved the same bytes again, with three fsyncs, for each of
// 10,000 torrents. An unchanged state leaves the file alone; a changed
// one is still written.
func TestSaveResumeSkipsUnchangedState(t *testing.T) {
	l, err := piece.NewLayout(16, []piece.File{{Path: []string{"a"}, Length: 40}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.resume")
	have := piece.NewBitfield(l.NumPieces)
	have.Set(0)
	r := piece.NewResume("00", l, have, []piece.FileStat{{Size: 40, Exists: true}})
	if err := piece.SaveResume(path, r); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := piece.SaveResume(path, r); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Fatal("unchanged resume state was written again")
	}
	have.Set(1)
	r = piece.NewResume("00", l, have, []piece.FileStat{{Size: 40, Exists: true}})
	if err := piece.SaveResume(path, r); err != nil {
		t.Fatal(err)
	}
	_, got, err := piece.LoadResume(path, "00", l)
	if err != nil || !got.Has(1) {
		t.Fatalf("changed state not saved: %v", err)
	}
}
