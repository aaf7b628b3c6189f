//go:build unix

package piece_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece"
)

// within fails the test when fn does not return in time: opening a FIFO
// blocks until a writer appears, and that hang is the bug. On a hang it
// opens the FIFO itself, so the stuck open returns and the test ends.
func within(t *testing.T, what, fifo string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		if f, err := os.OpenFile(fifo, os.O_RDWR, 0); err == nil {
			defer f.Close()
		}
		t.Fatalf("%s hangs on a FIFO", what)
		return nil
	}
}

func fifoLayout(t *testing.T) (dir string, l *piece.Layout) {
	t.Helper()
	dir = t.TempDir()
	l, err := piece.NewLayout(16, []piece.File{{Path: []string{"t", "ok"}, Length: 16}, {Path: []string{"t", "pipe"}, Length: 16}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "t"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "t", "ok"), make([]byte, 16), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, l
}

func TestFileStorageRefusesFIFOUpFront(t *testing.T) {
	dir, l := fifoLayout(t)
	pipe := filepath.Join(dir, "t", "pipe")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, writable := range []bool{false, true} {
		err := within(t, "OpenFileStorage", pipe, func() error {
			s, err := piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: dir, Writable: writable})
			if err == nil {
				s.Close()
			}
			return err
		})
		if !errors.Is(err, piece.ErrNotRegular) {
			t.Fatalf("writable=%v: error %v, want ErrNotRegular", writable, err)
		}
	}
}

// A FIFO planted after the storage opened is refused when the file is
// first used, and opening it never blocks.
func TestFileStorageRefusesFIFOPlantedLater(t *testing.T) {
	dir, l := fifoLayout(t)
	ro, err := piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	rw, err := piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: dir, Writable: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	pipe := filepath.Join(dir, "t", "pipe")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	err = within(t, "ReadAt", pipe, func() error { _, err := ro.ReadAt(buf, 16); return err })
	if !errors.Is(err, piece.ErrNotRegular) {
		t.Fatalf("read: %v, want ErrNotRegular", err)
	}
	err = within(t, "WriteAt", pipe, func() error { _, err := rw.WriteAt(buf, 16); return err })
	if !errors.Is(err, piece.ErrNotRegular) {
		t.Fatalf("write: %v, want ErrNotRegular", err)
	}
	// The regular file beside it still works.
	if _, err := ro.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
}
