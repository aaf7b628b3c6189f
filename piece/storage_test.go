package piece_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

func TestMemStorageConformance(t *testing.T) {
	piecetest.TestStorage(t, func(t *testing.T, l *piece.Layout) piece.Storage { return piece.NewMemStorage(l) })
}

func TestFileStorageConformance(t *testing.T) {
	piecetest.TestStorage(t, func(t *testing.T, l *piece.Layout) piece.Storage {
		s, err := piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: t.TempDir(), Writable: true, MaxOpenFiles: 2})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestFileStorageRefusesHostileTorrentBeforeWriting(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "dl")
	l, err := piece.NewLayout(16, []piece.File{
		{Path: []string{"ok"}, Length: 8},
		{Path: []string{"..", "escaped"}, Length: 8},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: dir, Writable: true})
	if !errors.Is(err, piece.ErrUnsafePath) {
		t.Fatalf("error %v, want ErrUnsafePath", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("the download directory was created for a refused torrent")
	}
}

func TestFileStorageDoesNotFollowSymlinksOut(t *testing.T) {
	parent := t.TempDir()
	outside := filepath.Join(parent, "outside")
	dir := filepath.Join(parent, "dl")
	for _, d := range []string{outside, dir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Someone planted a link inside the save directory pointing out of it.
	if err := os.Symlink(outside, filepath.Join(dir, "t")); err != nil {
		t.Fatal(err)
	}
	l, err := piece.NewLayout(16, []piece.File{{Path: []string{"t", "victim"}, Length: 8}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: dir, Writable: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.WriteAt([]byte("pwned!!!"), 0); err == nil {
		t.Fatal("write through a symlink out of the directory succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "victim")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a file was created outside the download directory")
	}
}

func TestFileStorageMissingAndShortFiles(t *testing.T) {
	dir := t.TempDir()
	l, err := piece.NewLayout(16, []piece.File{{Path: []string{"a"}, Length: 16}, {Path: []string{"b"}, Length: 16}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b"), []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	buf := make([]byte, 16)
	if _, err := s.ReadAt(buf, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := s.ReadAt(buf, 16); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short file: %v", err)
	}
	if _, err := s.WriteAt(buf, 0); err == nil {
		t.Error("read-only storage accepted a write")
	}
}

func TestFileStorageCreateFiles(t *testing.T) {
	dir := t.TempDir()
	l, err := piece.NewLayout(16, []piece.File{
		{Path: []string{"t", "a"}, Length: 20}, {Path: []string{"t", "empty"}}, {Path: []string{"t", ".pad", "12"}, Length: 12, Pad: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: dir, Writable: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFiles(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]int64{"t/a": 20, "t/empty": 0} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Size() != size {
			t.Errorf("%s: %v, size want %d", name, err, size)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "t", ".pad")); err == nil {
		t.Error("a pad file was written to disk")
	}
}
