//go:build linux

package piece_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/shoal-torrent/shoal/piece"
)

// openFDs counts the process's descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(ents)
}

// manyStorages makes n single-file torrents of 32 KiB in one directory.
func manyStorages(t *testing.T, n int, cache *piece.FileCache) ([]*piece.FileStorage, [][]byte) {
	t.Helper()
	dir := t.TempDir()
	var stores []*piece.FileStorage
	var want [][]byte
	for i := range n {
		name := fmt.Sprintf("f%03d", i)
		data := bytes.Repeat([]byte{byte(i)}, 32<<10)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := piece.NewLayout(16<<10, []piece.File{{Path: []string{name}, Length: int64(len(data))}})
		if err != nil {
			t.Fatal(err)
		}
		s, err := piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: dir, Writable: true, Cache: cache})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
		want = append(want, data)
	}
	return stores, want
}

// TestIdleFileStorageHoldsNoDescriptor is 10,000 seeding torrents in one
// session: each storage used to keep its directory open from the start,
// so the process ran out of descriptors before any peer came.
func TestIdleFileStorageHoldsNoDescriptor(t *testing.T) {
	before := openFDs(t)
	manyStorages(t, 100, nil)
	if got := openFDs(t) - before; got > 8 {
		t.Fatalf("100 idle storages hold %d descriptors", got)
	}
}

// TestSharedFileCacheBoundsDescriptors reads from many storages at once
// through one small cache: every read returns its own file's bytes and
// the data files open never exceed the bound plus those in use.
func TestSharedFileCacheBoundsDescriptors(t *testing.T) {
	const bound, n = 4, 60
	cache := piece.NewFileCache(bound)
	stores, want := manyStorages(t, n, cache)
	before := openFDs(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 16<<10)
			for round := range 3 {
				for k := range stores {
					i := (k + w*7 + round) % n
					if _, err := stores[i].ReadAt(buf, 16<<10); err != nil {
						errs <- err
						return
					}
					if !bytes.Equal(buf, want[i][16<<10:]) {
						errs <- fmt.Errorf("storage %d read another file's bytes", i)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := cache.Open(); got > bound {
		t.Fatalf("%d data files open, bound %d", got, bound)
	}
	if got := openFDs(t) - before; got > bound+8 {
		t.Fatalf("%d descriptors open after reading %d storages through a cache of %d", got, n, bound)
	}
	// Writes after eviction still land and read back.
	if _, err := stores[0].WriteAt([]byte("shoal"), 0); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := stores[0].ReadAt(got, 0); err != nil || string(got) != "shoal" {
		t.Fatalf("read back %q, %v", got, err)
	}
	for _, s := range stores {
		s.Close()
	}
	if got := cache.Open(); got != 0 {
		t.Fatalf("%d data files still open after every storage closed", got)
	}
}
