package piece_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/shoal-torrent/shoal/piece"
)

// TestFileStorageWritesWhileReadsHoldHandles is the start-up check and
// uploads reading a file while blocks of it arrive: every write must land,
// never fail because a read-only handle happens to be in use.
func TestFileStorageWritesWhileReadsHoldHandles(t *testing.T) {
	dir := t.TempDir()
	const size = 64 << 10
	files := []piece.File{{Path: []string{"t", "a"}, Length: size}, {Path: []string{"t", "b"}, Length: size}}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Join(dir, "t"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Join(f.Path...)), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := piece.NewLayout(16<<10, files)
	if err != nil {
		t.Fatal(err)
	}
	// One handle slot: the two files keep evicting each other, so reads
	// keep reopening them read-only under the writers' feet.
	s, err := piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: dir, Writable: true, MaxOpenFiles: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const writers, readers, rounds = 4, 4, 300
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			block := bytes.Repeat([]byte{byte(w + 1)}, 1024)
			for r := range rounds {
				off := int64(r%2*size + (r*writers+w)*1024%size)
				if _, err := s.WriteAt(block, off); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4096)
			for r := range rounds {
				if _, err := s.ReadAt(buf, int64(r%2)*size+int64(r*4096)%size); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
