package piece

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestFileStorageWriteUpgradesBusyReadHandle pins the race the stress test
// finds only sometimes: a read holds the file's read-only handle while a
// block for that file arrives. The write must land on a read-write handle;
// the read finishes on its own.
func TestFileStorageWriteUpgradesBusyReadHandle(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), make([]byte, 32), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := NewLayout(16, []File{{Path: []string{"a"}, Length: 32}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenFileStorage(l, FileStorageConfig{Dir: dir, Writable: true})
	if err != nil {
		t.Fatal(err)
	}
	reading, release := make(chan struct{}), make(chan struct{})
	readErr := make(chan error, 1)
	var ro *os.File
	go func() {
		readErr <- s.fileIO(0, false, func(f *os.File) error {
			ro = f
			close(reading)
			<-release
			_, err := f.ReadAt(make([]byte, 16), 0)
			return err
		})
	}()
	<-reading
	if _, err := s.WriteAt([]byte("0123456789abcdef"), 16); err != nil {
		t.Fatalf("write while a read holds the handle: %v", err)
	}
	close(release)
	if err := <-readErr; err != nil {
		t.Fatalf("the read was disturbed: %v", err)
	}
	if _, err := ro.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("the replaced read-only handle was not closed after its read: %v", err)
	}
	buf := make([]byte, 16)
	if _, err := s.ReadAt(buf, 16); err != nil || string(buf) != "0123456789abcdef" {
		t.Fatalf("read back %q, %v", buf, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.open) != 0 {
		t.Fatalf("%d handles left open after Close", len(s.open))
	}
}
