package piecetest

import (
	"bytes"
	"sync"
	"testing"

	"github.com/shoal-torrent/shoal/piece"
)

// StorageFactory makes an empty, writable storage for a layout.
type StorageFactory func(t *testing.T, l *piece.Layout) piece.Storage

// conformanceLayout covers what trips storages up: a zero-length file, a pad
// file, files smaller than a block, and a short last piece.
func conformanceLayout(t *testing.T) *piece.Layout {
	l, err := piece.NewLayout(32<<10, []piece.File{
		{Path: []string{"t", "a"}, Length: 40 << 10},
		{Path: []string{"t", "empty"}, Length: 0},
		{Path: []string{"t", ".pad", "1"}, Length: 24 << 10, Pad: true},
		{Path: []string{"t", "b"}, Length: 100},
		{Path: []string{"t", "sub", "c"}, Length: 70<<10 + 7},
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestStorage is the conformance suite for piece.Storage implementations.
func TestStorage(t *testing.T, newStorage StorageFactory) {
	t.Run("RoundTripAcrossFiles", func(t *testing.T) {
		l := conformanceLayout(t)
		s := newStorage(t, l)
		defer s.Close()
		want := Content("conformance", l.Total)
		zeroPads(l, want)
		// Write in blocks, in reverse order, so files are created out of
		// order and writes straddle file boundaries.
		for i := l.NumPieces - 1; i >= 0; i-- {
			for b := l.NumBlocks(i) - 1; b >= 0; b-- {
				begin, n := l.BlockSpan(i, b)
				off := l.PieceOffset(i) + int64(begin)
				if _, err := s.WriteAt(want[off:off+int64(n)], off); err != nil {
					t.Fatalf("write piece %d block %d: %v", i, b, err)
				}
			}
		}
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, l.Total)
		if _, err := s.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatal("data read back differs from data written")
		}
		// An unaligned read across the pad file.
		part := make([]byte, 30<<10)
		if _, err := s.ReadAt(part, 30<<10); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(part, want[30<<10:60<<10]) {
			t.Fatal("unaligned read differs")
		}
	})
	t.Run("PadFilesReadAsZeros", func(t *testing.T) {
		l := conformanceLayout(t)
		s := newStorage(t, l)
		defer s.Close()
		junk := bytes.Repeat([]byte{0xAA}, int(l.Total))
		if _, err := s.WriteAt(junk, 0); err != nil {
			t.Fatal(err)
		}
		pad := l.Files[2]
		got := make([]byte, pad.Length)
		if _, err := s.ReadAt(got, pad.Offset); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, make([]byte, pad.Length)) {
			t.Fatal("pad file did not read as zeros")
		}
	})
	t.Run("OutOfRange", func(t *testing.T) {
		l := conformanceLayout(t)
		s := newStorage(t, l)
		defer s.Close()
		buf := make([]byte, 10)
		if _, err := s.WriteAt(buf, l.Total-5); err == nil {
			t.Error("write past the end succeeded")
		}
		if _, err := s.ReadAt(buf, -1); err == nil {
			t.Error("read at a negative offset succeeded")
		}
	})
	t.Run("ConcurrentDisjointWrites", func(t *testing.T) {
		l := conformanceLayout(t)
		s := newStorage(t, l)
		defer s.Close()
		want := Content("concurrent", l.Total)
		zeroPads(l, want)
		var wg sync.WaitGroup
		for i := 0; i < l.NumPieces; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				off, n := l.PieceOffset(i), l.PieceSize(i)
				if _, err := s.WriteAt(want[off:off+n], off); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got := make([]byte, l.Total)
		if _, err := s.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatal("concurrent writes lost data")
		}
	})
}

func zeroPads(l *piece.Layout, b []byte) {
	for _, f := range l.Files {
		if f.Pad {
			clear(b[f.Offset : f.Offset+f.Length])
		}
	}
}
